// Latency statistics for `imprint loadtest`.
//
// Percentiles are nearest-rank: the p-th percentile of n sorted values is the
// value at rank ceil(p/100 * n) (1-based), so it is always one of the measured
// values (no interpolation), p = 0 gives the smallest and p = 100 the largest.

/** The nearest-rank p-th percentile (0 <= p <= 100) of `values`; null when there are none. */
export function percentile(values: readonly number[], p: number): number | null {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile: p must be in [0, 100], got ${p}`);
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

export interface LatencySummary {
  n: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  mean: number | null;
  max: number | null;
}

const round1 = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);

/** n, nearest-rank p50/p95/p99, mean and max of latencies in milliseconds (rounded to 0.1 ms). */
export function summarize(values: readonly number[]): LatencySummary {
  const n = values.length;
  return {
    n,
    p50: round1(percentile(values, 50)), p95: round1(percentile(values, 95)), p99: round1(percentile(values, 99)),
    mean: n === 0 ? null : round1(values.reduce((a, b) => a + b, 0) / n),
    max: n === 0 ? null : round1(values.reduce((a, b) => Math.max(a, b), -Infinity)),
  };
}
