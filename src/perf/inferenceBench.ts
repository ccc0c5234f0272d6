import type { CausalLm } from '../model/causalLm.js';
import { withInferenceTape } from '../model/inference.js';
import { KvCache } from '../model/kvCache.js';
import { median, nowMs } from './stats.js';

// Inference speed: prefill (one forward over a long prompt, filling the KV cache)
// and decode (batch 1, one token per forward on the cache, greedy). Medians over
// repeats, because these machines are shared and noisy.

export interface InferenceBenchOptions {
  promptTokens: number;
  decodeTokens: number;
  repeats: number;
}

export interface InferenceBenchResult {
  prefill_tokens_per_s: number;
  decode_tokens_per_s: number;
  prefill_ms: number[];
  decode_step_ms_median: number;
}

function argmaxRow(data: ArrayLike<number>, start: number, length: number): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (data[start + i] > data[start + best]) best = i;
  return best;
}

export function inferenceThroughput(model: CausalLm, options: InferenceBenchOptions): InferenceBenchResult {
  const { promptTokens, decodeTokens, repeats } = options;
  const vocab = model.spec.vocabSize;
  const prompt = Int32Array.from({ length: promptTokens }, (_, i) => (i * 7919 + 17) % vocab);
  const cache = new KvCache(model.spec, 1, promptTokens + decodeTokens);
  const prefillMs: number[] = [];
  const decodeMs: number[] = [];
  // One untimed round first: it fills the buffer pool and the RoPE table.
  for (let round = 0; round <= repeats; round++) {
    cache.reset();
    let start = nowMs();
    let next = withInferenceTape((tape) => {
      const { logits } = model.forward(tape, prompt, 1, promptTokens, { cache, logits: 'last' });
      return argmaxRow(logits!.data, 0, vocab);
    });
    if (round > 0) prefillMs.push(nowMs() - start);
    for (let step = 0; step < decodeTokens; step++) {
      start = nowMs();
      next = withInferenceTape((tape) => {
        const { logits } = model.forward(tape, Int32Array.of(next), 1, 1, { cache, logits: 'last' });
        return argmaxRow(logits!.data, 0, vocab);
      });
      if (round > 0) decodeMs.push(nowMs() - start);
    }
  }
  const decodeMedian = median(decodeMs);
  return {
    prefill_tokens_per_s: promptTokens / (median(prefillMs) / 1000),
    decode_tokens_per_s: 1000 / decodeMedian,
    prefill_ms: prefillMs,
    decode_step_ms_median: decodeMedian,
  };
}
