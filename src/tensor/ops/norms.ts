import { ShapeError, formatShape } from '../errors.js';
import type { Tape } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { kernels, lastDim, leadingRows, requireContiguous, zeroIfOverwrite } from './common.js';

// LayerNorm and RMSNorm over the last dimension. The forward saves per-row
// statistics so the backward is one fused pass.

function checkParam(op: string, name: string, p: Tensor | null, cols: number): void {
  if (p !== null && (p.ndim !== 1 || p.shape[0] !== cols)) {
    throw new ShapeError(op, `${name} ${formatShape(p.shape)} must be [${cols}] to match the last dimension`);
  }
}

export function layerNorm(tape: Tape, x: Tensor, weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor {
  const input = requireContiguous('layerNorm', 'x', x);
  const cols = lastDim(x);
  const rows = leadingRows(x);
  checkParam('layerNorm', 'weight', weight, cols);
  checkParam('layerNorm', 'bias', bias, cols);
  const out = tape.allocate(x.shape);
  const mean = tape.allocate([rows]);
  const rstd = tape.allocate([rows]);
  const weightData = weight === null ? null : requireContiguous('layerNorm', 'weight', weight);
  const biasData = bias === null ? null : requireContiguous('layerNorm', 'bias', bias);
  kernels().layerNorm(input, weightData, biasData, out.data, mean.data, rstd.data, rows, cols, eps);
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  return tape.record('layerNorm', out, inputs, (gradOut) => {
    const gradX = tape.gradientSink(x) ?? { array: tape.allocate(x.shape).data, accumulate: false };
    const gradW = weight === null ? null : tape.gradientSink(weight);
    const gradB = bias === null ? null : tape.gradientSink(bias);
    let accumulateParams = gradW?.accumulate ?? gradB?.accumulate ?? false;
    if (gradW !== null && gradB !== null && gradW.accumulate !== gradB.accumulate) {
      // The kernel has one accumulate flag for both parameters: bring them to the same mode.
      zeroIfOverwrite(gradW);
      zeroIfOverwrite(gradB);
      accumulateParams = true;
    }
    kernels().layerNormBackward(input, weightData, mean.data, rstd.data, gradOut.data, gradX.array,
      gradW?.array ?? null, gradB?.array ?? null, rows, cols, gradX.accumulate, accumulateParams);
  });
}

export interface RmsNormOptions {
  eps?: number;
  /** 1 for Gemma's (1 + w) scaling, 0 otherwise. */
  weightOffset?: number;
}

export function rmsNorm(tape: Tape, x: Tensor, weight: Tensor | null, options: RmsNormOptions = {}): Tensor {
  const eps = options.eps ?? 1e-6;
  const weightOffset = options.weightOffset ?? 0;
  const input = requireContiguous('rmsNorm', 'x', x);
  const cols = lastDim(x);
  const rows = leadingRows(x);
  checkParam('rmsNorm', 'weight', weight, cols);
  const out = tape.allocate(x.shape);
  const rstd = tape.allocate([rows]);
  const weightData = weight === null ? null : requireContiguous('rmsNorm', 'weight', weight);
  kernels().rmsNorm(input, weightData, out.data, rstd.data, rows, cols, eps, weightOffset);
  return tape.record('rmsNorm', out, weight ? [x, weight] : [x], (gradOut) => {
    const gradX = tape.gradientSink(x) ?? { array: tape.allocate(x.shape).data, accumulate: false };
    const gradW = weight === null ? null : tape.gradientSink(weight);
    kernels().rmsNormBackward(input, weightData, rstd.data, gradOut.data, gradX.array, gradW?.array ?? null,
      rows, cols, weightOffset, gradX.accumulate, gradW?.accumulate ?? false);
  });
}
