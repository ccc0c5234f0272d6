import { randomInt } from 'node:crypto';
import { Random } from '../tensor/index.js';
import { StreamingDecoder } from '../io/streamingDecoder.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import { padBatch } from './batch.js';
import type { CausalLm, LinearHook } from './causalLm.js';
import type { ResidualHooks } from './hooks.js';
import { withInferenceTape } from './inference.js';
import { KvCache } from './kvCache.js';
import { type SamplingOptions, checkSamplingOptions, sampleToken } from './sampling.js';
import { StopStringMatcher } from './stopStrings.js';

// Autoregressive generation with a KV cache, for one prompt or a ragged batch of
// them. The prompt is run once (prefill), then each step feeds only the newest
// token of every row. Rows finish on their own (end-of-sequence token, stop
// string or token limit); a finished row keeps feeding a pad token that nobody reads.

export interface GenerateOptions extends SamplingOptions {
  /** Upper bound on new tokens per row. */
  maxTokens: number;
  /** Fixes sampling; the seed used is reported back, so any run can be repeated. */
  seed?: number;
  /** Generation ends before the first occurrence of any of these strings. */
  stop?: string[];
  /** Token ids that end a row (default: the model's and tokenizer's end-of-sequence ids). */
  stopTokenIds?: number[];
  /** Streaming: called with each new piece of text of row `row`. */
  onText?: (delta: string, row: number) => void;
  hooks?: ResidualHooks;
  linearHook?: LinearHook;
}

export type FinishReason = 'stop' | 'eos' | 'length';

export interface GenerationResult {
  text: string;
  tokenIds: number[];
  finishReason: FinishReason;
  promptTokens: number;
}

export interface GenerationRun {
  results: GenerationResult[];
  seed: number;
}

export function checkGenerateOptions(options: GenerateOptions): void {
  checkSamplingOptions(options);
  if (!Number.isInteger(options.maxTokens) || options.maxTokens < 1) throw new RangeError(`maxTokens must be a positive integer, got ${options.maxTokens}`);
  if (options.seed !== undefined && !Number.isSafeInteger(options.seed)) throw new RangeError(`seed must be an integer, got ${options.seed}`);
}

/** Generates from token-id prompts. With a tokenizer, text (and stop strings, and onText) are available. */
export async function generateFromIds(
  model: CausalLm, prompts: readonly (readonly number[])[], options: GenerateOptions, tokenizer: TextTokenizer | null = null,
): Promise<GenerationRun> {
  checkGenerateOptions(options);
  if ((options.stop?.length ?? 0) > 0 && tokenizer === null) throw new RangeError('stop strings need a tokenizer to turn tokens into text');
  const { spec } = model;
  const seed = options.seed ?? randomInt(2 ** 31);
  const rng = new Random(seed);
  const padId = spec.padTokenId ?? tokenizer?.padTokenId ?? spec.eosTokenIds[0] ?? 0;
  const padded = padBatch(prompts, padId);
  const { batch, seq } = padded;
  // The cache is sized for the whole run up front, so the context length bounds it:
  // a huge --max-tokens is cut to what fits rather than allocating gigabytes.
  const maxTokens = Math.min(options.maxTokens, spec.maxPositions - seq);
  if (maxTokens < 1) throw new RangeError(`the prompt of ${seq} tokens leaves no room in the model's context of ${spec.maxPositions} positions`);
  const stopIds = new Set(options.stopTokenIds ?? [...spec.eosTokenIds, ...(tokenizer?.eosTokenId != null ? [tokenizer.eosTokenId] : [])]);

  const cache = new KvCache(spec, batch, seq + maxTokens);
  cache.keyStart.set(padded.keyStart);
  const rows = Array.from({ length: batch }, (_, b) => ({
    tokenIds: [] as number[],
    text: '',
    finishReason: null as FinishReason | null,
    decoder: tokenizer ? new StreamingDecoder(tokenizer, { skipSpecialTokens: true }) : null,
    stops: new StopStringMatcher(options.stop ?? []),
    promptTokens: padded.lengths[b],
  }));
  const emit = (b: number, delta: string) => {
    if (delta === '') return;
    rows[b].text += delta;
    options.onText?.(delta, b);
  };

  const forwardStep = (ids: Int32Array, steps: number): Float32Array[] => withInferenceTape((tape) => {
    const { logits } = model.forward(tape, ids, batch, steps, { cache, logits: 'last', hooks: options.hooks, linearHook: options.linearHook });
    const vocab = spec.vocabSize;
    return Array.from({ length: batch }, (_, b) => Float32Array.from(logits!.data.subarray(b * vocab, (b + 1) * vocab)));
  });

  let logits = forwardStep(padded.ids, seq);
  for (let step = 0; step < maxTokens; step++) {
    const next = new Int32Array(batch).fill(padId);
    for (let b = 0; b < batch; b++) {
      const row = rows[b];
      if (row.finishReason !== null) continue;
      const id = sampleToken(logits[b], options, rng);
      next[b] = id;
      if (stopIds.has(id)) {
        row.finishReason = 'eos';
        if (row.decoder) emit(b, row.stops.push(row.decoder.flush()).emit + row.stops.flush());
        continue;
      }
      row.tokenIds.push(id);
      if (row.decoder) {
        const { emit: text, stopped } = row.stops.push(row.decoder.push(id));
        emit(b, text);
        if (stopped) row.finishReason = 'stop';
      }
    }
    if (rows.every((r) => r.finishReason !== null) || step === maxTokens - 1) break;
    logits = forwardStep(next, 1);
    // Let streaming consumers (sockets, the terminal) run between tokens.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  rows.forEach((row, b) => {
    if (row.finishReason !== null) return;
    row.finishReason = 'length';
    if (row.decoder) {
      const { emit: text, stopped } = row.stops.push(row.decoder.flush());
      emit(b, text + (stopped ? '' : row.stops.flush()));
      if (stopped) row.finishReason = 'stop';
    }
  });
  return {
    seed,
    results: rows.map((r) => ({ text: r.text, tokenIds: r.tokenIds, finishReason: r.finishReason!, promptTokens: r.promptTokens })),
  };
}

/** Text in, text out. Prompts are encoded with the tokenizer's special tokens (BOS where the model expects it). */
export async function generateText(
  model: CausalLm, tokenizer: TextTokenizer, prompts: string | readonly string[], options: GenerateOptions,
): Promise<GenerationRun> {
  const list = typeof prompts === 'string' ? [prompts] : prompts;
  const ids = list.map((p, i) => {
    const encoded = tokenizer.encode(p, { addSpecialTokens: true });
    if (encoded.length === 0) throw new RangeError(`prompt ${i} encodes to no tokens; give at least one character (or a model whose tokenizer adds BOS)`);
    return encoded;
  });
  return generateFromIds(model, ids, options, tokenizer);
}
