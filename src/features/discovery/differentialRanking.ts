import { pooledStd, rowCount } from './rows.js';

// Which SAE features tell two sets of texts apart: every feature's activation is
// summarised on each set (mean, spread, firing rate) and features are ranked by
//   score = (meanPos - meanNeg) / (pooledStd + 1e-6) + (firingPos - firingNeg)
// The first term (Cohen's d) rewards a consistent shift in activation; the second
// (a rate difference in [-1, 1]) rewards features that switch on for one set and
// stay off for the other, which is what makes a feature usable as a detector.
// A feature that fires on every positive at one constant value and never on a
// negative has pooledStd 0, hence a huge score: it is a perfect separator.
// Rows may be tokens or per-text means; the ranking does not care.

/** The SAE encoder: `rows` is [n, d], the result [n, dSae] latent activations. */
export type LatentEncoder = (rows: Float32Array, n: number) => Float32Array;

export interface FeatureDifference {
  feature: number;
  meanPos: number;
  meanNeg: number;
  /** Fraction of rows on which the feature fires (activation > firingThreshold). */
  firingPos: number;
  firingNeg: number;
  /** (meanPos - meanNeg) / pooled std. */
  effectSize: number;
  score: number;
}

export interface DifferenceRankingOptions {
  /** Rows encoded per call to `encode` (default 256); bounds memory to chunk * dSae latents. */
  chunkRows?: number;
  /** A feature fires on a row when its activation exceeds this (default 0). */
  firingThreshold?: number;
  /** 'positive' (default): features more active on pos first; 'negative': on neg first; 'both': by |score|. */
  order?: 'positive' | 'negative' | 'both';
}

interface FeatureSums { n: number; sum: Float64Array; squares: Float64Array; firing: Float64Array }

function summarise(encode: LatentEncoder, dSae: number, rows: Float32Array, d: number, chunkRows: number, threshold: number, what: string): FeatureSums {
  const n = rowCount(rows, d, `rankFeaturesByDifference: ${what}`);
  if (n === 0) throw new RangeError(`rankFeaturesByDifference: ${what} has no rows`);
  const sums: FeatureSums = { n, sum: new Float64Array(dSae), squares: new Float64Array(dSae), firing: new Float64Array(dSae) };
  for (let start = 0; start < n; start += chunkRows) {
    const count = Math.min(chunkRows, n - start);
    const latents = encode(rows.subarray(start * d, (start + count) * d), count);
    if (latents.length !== count * dSae) {
      throw new RangeError(`rankFeaturesByDifference: encode returned ${latents.length} values for ${count} rows; expected ${count} x dSae ${dSae} = ${count * dSae}`);
    }
    for (let r = 0; r < count; r++) {
      for (let f = 0; f < dSae; f++) {
        const v = latents[r * dSae + f];
        sums.sum[f] += v;
        sums.squares[f] += v * v;
        if (v > threshold) sums.firing[f]++;
      }
    }
  }
  return sums;
}

function variance(s: FeatureSums, f: number): number {
  if (s.n < 2) return 0;
  const mean = s.sum[f] / s.n;
  return Math.max(0, (s.squares[f] - s.n * mean * mean) / (s.n - 1));
}

export function rankFeaturesByDifference(
  encode: LatentEncoder, dSae: number, posRows: Float32Array, negRows: Float32Array, d: number, options: DifferenceRankingOptions = {},
): FeatureDifference[] {
  if (!Number.isSafeInteger(dSae) || dSae < 1) throw new RangeError(`rankFeaturesByDifference: dSae must be a positive integer, got ${dSae}`);
  const chunkRows = options.chunkRows ?? 256;
  const threshold = options.firingThreshold ?? 0;
  const pos = summarise(encode, dSae, posRows, d, chunkRows, threshold, 'posRows');
  const neg = summarise(encode, dSae, negRows, d, chunkRows, threshold, 'negRows');
  const ranked: FeatureDifference[] = [];
  for (let f = 0; f < dSae; f++) {
    const meanPos = pos.sum[f] / pos.n;
    const meanNeg = neg.sum[f] / neg.n;
    const spread = pooledStd({ n: pos.n, variance: variance(pos, f) }, { n: neg.n, variance: variance(neg, f) });
    const effectSize = (meanPos - meanNeg) / (spread + 1e-6);
    const firingPos = pos.firing[f] / pos.n;
    const firingNeg = neg.firing[f] / neg.n;
    ranked.push({ feature: f, meanPos, meanNeg, firingPos, firingNeg, effectSize, score: effectSize + (firingPos - firingNeg) });
  }
  const order = options.order ?? 'positive';
  const key = order === 'positive' ? (x: FeatureDifference) => x.score : order === 'negative' ? (x: FeatureDifference) => -x.score : (x: FeatureDifference) => Math.abs(x.score);
  return ranked.sort((a, b) => key(b) - key(a) || a.feature - b.feature);
}
