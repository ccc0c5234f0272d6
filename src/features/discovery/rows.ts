// Small helpers on row-major [n, d] Float32Array matrices, shared by the discovery
// and label code. Sums run in float64 so that means over many rows stay exact
// enough to compare.

/** Number of rows in `rows`, checking that it is a whole number of d-wide rows. */
export function rowCount(rows: Float32Array, d: number, what: string): number {
  if (!Number.isSafeInteger(d) || d < 1) throw new RangeError(`${what}: width d must be a positive integer, got ${d}`);
  if (rows.length % d !== 0) throw new RangeError(`${what}: ${rows.length} values are not a whole number of rows of width ${d}`);
  return rows.length / d;
}

export function meanRow(rows: Float32Array, d: number): Float64Array {
  const n = rows.length / d;
  const mean = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let i = 0; i < d; i++) mean[i] += rows[r * d + i];
  for (let i = 0; i < d; i++) mean[i] /= n;
  return mean;
}

/** Dot product of row `row` of `rows` with `vector`. */
export function dotRow(rows: Float32Array, row: number, vector: ArrayLike<number>, d: number): number {
  let sum = 0;
  const base = row * d;
  for (let i = 0; i < d; i++) sum += rows[base + i] * vector[i];
  return sum;
}

/** Projection of every row on `vector`. */
export function projectRows(rows: Float32Array, vector: ArrayLike<number>, d: number): Float64Array {
  const n = rows.length / d;
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) out[r] = dotRow(rows, r, vector, d);
  return out;
}

export function norm(vector: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += vector[i] * vector[i];
  return Math.sqrt(sum);
}

/** `vector` scaled to unit length; fails on a zero (or non-finite) vector, naming `what`. */
export function unitVector(vector: ArrayLike<number>, what: string): Float32Array {
  const length = norm(vector);
  if (!(length > 0) || !Number.isFinite(length)) throw new RangeError(`${what}: the direction has length ${length}; it cannot be normalised`);
  return Float32Array.from(vector, (v) => v / length);
}

export function meanAndVariance(values: ArrayLike<number>): { mean: number; variance: number } {
  const n = values.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i];
  mean /= n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (values[i] - mean) ** 2;
  // Sample variance (n - 1), as the pooled standard deviation below expects.
  return { mean, variance: n > 1 ? squares / (n - 1) : 0 };
}

/** Pooled standard deviation of two groups from their sample variances. */
export function pooledStd(a: { n: number; variance: number }, b: { n: number; variance: number }): number {
  const dof = a.n + b.n - 2;
  if (dof <= 0) return 0;
  return Math.sqrt(((a.n - 1) * a.variance + (b.n - 1) * b.variance) / dof);
}
