// Timing helpers for benchmarks. Medians, because these machines are shared and noisy.

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median: no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Runs fn `warmup` times untimed, then `repeats` times; returns each timed duration in ms. */
export function timeRepeated(fn: () => void, warmup: number, repeats: number): number[] {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = nowMs();
    fn();
    times.push(nowMs() - start);
  }
  return times;
}
