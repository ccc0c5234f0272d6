import type { Tape } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { contiguousStrides, normaliseDim } from '../tensor.js';
import { int32, kernels, requireContiguous } from './common.js';

// Sum and mean, over everything or one dimension. Their backward broadcasts the
// incoming gradient back over the reduced elements.

export function sum(tape: Tape, x: Tensor, dim?: number, keepDim = false): Tensor {
  return reduce(tape, 'sum', x, dim, keepDim, 1);
}

export function mean(tape: Tape, x: Tensor, dim?: number, keepDim = false): Tensor {
  const count = dim === undefined ? x.size : x.shape[normaliseDim('mean', dim, x.ndim)];
  return reduce(tape, 'mean', x, dim, keepDim, count === 0 ? 0 : 1 / count);
}

function reduce(tape: Tape, op: string, x: Tensor, dim: number | undefined, keepDim: boolean, factor: number): Tensor {
  const input = requireContiguous(op, 'x', x);
  const k = kernels();
  if (dim === undefined) {
    const out = tape.allocate(keepDim ? x.shape.map(() => 1) : []);
    out.data[0] = k.sumAll(input) * factor;
    return tape.record(op, out, [x], (gradOut) => {
      const sink = tape.gradientSink(x);
      if (sink === null) return;
      const g = gradOut.data[0] * factor;
      if (sink.accumulate) {
        const ones = tape.allocate(x.shape);
        ones.data.fill(g);
        k.scaleInto(ones.data, 1, sink.array, true);
      } else {
        sink.array.fill(g);
      }
    });
  }
  const d = normaliseDim(op, dim, x.ndim);
  const outer = x.shape.slice(0, d).reduce((a, b) => a * b, 1);
  const axis = x.shape[d];
  const inner = x.shape.slice(d + 1).reduce((a, b) => a * b, 1);
  const shape = keepDim ? x.shape.map((n, i) => (i === d ? 1 : n)) : x.shape.filter((_, i) => i !== d);
  const out = tape.allocate(shape);
  k.sumAxis(input, outer, axis, inner, out.data, false);
  if (factor !== 1) k.scaleInto(out.data, factor, out.data, false);
  return tape.record(op, out, [x], (gradOut) => {
    const sink = tape.gradientSink(x);
    if (sink === null) return;
    // Read gradOut with stride 0 along the reduced axis.
    const readStrides = contiguousStrides([outer, 1, inner]);
    readStrides[1] = 0;
    const scaled = factor === 1 ? gradOut.data : tape.allocate(gradOut.shape).data;
    if (factor !== 1) k.scaleInto(gradOut.data, factor, scaled, false);
    k.copyStrided(scaled, 0, int32(readStrides), sink.array, 0, int32(contiguousStrides([outer, axis, inner])), int32([outer, axis, inner]), sink.accumulate);
  });
}
