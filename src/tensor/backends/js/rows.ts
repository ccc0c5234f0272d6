import type { FloatArray } from '../kernels.js';
import { checkFloatArray, checkMinLength, checkSize, checkedProduct } from './validate.js';

/** Checks rows/cols and returns rows*cols. */
export function checkRowsCols(kernel: string, rows: number, cols: number, colsName = 'cols'): number {
  checkSize(kernel, 'rows', rows);
  checkSize(kernel, colsName, cols);
  return checkedProduct(kernel, `rows*${colsName}`, rows, cols);
}

export function checkRowMatrix(kernel: string, name: string, x: FloatArray, n: number, rows: number, cols: number, colsName = 'cols'): void {
  checkFloatArray(kernel, name, x);
  checkMinLength(kernel, name, x, n, `rows=${rows}, ${colsName}=${cols}`);
}

export function checkRowVector(kernel: string, name: string, x: FloatArray, rows: number): void {
  checkFloatArray(kernel, name, x);
  checkMinLength(kernel, name, x, rows, `rows=${rows}`);
}

/** Stable log(sum(exp(x[off .. off+n)))) in double precision; -Infinity for n = 0. */
export function logSumExp(x: FloatArray, off: number, n: number): number {
  let max = -Infinity;
  for (let j = 0; j < n; j++) {
    const v = x[off + j]!;
    if (v > max) max = v;
  }
  if (max === -Infinity || max === Infinity) return max;
  if (Number.isNaN(max)) return NaN;
  let sum = 0;
  for (let j = 0; j < n; j++) sum += Math.exp(x[off + j]! - max);
  return max + Math.log(sum);
}
