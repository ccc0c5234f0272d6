import type { FloatArray } from '../kernels.js';
import { checkBoolean } from './validate.js';
import { checkRowMatrix, checkRowsCols, logSumExp } from './rows.js';

/** out = exp(x - max) / sum(exp(x - max)) per row (x and out may be the same array). */
export function softmax(x: FloatArray, out: FloatArray, rows: number, cols: number): void {
  const k = 'softmax';
  const n = checkRowsCols(k, rows, cols);
  checkRowMatrix(k, 'x', x, n, rows, cols);
  checkRowMatrix(k, 'out', out, n, rows, cols);
  const e = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    let max = -Infinity;
    for (let j = 0; j < cols; j++) {
      const v = x[off + j]!;
      if (v > max) max = v;
    }
    let sum = 0;
    for (let j = 0; j < cols; j++) {
      const ej = Math.exp(x[off + j]! - max);
      e[j] = ej;
      sum += ej;
    }
    for (let j = 0; j < cols; j++) out[off + j] = e[j]! / sum;
  }
}

/** gradIn = y * (gradOut - sum(gradOut * y)) per row. */
export function softmaxBackward(y: FloatArray, gradOut: FloatArray, gradIn: FloatArray, rows: number, cols: number, accumulate: boolean): void {
  const k = 'softmaxBackward';
  const n = checkRowsCols(k, rows, cols);
  checkBoolean(k, 'accumulate', accumulate);
  checkRowMatrix(k, 'y', y, n, rows, cols);
  checkRowMatrix(k, 'gradOut', gradOut, n, rows, cols);
  checkRowMatrix(k, 'gradIn', gradIn, n, rows, cols);
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += gradOut[off + j]! * y[off + j]!;
    for (let j = 0; j < cols; j++) {
      const g = y[off + j]! * (gradOut[off + j]! - dot);
      if (accumulate) gradIn[off + j] += g;
      else gradIn[off + j] = g;
    }
  }
}

/** out = x - logsumexp(x) per row (x and out may be the same array). */
export function logSoftmax(x: FloatArray, out: FloatArray, rows: number, cols: number): void {
  const k = 'logSoftmax';
  const n = checkRowsCols(k, rows, cols);
  checkRowMatrix(k, 'x', x, n, rows, cols);
  checkRowMatrix(k, 'out', out, n, rows, cols);
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const lse = logSumExp(x, off, cols);
    for (let j = 0; j < cols; j++) out[off + j] = x[off + j]! - lse;
  }
}

/** gradIn = gradOut - exp(y) * sum(gradOut) per row. */
export function logSoftmaxBackward(y: FloatArray, gradOut: FloatArray, gradIn: FloatArray, rows: number, cols: number, accumulate: boolean): void {
  const k = 'logSoftmaxBackward';
  const n = checkRowsCols(k, rows, cols);
  checkBoolean(k, 'accumulate', accumulate);
  checkRowMatrix(k, 'y', y, n, rows, cols);
  checkRowMatrix(k, 'gradOut', gradOut, n, rows, cols);
  checkRowMatrix(k, 'gradIn', gradIn, n, rows, cols);
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += gradOut[off + j]!;
    for (let j = 0; j < cols; j++) {
      const g = gradOut[off + j]! - Math.exp(y[off + j]!) * sum;
      if (accumulate) gradIn[off + j] += g;
      else gradIn[off + j] = g;
    }
  }
}
