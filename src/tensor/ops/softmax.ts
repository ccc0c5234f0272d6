import type { Tape } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { kernels, lastDim, leadingRows, requireContiguous } from './common.js';

// Softmax and log-softmax over the last dimension. Both backward passes read the
// saved output, not the input.

export function softmax(tape: Tape, x: Tensor): Tensor {
  const input = requireContiguous('softmax', 'x', x);
  const rows = leadingRows(x);
  const cols = lastDim(x);
  const out = tape.allocate(x.shape);
  kernels().softmax(input, out.data, rows, cols);
  return tape.record('softmax', out, [x], (gradOut) => {
    const sink = tape.gradientSink(x);
    if (sink !== null) kernels().softmaxBackward(out.data, gradOut.data, sink.array, rows, cols, sink.accumulate);
  });
}

export function logSoftmax(tape: Tape, x: Tensor): Tensor {
  const input = requireContiguous('logSoftmax', 'x', x);
  const rows = leadingRows(x);
  const cols = lastDim(x);
  const out = tape.allocate(x.shape);
  kernels().logSoftmax(input, out.data, rows, cols);
  return tape.record('logSoftmax', out, [x], (gradOut) => {
    const sink = tape.gradientSink(x);
    if (sink !== null) kernels().logSoftmaxBackward(out.data, gradOut.data, sink.array, rows, cols, sink.accumulate);
  });
}
