import type { CausalLm, ForwardOptions } from '../model/causalLm.js';
import { withInferenceTape } from '../model/inference.js';
import { KvCache } from '../model/kvCache.js';
import { NonFiniteError, type Random, getBackend } from '../tensor/index.js';

// The student's own reply, sampled for on-policy distillation. Not
// model/generate.ts: a learner step needs the stop token itself (stopping is a
// decision the student makes, and the teacher must score it), one row, no text
// streaming, and speed: plain sampling draws from the full softmax in one pass
// instead of sorting the vocabulary, and single-token decode steps run on one
// thread by default (on two shared cores the native backend spends more time
// handing a 1-token matmul to a second thread than computing it).

export interface SampleReplyOptions {
  /** At most this many new tokens (cut to what the model's context leaves). */
  maxTokens: number;
  /** 1 = the model's own distribution; 0 = greedy. */
  temperature: number;
  rng: Random;
  /** A sampled id in this list ends the reply and is kept as its last token. */
  stopTokenIds: readonly number[];
  forward?: Pick<ForwardOptions, 'hooks' | 'linearHook'>;
  /** Native backend threads while decoding (default 1; null keeps the backend's setting). */
  decodeThreads?: number | null;
}

export interface SampledReply {
  tokens: number[];
  /** True when the last token is a stop token. */
  stopped: boolean;
}

type ThreadedKernels = { threads: number; setThreads?: (n: number) => void };

export function sampleReply(model: CausalLm, prompt: readonly number[], options: SampleReplyOptions): SampledReply {
  const { spec } = model;
  if (prompt.length === 0) throw new RangeError('sampleReply: the prompt is empty');
  if (!(options.temperature >= 0) || !Number.isFinite(options.temperature)) throw new RangeError(`sampleReply: temperature must be a finite number >= 0, got ${options.temperature}`);
  const maxTokens = Math.min(options.maxTokens, spec.maxPositions - prompt.length);
  if (maxTokens < 1) throw new RangeError(`sampleReply: a prompt of ${prompt.length} tokens leaves no room in the model's context of ${spec.maxPositions}`);
  const stop = new Set(options.stopTokenIds);
  const kernels = getBackend().kernels as unknown as ThreadedKernels;
  const wanted = options.decodeThreads === undefined ? 1 : options.decodeThreads;
  const previous = kernels.threads;
  const switchThreads = wanted !== null && kernels.setThreads !== undefined && wanted !== previous;
  if (switchThreads) kernels.setThreads!(wanted);
  try {
    const cache = new KvCache(spec, 1, prompt.length + maxTokens);
    const forwardOptions = { ...options.forward, cache, logits: 'last' as const };
    const step = (ids: Int32Array): number => withInferenceTape((tape) => {
      const { logits } = model.forward(tape, ids, 1, ids.length, forwardOptions);
      return drawToken(logits!.data, options.temperature, options.rng);
    });
    const tokens: number[] = [];
    let next = step(Int32Array.from(prompt));
    for (;;) {
      tokens.push(next);
      if (stop.has(next)) return { tokens, stopped: true };
      if (tokens.length >= maxTokens) return { tokens, stopped: false };
      next = step(Int32Array.of(next));
    }
  } finally {
    if (switchThreads) kernels.setThreads!(previous);
  }
}

/** One draw from softmax(logits / temperature), or the argmax at temperature 0. Non-finite logits throw. */
export function drawToken(logits: ArrayLike<number>, temperature: number, rng: Random): number {
  let max = -Infinity;
  let best = 0;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i];
    if (!Number.isFinite(v)) throw new NonFiniteError('sampleReply', 'next-token logits', [logits.length], i, v);
    if (v > max) {
      max = v;
      best = i;
    }
  }
  if (temperature === 0) return best;
  let total = 0;
  for (let i = 0; i < logits.length; i++) total += Math.exp((logits[i] - max) / temperature);
  let r = rng.uniform() * total;
  for (let i = 0; i < logits.length; i++) {
    r -= Math.exp((logits[i] - max) / temperature);
    if (r < 0) return i;
  }
  return best;
}
