import { ShapeError, formatShape } from '../errors.js';
import type { Tape } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { fromOffset, int32, kernels, lastDim, leadingRows, requireContiguous, requireMinRank, requireRank } from './common.js';
import { contiguous, reshape } from './shape.js';

// Matrix products. A transposed view is read through the GEMM's transpose flag,
// never copied. Forward and backward are each one GEMM call per operand; gradients
// accumulate through beta = 1.

/** How a tensor's last two dimensions map onto a GEMM operand. */
interface MatrixOperand {
  transposed: boolean;
  leadingDim: number;
  batchStride: number;
}

/** Reads the matrix layout of t's last two dims, or null if a copy is needed. */
function matrixLayout(t: Tensor): MatrixOperand | null {
  const n = t.ndim;
  const rows = t.shape[n - 2];
  const cols = t.shape[n - 1];
  const rowStride = t.strides[n - 2];
  const colStride = t.strides[n - 1];
  let layout: MatrixOperand | null = null;
  if (colStride === 1 || cols === 1) {
    const ld = rows === 1 ? Math.max(cols, 1) : rowStride;
    if (ld >= Math.max(cols, 1)) layout = { transposed: false, leadingDim: ld, batchStride: 0 };
  }
  if (layout === null && (rowStride === 1 || rows === 1)) {
    const ld = cols === 1 ? Math.max(rows, 1) : colStride;
    if (ld >= Math.max(rows, 1)) layout = { transposed: true, leadingDim: ld, batchStride: 0 };
  }
  if (layout === null) return null;
  // Batch dims must collapse into one stride.
  if (n > 2) {
    for (let d = 0; d < n - 3; d++) {
      if (t.shape[d] !== 1 && t.strides[d] !== t.strides[d + 1] * t.shape[d + 1]) return null;
    }
    layout.batchStride = t.strides[n - 3];
  }
  return layout;
}

function operand(tape: Tape, t: Tensor): { tensor: Tensor; layout: MatrixOperand } {
  const layout = matrixLayout(t);
  if (layout !== null) return { tensor: t, layout };
  const copy = contiguous(tape, t);
  return { tensor: copy, layout: matrixLayout(copy)! };
}

/**
 * a [..., M, K] @ b [..., K, N] -> [..., M, N]. Batch dims must match, or b may be
 * 2-D (shared weights: a's batch dims fold into M).
 */
export function matmul(tape: Tape, a: Tensor, b: Tensor): Tensor {
  a.assertAlive('matmul');
  b.assertAlive('matmul');
  requireMinRank('matmul', 'a', a, 2);
  requireMinRank('matmul', 'b', b, 2);
  if (a.ndim > 2 && b.ndim === 2) {
    const flat = reshape(tape, a, [-1, lastDim(a)]);
    const product = matmul(tape, flat, b);
    return reshape(tape, product, [...a.shape.slice(0, -1), b.shape[1]]);
  }
  if (a.ndim !== b.ndim || a.shape.slice(0, -2).some((d, i) => d !== b.shape[i])) {
    throw new ShapeError('matmul', `batch dimensions of a ${formatShape(a.shape)} and b ${formatShape(b.shape)} must match (or b must be 2-D)`);
  }
  const M = a.shape[a.ndim - 2];
  const K = a.shape[a.ndim - 1];
  const N = b.shape[b.ndim - 1];
  if (b.shape[b.ndim - 2] !== K) {
    throw new ShapeError('matmul', `inner dimensions differ: a ${formatShape(a.shape)} has K=${K} but b ${formatShape(b.shape)} has ${b.shape[b.ndim - 2]}`);
  }
  const batch = a.ndim === 2 ? 1 : a.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  const A = operand(tape, a);
  const B = operand(tape, b);
  const out = tape.allocate([...a.shape.slice(0, -2), M, N]);
  kernels().gemm(A.layout.transposed, B.layout.transposed, M, N, K, 1,
    fromOffset(A.tensor), A.layout.leadingDim, A.layout.batchStride,
    fromOffset(B.tensor), B.layout.leadingDim, B.layout.batchStride,
    0, out.data, N, M * N, batch);
  return tape.record('matmul', out, [A.tensor, B.tensor], (gradOut) => {
    const k = kernels();
    const gradA = tape.gradientSink(A.tensor);
    if (gradA !== null) {
      // dA [M,K] = dC [M,N] · op(B)^T
      k.gemm(false, !B.layout.transposed, M, K, N, 1, gradOut.data, N, M * N,
        fromOffset(B.tensor), B.layout.leadingDim, B.layout.batchStride,
        gradA.accumulate ? 1 : 0, gradA.array, K, M * K, batch);
    }
    const gradB = tape.gradientSink(B.tensor);
    if (gradB !== null) {
      // dB [K,N] = op(A)^T · dC
      k.gemm(!A.layout.transposed, false, K, N, M, 1,
        fromOffset(A.tensor), A.layout.leadingDim, A.layout.batchStride,
        gradOut.data, N, M * N, gradB.accumulate ? 1 : 0, gradB.array, N, K * N, batch);
    }
  });
}

/**
 * y = x W^T + b with W stored [out, in] (the Hugging Face / PyTorch layout).
 * The bias is written first and the GEMM accumulates onto it, so there is no
 * separate pass for the addition.
 */
export function linear(tape: Tape, x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  const input = requireContiguous('linear', 'x', x);
  requireRank('linear', 'weight', weight, 2);
  const weightData = requireContiguous('linear', 'weight', weight);
  const [outFeatures, inFeatures] = weight.shape;
  if (lastDim(x) !== inFeatures) {
    throw new ShapeError('linear', `x ${formatShape(x.shape)} has ${lastDim(x)} features but weight ${formatShape(weight.shape)} expects ${inFeatures}`);
  }
  if (bias !== null && (bias.ndim !== 1 || bias.shape[0] !== outFeatures)) {
    throw new ShapeError('linear', `bias ${formatShape(bias.shape)} must be [${outFeatures}]`);
  }
  const rows = leadingRows(x);
  const out = tape.allocate([...x.shape.slice(0, -1), outFeatures]);
  const k = kernels();
  if (bias !== null) {
    k.copyStrided(requireContiguous('linear', 'bias', bias), 0, int32([0, 1]), out.data, 0, int32([outFeatures, 1]), int32([rows, outFeatures]), false);
  }
  k.gemm(false, true, rows, outFeatures, inFeatures, 1, input, inFeatures, 0, weightData, inFeatures, 0,
    bias === null ? 0 : 1, out.data, outFeatures, 0, 1);
  const inputs = bias === null ? [x, weight] : [x, weight, bias];
  return tape.record('linear', out, inputs, (gradOut) => {
    const gradX = tape.gradientSink(x);
    if (gradX !== null) {
      k.gemm(false, false, rows, inFeatures, outFeatures, 1, gradOut.data, outFeatures, 0, weightData, inFeatures, 0,
        gradX.accumulate ? 1 : 0, gradX.array, inFeatures, 0, 1);
    }
    const gradW = tape.gradientSink(weight);
    if (gradW !== null) {
      k.gemm(true, false, outFeatures, inFeatures, rows, 1, gradOut.data, outFeatures, 0, input, inFeatures, 0,
        gradW.accumulate ? 1 : 0, gradW.array, inFeatures, 0, 1);
    }
    const gradB = bias === null ? null : tape.gradientSink(bias);
    if (gradB !== null) k.sumAxis(gradOut.data, 1, rows, outFeatures, gradB.array, gradB.accumulate);
  });
}
