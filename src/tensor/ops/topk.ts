import { ShapeError, formatShape } from '../errors.js';
import type { Tape } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { kernels, lastDim, leadingRows, requireContiguous } from './common.js';

// Top-k along the last dimension, kept dense (zeros elsewhere), with the
// straight-through gradient TopK sparse autoencoders train with: the gradient
// flows to the selected entries only.

export interface TopKResult {
  values: Tensor;
  /** [rows * k] selected columns per row, in descending value order. */
  indices: Int32Array;
}

export function topK(tape: Tape, x: Tensor, k: number): TopKResult {
  const input = requireContiguous('topK', 'x', x);
  const cols = lastDim(x);
  const rows = leadingRows(x);
  if (!Number.isInteger(k) || k < 1 || k > cols) throw new ShapeError('topK', `k must be an integer in [1, ${cols}] for x ${formatShape(x.shape)}, got ${k}`);
  const values = tape.allocate(x.shape);
  const indices = new Int32Array(rows * k);
  kernels().topK(input, values.data, indices, rows, cols, k);
  tape.record('topK', values, [x], (gradOut) => {
    const sink = tape.gradientSink(x);
    if (sink !== null) kernels().topKBackward(gradOut.data, indices, sink.array, rows, cols, k, sink.accumulate);
  });
  return { values, indices };
}
