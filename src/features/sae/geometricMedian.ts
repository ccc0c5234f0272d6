// The geometric median of a set of points: the y minimising sum_i ||x_i - y||.
// Gao et al. start b_dec there (it is robust to outliers, unlike the mean).
// Weiszfeld's algorithm: repeatedly set y to the average of the points weighted by
// 1 / ||x_i - y||. Distances are floored at `epsilon`, so an iterate that lands on
// a data point stays finite (the standard practical fix).

export interface GeometricMedianOptions {
  maxIterations?: number;
  /** Stop when an iteration moves y by less than tolerance * (1 + ||y||). */
  tolerance?: number;
  epsilon?: number;
}

/** rows: [n * width] row-major. Returns the median as float64. */
export function geometricMedian(rows: ArrayLike<number>, n: number, width: number, options: GeometricMedianOptions = {}): Float64Array {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`geometricMedian: needs at least one point, got n = ${n}`);
  if (rows.length !== n * width) throw new RangeError(`geometricMedian: expected ${n} rows of ${width} (${n * width} values), got ${rows.length}`);
  const maxIterations = options.maxIterations ?? 200;
  const tolerance = options.tolerance ?? 1e-7;
  const epsilon = options.epsilon ?? 1e-10;
  let y = rowMean(rows, n, width);
  const next = new Float64Array(width);
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    next.fill(0);
    let weightSum = 0;
    for (let r = 0; r < n; r++) {
      let squares = 0;
      for (let i = 0; i < width; i++) {
        const d = rows[r * width + i] - y[i];
        squares += d * d;
      }
      const weight = 1 / Math.max(Math.sqrt(squares), epsilon);
      weightSum += weight;
      for (let i = 0; i < width; i++) next[i] += weight * rows[r * width + i];
    }
    let moved = 0;
    let norm = 0;
    for (let i = 0; i < width; i++) {
      next[i] /= weightSum;
      moved += (next[i] - y[i]) ** 2;
      norm += next[i] * next[i];
    }
    y = Float64Array.from(next);
    if (Math.sqrt(moved) < tolerance * (1 + Math.sqrt(norm))) break;
  }
  return y;
}

/** The mean row, in float64. */
export function rowMean(rows: ArrayLike<number>, n: number, width: number): Float64Array {
  const mean = new Float64Array(width);
  for (let r = 0; r < n; r++) for (let i = 0; i < width; i++) mean[i] += rows[r * width + i];
  for (let i = 0; i < width; i++) mean[i] /= n;
  return mean;
}

/** sum_i ||x_i - y||: what the geometric median minimises. */
export function sumOfDistances(rows: ArrayLike<number>, n: number, width: number, y: ArrayLike<number>): number {
  let total = 0;
  for (let r = 0; r < n; r++) {
    let squares = 0;
    for (let i = 0; i < width; i++) squares += (rows[r * width + i] - y[i]) ** 2;
    total += Math.sqrt(squares);
  }
  return total;
}
