import type { FloatArray } from '../kernels.js';
import { checkFloatArray, checkBoolean, checkFinite, checkMinLength, checkSize, checkedProduct, fail } from './validate.js';

const K_NAME = 'gemm';

/** Elements a batched, strided, row-major matrix operand reaches (0 when it is empty). */
function operandExtent(rows: number, cols: number, ld: number, stride: number, batch: number): number {
  if (batch === 0 || rows === 0 || cols === 0) return 0;
  return checkedProduct(K_NAME, 'extent', batch > 1 ? batch - 1 : 0, stride) + checkedProduct(K_NAME, 'extent', rows - 1, ld) + cols;
}

function checkOperand(
  name: string, X: FloatArray, trans: boolean, transName: string, rows: number, cols: number,
  rowsName: string, colsName: string, ld: number, ldName: string, stride: number, strideName: string, batch: number,
): void {
  checkSize(K_NAME, ldName, ld);
  if (ld < cols) {
    fail(K_NAME, ldName, `${ldName}=${ld} is smaller than the ${cols} columns of stored ${name} (${transName}=${trans}, ${colsName}=${cols})`);
  }
  if (batch > 1) checkSize(K_NAME, strideName, stride);
  const needed = operandExtent(rows, cols, ld, stride, batch);
  const batchText = batch > 1 ? `, batch=${batch}, ${strideName}=${stride}` : '';
  const dims = `${transName}=${trans}, ${rowsName}=${rows}, ${colsName}=${cols}`;
  checkMinLength(K_NAME, name, X, needed, `${dims}, ${ldName}=${ld}${batchText}`);
}

/**
 * C_b = alpha * op(A_b) @ op(B_b) + beta * C_b for b < batch. beta == 0 overwrites C without
 * reading it (BLAS convention: NaN/Inf already in C do not propagate). Products are accumulated
 * in double precision in ascending k order; one row of op(A) is hoisted into a contiguous
 * buffer, then the inner loop runs along contiguous memory (i-k-j when B is not transposed,
 * i-j-k dot products when it is).
 */
export function gemm(
  transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
  A: FloatArray, lda: number, strideA: number,
  B: FloatArray, ldb: number, strideB: number,
  beta: number, C: FloatArray, ldc: number, strideC: number, batch: number,
): void {
  checkBoolean(K_NAME, 'transA', transA);
  checkBoolean(K_NAME, 'transB', transB);
  checkSize(K_NAME, 'M', M);
  checkSize(K_NAME, 'N', N);
  checkSize(K_NAME, 'K', K);
  checkSize(K_NAME, 'batch', batch);
  checkFinite(K_NAME, 'alpha', alpha);
  checkFinite(K_NAME, 'beta', beta);
  checkFloatArray(K_NAME, 'A', A);
  checkFloatArray(K_NAME, 'B', B);
  checkFloatArray(K_NAME, 'C', C);
  // Stored A is M x K (or K x M when transposed); stored B is K x N (or N x K).
  if (transA) checkOperand('A', A, transA, 'transA', K, M, 'K', 'M', lda, 'lda', strideA, 'strideA', batch);
  else checkOperand('A', A, transA, 'transA', M, K, 'M', 'K', lda, 'lda', strideA, 'strideA', batch);
  if (transB) checkOperand('B', B, transB, 'transB', N, K, 'N', 'K', ldb, 'ldb', strideB, 'strideB', batch);
  else checkOperand('B', B, transB, 'transB', K, N, 'K', 'N', ldb, 'ldb', strideB, 'strideB', batch);
  checkSize(K_NAME, 'ldc', ldc);
  if (ldc < N) fail(K_NAME, 'ldc', `ldc=${ldc} is smaller than the N=${N} columns of C`);
  if (batch > 1) checkSize(K_NAME, 'strideC', strideC);
  const cBatchText = batch > 1 ? `, batch=${batch}, strideC=${strideC}` : '';
  checkMinLength(K_NAME, 'C', C, operandExtent(M, N, ldc, strideC, batch), `M=${M}, N=${N}, ldc=${ldc}${cBatchText}`);

  if (M === 0 || N === 0) return;
  const aRow = new Float64Array(K);
  const acc = new Float64Array(N);
  for (let b = 0; b < batch; b++) {
    const aBase = batch > 1 ? b * strideA : 0;
    const bBase = batch > 1 ? b * strideB : 0;
    const cBase = batch > 1 ? b * strideC : 0;
    for (let i = 0; i < M; i++) {
      // Hoist row i of op(A).
      if (!transA) {
        const off = aBase + i * lda;
        for (let k = 0; k < K; k++) aRow[k] = A[off + k]!;
      } else {
        for (let k = 0; k < K; k++) aRow[k] = A[aBase + k * lda + i]!;
      }
      if (!transB) {
        acc.fill(0);
        for (let k = 0; k < K; k++) {
          const a = aRow[k]!;
          const off = bBase + k * ldb;
          for (let j = 0; j < N; j++) acc[j] += a * B[off + j]!;
        }
      } else {
        for (let j = 0; j < N; j++) {
          const off = bBase + j * ldb;
          let s = 0;
          for (let k = 0; k < K; k++) s += aRow[k]! * B[off + k]!;
          acc[j] = s;
        }
      }
      const cOff = cBase + i * ldc;
      if (beta === 0) {
        for (let j = 0; j < N; j++) C[cOff + j] = alpha * acc[j]!;
      } else {
        for (let j = 0; j < N; j++) C[cOff + j] = alpha * acc[j]! + beta * C[cOff + j]!;
      }
    }
  }
}
