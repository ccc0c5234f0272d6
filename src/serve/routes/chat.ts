import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { type GenerationRun, generateFromIds } from '../../model/generate.js';
import type { ChatTurn } from '../../world/types.js';
import { ApiError, badRequest, notFound } from '../apiError.js';
import { modelTurns, ownCompletion, storeCompletion } from '../completionStore.js';
import type { ServeContext } from '../context.js';
import { type ChatCompletionBody, ChatCompletionRequest, CompletionParams, NoQuery } from '../schemas.js';

// POST /v1/chat/completions, OpenAI-compatible, streamed (server-sent events,
// "chat.completion.chunk" objects, then "data: [DONE]") or not
// ("chat.completion"). The reply comes from the base model with the caller's
// adapter, current version, and no context in the prompt: what the user taught
// is in the adapter. Every check (model, last turn, token budget) runs before
// anything is written or generated. The completion is stored when the reply is
// complete (a stream cut by the client stores nothing), and its id is what
// feedback refers to.
//
// GET /v1/chat/completions/:id: the caller's stored completion, its feedback
// and its learning jobs (another user's id is not found).

const finishReason = (reason: string) => (reason === 'length' ? 'length' : 'stop');

class ClientGone extends Error {}

export function registerChatRoutes(app: FastifyInstance, ctx: ServeContext): void {
  const bodySchema = ChatCompletionRequest(ctx.limits.maxTokensLimit);

  app.post<{ Body: ChatCompletionBody }>('/v1/chat/completions', { schema: { body: bodySchema, querystring: NoQuery } }, async (request, reply) => {
    const body = request.body;
    const { userId, userName } = request.caller;
    if (body.model !== ctx.modelId) throw new ApiError(404, 'invalid_request_error', `The model "${body.model.slice(0, 100)}" does not exist; this server serves "${ctx.modelId}" (GET /v1/models)`, 'model', 'model_not_found');
    const last = body.messages[body.messages.length - 1];
    if (last.role !== 'user') throw badRequest(`the last message must be the user's (role "user"), the one the reply answers; got role "${last.role}"`, `messages.${body.messages.length - 1}.role`);
    const messages: ChatTurn[] = body.messages.map((m) => ({ role: m.role, content: m.content }));
    const turns = modelTurns(messages);
    const empty = turns.findIndex((t) => t.content.trim() === '');
    if (empty >= 0) throw badRequest(`messages[${empty}].content is empty (after removing control characters)`, `messages.${empty}.content`);
    const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? ctx.limits.defaultMaxTokens;
    const prompt = ctx.encoding.prompt(turns);
    const context = ctx.loaded.model.spec.maxPositions;
    if (prompt.length + maxTokens > context) {
      throw badRequest(
        `this model's context is ${context} tokens; the messages take ${prompt.length} and max_tokens asks for ${maxTokens} more (${prompt.length + maxTokens}); shorten the messages or lower max_tokens`,
        'messages', 'context_length_exceeded',
      );
    }
    const adapter = ctx.registry.current(userId, userName);
    const id = `chatcmpl-${randomBytes(12).toString('base64url')}`;
    const created = Math.floor(Date.now() / 1000);
    const options = {
      maxTokens, temperature: body.temperature ?? ctx.limits.defaultTemperature, ...(body.top_p === undefined ? {} : { topP: body.top_p }),
      ...(body.seed === undefined ? {} : { seed: body.seed }), ...(body.stop === undefined ? {} : { stop: typeof body.stop === 'string' ? [body.stop] : body.stop }),
      stopTokenIds: [...ctx.encoding.stopTokenIds], ...adapter.adapters.forwardOptions(),
    };
    const store = (run: GenerationRun) => {
      const r = run.results[0];
      const job = storeCompletion(ctx.db, userName, {
        id, userId, model: ctx.modelId, adapterVersion: adapter.version, messages, reply: r.text, finishReason: finishReason(r.finishReason),
        promptTokens: prompt.length, completionTokens: r.tokenIds.length,
      });
      if (job !== null) ctx.learner?.wake();
      return { text: r.text, finish: finishReason(r.finishReason), usage: { prompt_tokens: prompt.length, completion_tokens: r.tokenIds.length, total_tokens: prompt.length + r.tokenIds.length } };
    };
    const extra = { imprint: { adapter_version: adapter.version } };

    if (body.stream !== true) {
      const run = await generateFromIds(ctx.loaded.model, [prompt], options, ctx.tokenizer);
      const done = store(run);
      return {
        id, object: 'chat.completion', created, model: ctx.modelId, system_fingerprint: `imprint-adapter-v${adapter.version}`,
        choices: [{ index: 0, message: { role: 'assistant', content: done.text }, finish_reason: done.finish, logprobs: null }],
        usage: done.usage, ...extra,
      };
    }
    return streamCompletion(reply, async (send) => {
      const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
        id, object: 'chat.completion.chunk', created, model: ctx.modelId, system_fingerprint: `imprint-adapter-v${adapter.version}`,
        choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
      });
      send(chunk({ role: 'assistant', content: '' }, null));
      const run = await generateFromIds(ctx.loaded.model, [prompt], { ...options, onText: (delta) => send(chunk({ content: delta }, null)) }, ctx.tokenizer);
      const done = store(run);
      send({ ...chunk({}, done.finish), ...extra });
      if (body.stream_options?.include_usage === true) send({ id, object: 'chat.completion.chunk', created, model: ctx.modelId, choices: [], usage: done.usage });
    });
  });

  app.get<{ Params: { id: string } }>('/v1/chat/completions/:id', { schema: { params: CompletionParams, querystring: NoQuery } }, async (request) => {
    const { userId } = request.caller;
    const c = ownCompletion(ctx.db, userId, request.params.id);
    if (c === null) throw notFound(`no completion "${request.params.id.slice(0, 100)}" for this API key`, 'id');
    const feedback = ctx.db.prepare('SELECT id, created_at, reaction, text, corrected_reply FROM feedback WHERE completion_id = ? AND user_id = ? ORDER BY created_at').all(c.id, userId);
    const jobs = ctx.db.prepare('SELECT id, state, feedback_id, result_json FROM learn_jobs WHERE completion_id = ? AND user_id = ? ORDER BY id').all(c.id, userId) as { id: number; state: string; feedback_id: string | null; result_json: string | null }[];
    return {
      id: c.id, object: 'chat.completion', created: Math.floor(Date.parse(c.created) / 1000), model: c.model,
      request: { messages: c.messages },
      choices: [{ index: 0, message: { role: 'assistant', content: c.reply }, finish_reason: c.finishReason }],
      usage: { prompt_tokens: c.promptTokens, completion_tokens: c.completionTokens, total_tokens: c.promptTokens + c.completionTokens },
      imprint: {
        adapter_version: c.adapterVersion, feedback,
        jobs: jobs.map((j) => ({ id: j.id, state: j.state, feedback_id: j.feedback_id, result: j.result_json === null ? null : JSON.parse(j.result_json) })),
      },
    };
  });
}

/** Server-sent events: `data: JSON` per chunk, then `data: [DONE]`. A client that leaves stops the generation. */
async function streamCompletion(reply: FastifyReply, produce: (send: (value: unknown) => void) => Promise<void>): Promise<void> {
  reply.hijack();
  const raw = reply.raw;
  let gone = false;
  raw.on('close', () => { if (!raw.writableFinished) gone = true; });
  raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  const send = (value: unknown) => {
    if (gone) throw new ClientGone();
    raw.write(`data: ${JSON.stringify(value)}\n\n`);
  };
  try {
    await produce(send);
    raw.end('data: [DONE]\n\n');
  } catch (error) {
    if (error instanceof ClientGone) return;
    // Headers are sent: the error travels as an event, in the shape of an error response.
    if (!gone) raw.end(`data: ${JSON.stringify({ error: { message: (error as Error).message, type: 'server_error', param: null, code: null } })}\n\n`);
  }
}
