import type { FloatArray } from '../kernels.js';
import { checkFloatArray, checkIndices, checkInt32Array, checkMinLength, checkSize, checkedProduct } from './validate.js';

function checkCommon(kernel: string, vocab: number, dim: number, ids: Int32Array): number {
  checkSize(kernel, 'vocab', vocab);
  checkSize(kernel, 'dim', dim);
  checkInt32Array(kernel, 'ids', ids);
  checkedProduct(kernel, 'vocab*dim', vocab, dim);
  return checkedProduct(kernel, 'ids.length*dim', ids.length, dim);
}

/** out[i] = table[ids[i]] (rows of length dim). */
export function embedding(table: FloatArray, vocab: number, dim: number, ids: Int32Array, out: FloatArray): void {
  const k = 'embedding';
  const n = checkCommon(k, vocab, dim, ids);
  checkFloatArray(k, 'table', table);
  checkFloatArray(k, 'out', out);
  checkMinLength(k, 'table', table, vocab * dim, `vocab=${vocab}, dim=${dim}`);
  checkMinLength(k, 'out', out, n, `ids.length=${ids.length}, dim=${dim}`);
  checkIndices(k, 'ids', ids, ids.length, vocab, 'vocab');
  for (let i = 0; i < ids.length; i++) {
    const src = ids[i]! * dim;
    const dst = i * dim;
    for (let d = 0; d < dim; d++) out[dst + d] = table[src + d]!;
  }
}

/** gradTable[ids[i]] += gradOut[i], in increasing i (deterministic). */
export function embeddingBackward(gradOut: FloatArray, ids: Int32Array, vocab: number, dim: number, gradTable: FloatArray): void {
  const k = 'embeddingBackward';
  const n = checkCommon(k, vocab, dim, ids);
  checkFloatArray(k, 'gradOut', gradOut);
  checkFloatArray(k, 'gradTable', gradTable);
  checkMinLength(k, 'gradOut', gradOut, n, `ids.length=${ids.length}, dim=${dim}`);
  checkMinLength(k, 'gradTable', gradTable, vocab * dim, `vocab=${vocab}, dim=${dim}`);
  checkIndices(k, 'ids', ids, ids.length, vocab, 'vocab');
  for (let i = 0; i < ids.length; i++) {
    const dst = ids[i]! * dim;
    const src = i * dim;
    for (let d = 0; d < dim; d++) gradTable[dst + d] += gradOut[src + d]!;
  }
}
