import type { Random } from '../tensor/index.js';

// Choosing the next token from one row of logits. Temperature 0 is greedy
// (argmax, lowest id on ties). Otherwise: divide by the temperature, keep the
// top-k, then the smallest set whose probability reaches top-p, and draw from
// what is left with the caller's seeded generator, so a seed fixes the output.

export interface SamplingOptions {
  temperature?: number;
  topK?: number;
  topP?: number;
}

export function checkSamplingOptions(options: SamplingOptions): void {
  const { temperature = 0, topK = 0, topP = 1 } = options;
  if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new RangeError(`temperature must be a finite number >= 0, got ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0) throw new RangeError(`topK must be an integer >= 0 (0 = off), got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new RangeError(`topP must be in (0, 1], got ${topP}`);
}

export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

export function sampleToken(logits: Float32Array, options: SamplingOptions, rng: Random): number {
  const { temperature = 0, topK = 0, topP = 1 } = options;
  for (let i = 0; i < logits.length; i++) {
    if (Number.isNaN(logits[i])) throw new RangeError(`sampleToken: logit ${i} is NaN; the model produced non-finite output`);
  }
  if (temperature === 0) return argmax(logits);
  let candidates = Array.from({ length: logits.length }, (_, i) => i);
  candidates.sort((a, b) => logits[b] - logits[a] || a - b);
  if (topK > 0 && topK < candidates.length) candidates = candidates.slice(0, topK);
  const max = logits[candidates[0]] / temperature;
  const weights = candidates.map((i) => Math.exp(logits[i] / temperature - max));
  let total = weights.reduce((a, w) => a + w, 0);
  if (topP < 1) {
    let cumulative = 0;
    let keep = 0;
    while (keep < weights.length) {
      cumulative += weights[keep];
      keep++;
      if (cumulative >= topP * total) break;
    }
    candidates = candidates.slice(0, keep);
    weights.length = keep;
    total = cumulative;
  }
  let r = rng.uniform() * total;
  for (let i = 0; i < candidates.length; i++) {
    r -= weights[i];
    if (r < 0) return candidates[i];
  }
  return candidates[candidates.length - 1];
}
