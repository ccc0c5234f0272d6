import { type Static, Type } from '@sinclair/typebox';

// The JSON schema of every request body and query: Fastify validates each
// request against its route's schema before the handler runs, and refuses
// unknown fields (a misspelt "temprature" must not silently fall back to the
// default). Lengths here are the limits the server promises to enforce; the
// token limits, which need the tokenizer, are checked in the handlers.

/** Longest text of one message, feedback text or corrected reply: the learner's experience limit. */
export const MAX_TEXT = 8000;
/** Most messages in one request (the learner's limit on prompt turns). */
export const MAX_MESSAGES = 64;

const text = (max = MAX_TEXT) => Type.String({ maxLength: max });
/** One enum, so that a bad value gives one error naming the allowed ones (a union of literals gives one per literal). */
const oneOf = <T extends string>(values: readonly T[]) => Type.Unsafe<T>({ type: 'string', enum: [...values] });

export const ChatMessage = Type.Object({
  role: oneOf(['system', 'user', 'assistant'] as const),
  content: text(),
  name: Type.Optional(Type.String({ maxLength: 64 })),
}, { additionalProperties: false });

export const ChatCompletionRequest = (maxTokensLimit: number) => Type.Object({
  model: Type.String({ minLength: 1, maxLength: 200 }),
  messages: Type.Array(ChatMessage, { minItems: 1, maxItems: MAX_MESSAGES }),
  stream: Type.Optional(Type.Boolean()),
  stream_options: Type.Optional(Type.Object({ include_usage: Type.Optional(Type.Boolean()) }, { additionalProperties: false })),
  max_tokens: Type.Optional(Type.Integer({ minimum: 1, maximum: maxTokensLimit })),
  max_completion_tokens: Type.Optional(Type.Integer({ minimum: 1, maximum: maxTokensLimit })),
  temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
  top_p: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
  seed: Type.Optional(Type.Integer({ minimum: -(2 ** 31), maximum: 2 ** 31 - 1 })),
  n: Type.Optional(Type.Integer({ minimum: 1, maximum: 1 })),
  stop: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 4 })])),
  user: Type.Optional(Type.String({ maxLength: 256 })),
}, { additionalProperties: false });
export type ChatCompletionBody = Static<ReturnType<typeof ChatCompletionRequest>>;

export const REACTIONS = ['up', 'down', 'correction', 'preference'] as const;
export const FeedbackRequest = Type.Object({
  completion_id: Type.String({ minLength: 1, maxLength: 100 }),
  /** up / down: thumbs; correction: what was wrong (text) and optionally the reply wanted; preference: a standing preference (text). */
  reaction: oneOf(REACTIONS),
  text: Type.Optional(text()),
  corrected_reply: Type.Optional(text()),
}, { additionalProperties: false });
export type FeedbackBody = Static<typeof FeedbackRequest>;

export const CompletionParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });

// Query strings are text: numbers in them are checked as digits and converted by the handler (type coercion is
// off for every part of a request, so a body's "stream": "true" is refused rather than read as true).
const count = Type.String({ pattern: '^[0-9]{1,9}$' });
export const AdapterQuery = Type.Object({ jobs: Type.Optional(count) }, { additionalProperties: false });

export const RollbackRequest = Type.Object({ version: Type.Integer({ minimum: 1 }) }, { additionalProperties: false });
export const ResetRequest = Type.Object({}, { additionalProperties: false });

export const EXPORT_FORMATS = ['peft', 'gguf'] as const;
export const ExportQuery = Type.Object({
  format: oneOf(EXPORT_FORMATS),
  version: Type.Optional(count),
}, { additionalProperties: false });

/** Routes that take no query parameters still refuse unknown ones (a typo is not silently ignored). */
export const NoQuery = Type.Object({}, { additionalProperties: false });
