import type { FloatArray } from '../kernels.js';
import {
  checkBoolean, checkIndices, checkInt32Array, checkInteger, checkMinLength, checkOptionalFloatArray,
} from './validate.js';
import { checkRowMatrix, checkRowVector, checkRowsCols, logSumExp } from './rows.js';

function checkTargets(kernel: string, targets: Int32Array, rows: number, vocab: number, ignoreIndex: number): void {
  checkInt32Array(kernel, 'targets', targets);
  checkInteger(kernel, 'ignoreIndex', ignoreIndex);
  checkMinLength(kernel, 'targets', targets, rows, `rows=${rows}`);
  checkIndices(kernel, 'targets', targets, rows, vocab, 'vocab', ignoreIndex);
}

function checkWeights(kernel: string, weights: FloatArray | null, rows: number): void {
  checkOptionalFloatArray(kernel, 'weights', weights);
  if (weights !== null) checkMinLength(kernel, 'weights', weights, rows, `rows=${rows}`);
}

/**
 * losses[r] = weight[r] * (logsumexp(logits[r]) - logits[r][target[r]]), 0 for ignored rows.
 * logSumExp[r] is written for every row, ignored rows included.
 */
export function crossEntropy(
  logits: FloatArray, targets: Int32Array, weights: FloatArray | null, rows: number, vocab: number,
  ignoreIndex: number, losses: FloatArray, logSumExpOut: FloatArray,
): void {
  const k = 'crossEntropy';
  const n = checkRowsCols(k, rows, vocab, 'vocab');
  checkRowMatrix(k, 'logits', logits, n, rows, vocab, 'vocab');
  checkWeights(k, weights, rows);
  checkRowVector(k, 'losses', losses, rows);
  checkRowVector(k, 'logSumExp', logSumExpOut, rows);
  checkTargets(k, targets, rows, vocab, ignoreIndex);
  for (let r = 0; r < rows; r++) {
    const off = r * vocab;
    const lse = logSumExp(logits, off, vocab);
    logSumExpOut[r] = lse;
    const t = targets[r]!;
    if (t === ignoreIndex) {
      losses[r] = 0;
      continue;
    }
    const w = weights !== null ? weights[r]! : 1;
    losses[r] = w * (lse - logits[off + t]!);
  }
}

/** gradLogits[r] = rowScale[r] * weight[r] * (softmax(logits[r]) - onehot(target[r])); 0 (or untouched) for ignored rows. */
export function crossEntropyBackward(
  logits: FloatArray, targets: Int32Array, weights: FloatArray | null, logSumExpIn: FloatArray,
  rowScale: FloatArray, gradLogits: FloatArray, rows: number, vocab: number, ignoreIndex: number, accumulate: boolean,
): void {
  const k = 'crossEntropyBackward';
  const n = checkRowsCols(k, rows, vocab, 'vocab');
  checkBoolean(k, 'accumulate', accumulate);
  checkRowMatrix(k, 'logits', logits, n, rows, vocab, 'vocab');
  checkRowMatrix(k, 'gradLogits', gradLogits, n, rows, vocab, 'vocab');
  checkWeights(k, weights, rows);
  checkRowVector(k, 'logSumExp', logSumExpIn, rows);
  checkRowVector(k, 'rowScale', rowScale, rows);
  checkTargets(k, targets, rows, vocab, ignoreIndex);
  for (let r = 0; r < rows; r++) {
    const off = r * vocab;
    const t = targets[r]!;
    if (t === ignoreIndex) {
      if (!accumulate) gradLogits.fill(0, off, off + vocab);
      continue;
    }
    const coef = rowScale[r]! * (weights !== null ? weights[r]! : 1);
    const lse = logSumExpIn[r]!;
    for (let j = 0; j < vocab; j++) {
      const g = coef * (Math.exp(logits[off + j]! - lse) - (j === t ? 1 : 0));
      if (accumulate) gradLogits[off + j] += g;
      else gradLogits[off + j] = g;
    }
  }
}

/** KL_r = sum_j P_j (log P_j - log Q_j), with the convention 0 * log 0 = 0. */
function klRow(p: FloatArray, q: FloatArray, off: number, vocab: number, lseP: number, lseQ: number): number {
  let kl = 0;
  for (let j = 0; j < vocab; j++) {
    const logP = p[off + j]! - lseP;
    const P = Math.exp(logP);
    if (P === 0) continue;
    kl += P * (logP - (q[off + j]! - lseQ));
  }
  return kl;
}

export function klDivergence(p: FloatArray, q: FloatArray, rows: number, vocab: number, out: FloatArray): void {
  const k = 'klDivergence';
  const n = checkRowsCols(k, rows, vocab, 'vocab');
  checkRowMatrix(k, 'p', p, n, rows, vocab, 'vocab');
  checkRowMatrix(k, 'q', q, n, rows, vocab, 'vocab');
  checkRowVector(k, 'out', out, rows);
  for (let r = 0; r < rows; r++) {
    const off = r * vocab;
    out[r] = klRow(p, q, off, vocab, logSumExp(p, off, vocab), logSumExp(q, off, vocab));
  }
}

/** dp = rowScale * P * ((log P - log Q) - KL_r),  dq = rowScale * (Q - P). */
export function klDivergenceBackward(
  p: FloatArray, q: FloatArray, rowScale: FloatArray, gradP: FloatArray | null, gradQ: FloatArray | null,
  rows: number, vocab: number, accumulate: boolean,
): void {
  const k = 'klDivergenceBackward';
  const n = checkRowsCols(k, rows, vocab, 'vocab');
  checkBoolean(k, 'accumulate', accumulate);
  checkRowMatrix(k, 'p', p, n, rows, vocab, 'vocab');
  checkRowMatrix(k, 'q', q, n, rows, vocab, 'vocab');
  checkRowVector(k, 'rowScale', rowScale, rows);
  checkOptionalFloatArray(k, 'gradP', gradP);
  checkOptionalFloatArray(k, 'gradQ', gradQ);
  if (gradP !== null) checkRowMatrix(k, 'gradP', gradP, n, rows, vocab, 'vocab');
  if (gradQ !== null) checkRowMatrix(k, 'gradQ', gradQ, n, rows, vocab, 'vocab');
  if (gradP === null && gradQ === null) return;
  const dp = new Float64Array(vocab);
  const dq = new Float64Array(vocab);
  for (let r = 0; r < rows; r++) {
    const off = r * vocab;
    const s = rowScale[r]!;
    const lseP = logSumExp(p, off, vocab);
    const lseQ = logSumExp(q, off, vocab);
    const kl = klRow(p, q, off, vocab, lseP, lseQ);
    for (let j = 0; j < vocab; j++) {
      const logP = p[off + j]! - lseP;
      const logQ = q[off + j]! - lseQ;
      const P = Math.exp(logP);
      dp[j] = P === 0 ? 0 : s * P * (logP - logQ - kl);
      dq[j] = s * (Math.exp(logQ) - P);
    }
    if (gradP !== null) {
      if (accumulate) for (let j = 0; j < vocab; j++) gradP[off + j] += dp[j]!;
      else for (let j = 0; j < vocab; j++) gradP[off + j] = dp[j]!;
    }
    if (gradQ !== null) {
      if (accumulate) for (let j = 0; j < vocab; j++) gradQ[off + j] += dq[j]!;
      else for (let j = 0; j < vocab; j++) gradQ[off + j] = dq[j]!;
    }
  }
}
