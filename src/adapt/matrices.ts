import { Random } from '../tensor/index.js';

// Small dense-matrix helpers for what happens outside the tape: materialising
// ΔW, projecting parameters, building fixed bases. All row-major, all in float64,
// so that what we report and merge is not rounded twice.

export type Matrix = { length: number; [i: number]: number };

/** a [m, k] · b [k, n] -> [m, n] in float64. */
export function matmul64(a: Matrix, b: Matrix, m: number, k: number, n: number): Float64Array {
  if (a.length !== m * k || b.length !== k * n) throw new RangeError(`matmul64: [${m}, ${k}] · [${k}, ${n}] needs ${m * k} and ${k * n} values, got ${a.length} and ${b.length}`);
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const v = a[i * k + p];
      if (v === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += v * b[p * n + j];
    }
  }
  return out;
}

export function transpose64(a: Matrix, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j];
  return out;
}

export function frobenius(a: Matrix): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/**
 * An orthonormal basis Q [n, q] (columns) of the span of `rows` [count, n]:
 * modified Gram-Schmidt twice, dropping rows whose residual is below `tolerance`
 * of their own norm (they add nothing to the span).
 */
export function orthonormalColumns(rows: Matrix, count: number, n: number, tolerance = 1e-6): Float64Array {
  const kept: Float64Array[] = [];
  for (let r = 0; r < count; r++) {
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) v[i] = rows[r * n + i];
    const norm = Math.sqrt(dot(v, v));
    if (!(norm > 0)) continue;
    for (let pass = 0; pass < 2; pass++) {
      for (const q of kept) {
        const c = dot(q, v);
        for (let i = 0; i < n; i++) v[i] -= c * q[i];
      }
    }
    const residual = Math.sqrt(dot(v, v));
    if (residual < tolerance * norm) continue;
    for (let i = 0; i < n; i++) v[i] /= residual;
    kept.push(v);
  }
  const q = kept.length;
  const out = new Float64Array(n * q);
  kept.forEach((col, j) => { for (let i = 0; i < n; i++) out[i * q + j] = col[i]; });
  return out;
}

/** In place: M [rows, cols] <- Q Qᵀ M, with Q [rows, q] orthonormal columns (projects M's columns). */
export function projectColumnsInPlace(m: Matrix, rows: number, cols: number, q: Matrix, rank: number): void {
  const coefficients = matmul64(transpose64(q, rows, rank), m, rank, rows, cols);
  const projected = matmul64(q, coefficients, rows, rank, cols);
  for (let i = 0; i < projected.length; i++) m[i] = projected[i];
}

/** In place: M [rows, cols] <- M Q Qᵀ, with Q [cols, q] orthonormal columns (projects M's rows). */
export function projectRowsInPlace(m: Matrix, rows: number, cols: number, q: Matrix, rank: number): void {
  const coefficients = matmul64(m, q, rows, cols, rank);
  const projected = matmul64(coefficients, transpose64(q, cols, rank), rows, rank, cols);
  for (let i = 0; i < projected.length; i++) m[i] = projected[i];
}

/**
 * PEFT's LoRA A initialisation: kaiming_uniform_(a = sqrt(5)), which is uniform
 * on ±1/sqrt(fan_in).
 */
export function kaimingUniform(out: Matrix, fanIn: number, rng: Random): void {
  const bound = 1 / Math.sqrt(fanIn);
  rng.fillUniform(out, -bound, bound);
}

/** A seed for one named adapter, independent of the order adapters are built in (FNV-1a). */
export function seedFor(seed: number, name: string): number {
  let h = 0x811c9dc5;
  const text = `${seed}:${name}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
