import { ShapeError, formatShape } from '../errors.js';
import type { Tape } from '../tape.js';
import { Tensor, contiguousStrides, normaliseDim, resolveShape } from '../tensor.js';
import { fromOffset, int32, kernels, zeroIfOverwrite } from './common.js';

// Views and copies: reshape, transpose, contiguous, slice, concat. Views share the
// input's buffer; their backward passes copy the gradient into the input's layout.

/** Copies any strided tensor into a fresh contiguous one (or returns it if already contiguous). */
export function contiguous(tape: Tape, x: Tensor): Tensor {
  if (x.isContiguous) return x;
  const out = tape.allocate(x.shape);
  kernels().copyStrided(fromOffset(x), 0, int32(x.strides), out.data, 0, int32(contiguousStrides(x.shape)), int32(x.shape), false);
  // The input's gradient is contiguous in the input's logical shape, like gradOut.
  return tape.record('contiguous', out, [x], (gradOut) => tape.passGradient(x, gradOut));
}

export function reshape(tape: Tape, x: Tensor, shape: readonly number[]): Tensor {
  const source = contiguous(tape, x);
  const resolved = resolveShape('reshape', source.size, shape);
  const out = tape.adoptView(new Tensor(source.storage, resolved, contiguousStrides(resolved), source.offset));
  return tape.record('reshape', out, [source], (gradOut) => tape.passGradient(source, gradOut));
}

/** Swaps two dimensions as a view (matmul reads such views without copying). */
export function transpose(tape: Tape, x: Tensor, dim0: number, dim1: number): Tensor {
  const a = normaliseDim('transpose', dim0, x.ndim);
  const b = normaliseDim('transpose', dim1, x.ndim);
  const out = tape.adoptView(x.transposeView(a, b));
  return tape.record('transpose', out, [x], (gradOut) => {
    const sink = tape.gradientSink(x);
    if (sink === null) return;
    const inputStrides = contiguousStrides(x.shape);
    [inputStrides[a], inputStrides[b]] = [inputStrides[b], inputStrides[a]];
    kernels().copyStrided(gradOut.data, 0, int32(contiguousStrides(out.shape)), sink.array, 0, int32(inputStrides), int32(out.shape), sink.accumulate);
  });
}

/** x[..., start:end, ...] along `dim`, as a view. */
export function slice(tape: Tape, x: Tensor, dim: number, start: number, end: number): Tensor {
  const d = normaliseDim('slice', dim, x.ndim);
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > x.shape[d] || start > end) {
    throw new ShapeError('slice', `range [${start}, ${end}) is invalid for dimension ${d} of size ${x.shape[d]} in ${formatShape(x.shape)}`);
  }
  const shape = [...x.shape];
  shape[d] = end - start;
  const out = tape.adoptView(new Tensor(x.storage, shape, [...x.strides], x.offset + start * x.strides[d]));
  return tape.record('slice', out, [x], (gradOut) => {
    const sink = tape.gradientSink(x);
    if (sink === null) return;
    zeroIfOverwrite(sink);
    const inputStrides = contiguousStrides(x.shape);
    kernels().copyStrided(gradOut.data, 0, int32(contiguousStrides(shape)), sink.array, start * inputStrides[d], int32(inputStrides), int32(shape), true);
  });
}

export function concat(tape: Tape, xs: readonly Tensor[], dim: number): Tensor {
  if (xs.length === 0) throw new ShapeError('concat', 'needs at least one tensor');
  const first = xs[0];
  const d = normaliseDim('concat', dim, first.ndim);
  let total = 0;
  for (const [i, t] of xs.entries()) {
    if (t.ndim !== first.ndim || t.shape.some((n, j) => j !== d && n !== first.shape[j])) {
      throw new ShapeError('concat', `tensor ${i} has shape ${formatShape(t.shape)}, incompatible with ${formatShape(first.shape)} along dimension ${d}`);
    }
    total += t.shape[d];
  }
  const shape = [...first.shape];
  shape[d] = total;
  const out = tape.allocate(shape);
  const outStrides = contiguousStrides(shape);
  const offsets: number[] = [];
  let at = 0;
  for (const t of xs) {
    offsets.push(at * outStrides[d]);
    kernels().copyStrided(fromOffset(t), 0, int32(t.strides), out.data, at * outStrides[d], int32(outStrides), int32(t.shape), false);
    at += t.shape[d];
  }
  return tape.record('concat', out, xs, (gradOut) => {
    xs.forEach((t, i) => {
      const sink = tape.gradientSink(t);
      if (sink === null) return;
      // Read the slice of gradOut with the output's strides, write it contiguously.
      kernels().copyStrided(gradOut.data, offsets[i], int32(outStrides), sink.array, 0, int32(contiguousStrides(t.shape)), int32(t.shape), sink.accumulate);
    });
  });
}
