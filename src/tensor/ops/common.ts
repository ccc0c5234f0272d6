import type { FloatArray, Kernels } from '../backends/kernels.js';
import { getBackend } from '../backend.js';
import { ShapeError, formatShape } from '../errors.js';
import type { GradientSink } from '../tape.js';
import type { Tensor } from '../tensor.js';

// Small checks shared by the ops. They run before any kernel so that a bad call
// fails with the op's name and the shapes involved.

export function kernels(): Kernels {
  return getBackend().kernels;
}

export function requireContiguous(op: string, name: string, t: Tensor): FloatArray {
  t.assertAlive(op);
  if (!t.isContiguous) {
    throw new ShapeError(op, `${name} ${formatShape(t.shape)} must be contiguous (strides ${formatShape(t.strides)}); call contiguous() first`);
  }
  return t.data;
}

export function requireRank(op: string, name: string, t: Tensor, rank: number): void {
  if (t.ndim !== rank) throw new ShapeError(op, `${name} must be ${rank}-d, got shape ${formatShape(t.shape)}`);
}

export function requireMinRank(op: string, name: string, t: Tensor, rank: number): void {
  if (t.ndim < rank) throw new ShapeError(op, `${name} must have at least ${rank} dimensions, got shape ${formatShape(t.shape)}`);
}

export function requireSameShape(op: string, names: [string, string], a: Tensor, b: Tensor): void {
  if (a.ndim !== b.ndim || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new ShapeError(op, `${names[0]} ${formatShape(a.shape)} and ${names[1]} ${formatShape(b.shape)} must have the same shape`);
  }
}

export function lastDim(t: Tensor): number {
  return t.shape[t.ndim - 1];
}

/** Rows when the tensor is seen as [rows, lastDim]. */
export function leadingRows(t: Tensor): number {
  const cols = lastDim(t);
  return cols === 0 ? 0 : t.size / cols;
}

/** The storage seen from a tensor's offset (for strided kernels). */
export function fromOffset(t: Tensor): FloatArray {
  t.assertAlive('strided access');
  return t.offset === 0 ? t.storage.array : t.storage.array.subarray(t.offset);
}

export function checkIds(op: string, name: string, ids: Int32Array, expected: number): void {
  if (!(ids instanceof Int32Array)) throw new TypeError(`${op}: ${name} must be an Int32Array`);
  if (ids.length !== expected) throw new ShapeError(op, `${name} has ${ids.length} entries, expected ${expected}`);
}

/** Writes zero into a sink that is in overwrite mode, so partial writes can accumulate. */
export function zeroIfOverwrite(sink: GradientSink): void {
  if (!sink.accumulate) sink.array.fill(0);
}

export function int32(values: readonly number[]): Int32Array {
  return Int32Array.from(values);
}
