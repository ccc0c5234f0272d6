import type { FloatArray } from '../kernels.js';
import { checkBoolean, checkIndices, checkInt32Array, checkMinLength, checkSize, checkedProduct, fail } from './validate.js';
import { checkRowMatrix, checkRowsCols } from './rows.js';

/** Above this k a full sort of the row is used instead of bounded insertion. */
const INSERTION_LIMIT = 64;

function checkK(kernel: string, k: number, cols: number): void {
  checkSize(kernel, 'k', k);
  if (k > cols) fail(kernel, 'k', `k=${k} must be <= cols=${cols}`);
}

/**
 * Keeps the k largest values of each row. Order: larger value first; equal values by lower
 * index; NaN counts as larger than every number (as in torch.topk). Indices are written in
 * that order; out is dense with the kept values and zeros elsewhere.
 */
export function topK(x: FloatArray, out: FloatArray, indices: Int32Array, rows: number, cols: number, k: number): void {
  const kn = 'topK';
  const n = checkRowsCols(kn, rows, cols);
  checkK(kn, k, cols);
  checkRowMatrix(kn, 'x', x, n, rows, cols);
  checkRowMatrix(kn, 'out', out, n, rows, cols);
  checkInt32Array(kn, 'indices', indices);
  checkMinLength(kn, 'indices', indices, checkedProduct(kn, 'rows*k', rows, k), `rows=${rows}, k=${k}`);

  const sel = new Int32Array(k);
  const kept = new Float64Array(k);
  const all = k > INSERTION_LIMIT ? new Int32Array(cols) : null;
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    // before(a, b) < 0 when column a ranks ahead of column b.
    const before = (a: number, b: number): number => {
      const va = x[off + a]!;
      const vb = x[off + b]!;
      const na = va !== va;
      const nb = vb !== vb;
      if (na || nb) {
        if (na && nb) return a - b;
        return na ? -1 : 1;
      }
      if (va > vb) return -1;
      if (va < vb) return 1;
      return a - b;
    };
    if (k === 0) {
      // nothing selected
    } else if (all === null) {
      let count = 0;
      for (let j = 0; j < cols; j++) {
        if (count === k && before(j, sel[k - 1]!) >= 0) continue;
        let p = count < k ? count++ : k - 1;
        while (p > 0 && before(j, sel[p - 1]!) < 0) {
          sel[p] = sel[p - 1]!;
          p--;
        }
        sel[p] = j;
      }
    } else {
      for (let j = 0; j < cols; j++) all[j] = j;
      all.sort(before);
      for (let i = 0; i < k; i++) sel[i] = all[i]!;
    }
    for (let i = 0; i < k; i++) kept[i] = x[off + sel[i]!]!;
    out.fill(0, off, off + cols);
    for (let i = 0; i < k; i++) {
      out[off + sel[i]!] = kept[i]!;
      indices[r * k + i] = sel[i]!;
    }
  }
}

/** Straight-through: gradIn[r, indices[r, j]] (+)= gradOut[r, indices[r, j]]; other entries 0 (or untouched if accumulate). */
export function topKBackward(gradOut: FloatArray, indices: Int32Array, gradIn: FloatArray, rows: number, cols: number, k: number, accumulate: boolean): void {
  const kn = 'topKBackward';
  const n = checkRowsCols(kn, rows, cols);
  checkK(kn, k, cols);
  checkBoolean(kn, 'accumulate', accumulate);
  checkRowMatrix(kn, 'gradOut', gradOut, n, rows, cols);
  checkRowMatrix(kn, 'gradIn', gradIn, n, rows, cols);
  checkInt32Array(kn, 'indices', indices);
  const nk = checkedProduct(kn, 'rows*k', rows, k);
  checkMinLength(kn, 'indices', indices, nk, `rows=${rows}, k=${k}`);
  checkIndices(kn, 'indices', indices, nk, cols, 'cols');
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    if (!accumulate) {
      // Copy the kept gradients out first so that gradIn may alias gradOut.
      const kept = new Float64Array(k);
      for (let i = 0; i < k; i++) kept[i] = gradOut[off + indices[r * k + i]!]!;
      gradIn.fill(0, off, off + cols);
      for (let i = 0; i < k; i++) gradIn[off + indices[r * k + i]!] = kept[i]!;
    } else {
      for (let i = 0; i < k; i++) {
        const c = off + indices[r * k + i]!;
        gradIn[c] += gradOut[c]!;
      }
    }
  }
}
