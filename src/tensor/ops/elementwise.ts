import { BinaryOp } from '../backends/kernels.js';
import { ShapeError, formatShape } from '../errors.js';
import type { Tape } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { contiguousStrides } from '../tensor.js';
import { fromOffset, int32, kernels, requireContiguous, zeroIfOverwrite } from './common.js';

// Broadcasting add / mul / scale (NumPy rules). The backward of a broadcast input
// sums the gradient over the broadcast dimensions with one strided-accumulate pass.

export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const ndim = Math.max(a.length, b.length);
  const out = new Array<number>(ndim);
  for (let i = 0; i < ndim; i++) {
    const da = a[a.length - ndim + i] ?? 1;
    const db = b[b.length - ndim + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(op, `shapes ${formatShape(a)} and ${formatShape(b)} cannot be broadcast together (dimension ${i}: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides that read `t` (with its own strides) at every index of `outShape`. */
function broadcastStrides(t: Tensor, outShape: readonly number[]): Int32Array {
  const strides = new Int32Array(outShape.length);
  const lead = outShape.length - t.ndim;
  for (let i = 0; i < t.ndim; i++) strides[lead + i] = t.shape[i] === 1 ? 0 : t.strides[i];
  return strides;
}

/** Same, for a contiguous buffer of t's shape (used for gradient targets). */
function broadcastContiguousStrides(shape: readonly number[], outShape: readonly number[]): Int32Array {
  const own = contiguousStrides(shape);
  const strides = new Int32Array(outShape.length);
  const lead = outShape.length - shape.length;
  for (let i = 0; i < shape.length; i++) strides[lead + i] = shape[i] === 1 ? 0 : own[i];
  return strides;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Sums `grad` (contiguous, shape outShape) down to `target`'s shape into its gradient. */
function reduceGradientInto(tape: Tape, target: Tensor, grad: Tensor, outShape: readonly number[]): void {
  if (sameShape(target.shape, outShape)) {
    tape.passGradient(target, grad);
    return;
  }
  const sink = tape.gradientSink(target);
  if (sink === null) return;
  zeroIfOverwrite(sink);
  kernels().copyStrided(grad.data, 0, int32(contiguousStrides(outShape)), sink.array, 0,
    broadcastContiguousStrides(target.shape, outShape), int32(outShape), true);
}

function binary(tape: Tape, op: BinaryOp, name: string, a: Tensor, b: Tensor): { out: Tensor; shape: number[] } {
  a.assertAlive(name);
  b.assertAlive(name);
  const shape = broadcastShapes(name, a.shape, b.shape);
  const out = tape.allocate(shape);
  kernels().broadcastBinary(op, fromOffset(a), broadcastStrides(a, shape), fromOffset(b), broadcastStrides(b, shape), out.data, int32(shape));
  return { out, shape };
}

export function add(tape: Tape, a: Tensor, b: Tensor): Tensor {
  const { out, shape } = binary(tape, BinaryOp.Add, 'add', a, b);
  return tape.record('add', out, [a, b], (gradOut) => {
    reduceGradientInto(tape, a, gradOut, shape);
    reduceGradientInto(tape, b, gradOut, shape);
  });
}

export function mul(tape: Tape, a: Tensor, b: Tensor): Tensor {
  const { out, shape } = binary(tape, BinaryOp.Mul, 'mul', a, b);
  return tape.record('mul', out, [a, b], (gradOut) => {
    const outStrides = int32(contiguousStrides(shape));
    for (const [self, other] of [[a, b], [b, a]] as const) {
      if (!self.requiresGrad) continue;
      const product = tape.allocate(shape);
      kernels().broadcastBinary(BinaryOp.Mul, gradOut.data, outStrides, fromOffset(other), broadcastStrides(other, shape), product.data, int32(shape));
      reduceGradientInto(tape, self, product, shape);
    }
  });
}

export function scale(tape: Tape, x: Tensor, factor: number): Tensor {
  const input = requireContiguous('scale', 'x', x);
  const out = tape.allocate(x.shape);
  kernels().scaleInto(input, factor, out.data, false);
  return tape.record('scale', out, [x], (gradOut) => {
    const sink = tape.gradientSink(x);
    if (sink !== null) kernels().scaleInto(gradOut.data, factor, sink.array, sink.accumulate);
  });
}

export function sub(tape: Tape, a: Tensor, b: Tensor): Tensor {
  return add(tape, a, scale(tape, b, -1));
}
