import type { FloatArray } from './backends/kernels.js';
import { getBackend } from './backend.js';
import { ReleasedTensorError, ShapeError, formatShape } from './errors.js';
import type { StorageHandle } from './pool.js';
import { Random } from './random.js';

// A Tensor is a float buffer plus a shape, strides and an offset. Reshape of a
// contiguous tensor and transpose are views over the same buffer; kernels need
// contiguous inputs (except matmul, which reads transposed views through its
// transpose flags), and `contiguous()` in ops/shape.ts makes a copy when needed.

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

export function checkShape(op: string, shape: readonly number[]): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(op, `shape ${formatShape(shape)} must contain non-negative integers`);
  }
}

export class Tensor {
  readonly size: number;
  /** Set on trainable leaves and on op outputs that depend on them. */
  requiresGrad = false;
  /** Accumulated gradient (parameters) — kept across steps, see `gradIsStale`. */
  grad: Tensor | null = null;
  /** When true the next gradient write overwrites instead of adding (set by zeroGrad). */
  gradIsStale = false;
  name: string | undefined;

  constructor(
    readonly storage: StorageHandle,
    readonly shape: readonly number[],
    readonly strides: readonly number[] = contiguousStrides(shape),
    readonly offset = 0,
  ) {
    this.size = sizeOf(shape);
  }

  /** A new uninitialised tensor from the current backend's pool. */
  static empty(shape: readonly number[]): Tensor {
    checkShape('Tensor.empty', shape);
    return new Tensor(getBackend().pool.acquire(sizeOf(shape)), [...shape]);
  }

  static zeros(shape: readonly number[]): Tensor {
    const t = Tensor.empty(shape);
    t.storage.array.fill(0);
    return t;
  }

  static full(shape: readonly number[], value: number): Tensor {
    const t = Tensor.empty(shape);
    t.storage.array.fill(value);
    return t;
  }

  static fromArray(values: ArrayLike<number>, shape: readonly number[] = [values.length]): Tensor {
    checkShape('Tensor.fromArray', shape);
    if (sizeOf(shape) !== values.length) {
      throw new ShapeError('Tensor.fromArray', `${values.length} values do not fill shape ${formatShape(shape)} (${sizeOf(shape)} elements)`);
    }
    const t = Tensor.empty(shape);
    t.storage.array.set(values);
    return t;
  }

  static randn(shape: readonly number[], rng: Random, std = 1): Tensor {
    const t = Tensor.empty(shape);
    rng.fillNormal(t.storage.array, std);
    return t;
  }

  static uniform(shape: readonly number[], rng: Random, low: number, high: number): Tensor {
    const t = Tensor.empty(shape);
    rng.fillUniform(t.storage.array, low, high);
    return t;
  }

  /** A trainable leaf. */
  static parameter(values: Tensor, name?: string): Tensor {
    values.requiresGrad = true;
    values.name = name;
    return values;
  }

  get ndim(): number {
    return this.shape.length;
  }

  get isContiguous(): boolean {
    let expected = 1;
    for (let d = this.shape.length - 1; d >= 0; d--) {
      if (this.shape[d] !== 1 && this.strides[d] !== expected) return false;
      expected *= this.shape[d];
    }
    return true;
  }

  /** The elements of a contiguous tensor as a typed-array view (no copy). */
  get data(): FloatArray {
    this.assertAlive('Tensor.data');
    if (!this.isContiguous) {
      throw new ShapeError('Tensor.data', `tensor of shape ${formatShape(this.shape)} with strides ${formatShape(this.strides)} is not contiguous; call contiguous() first`);
    }
    const array = this.storage.array;
    if (this.offset === 0 && this.size === array.length) return array;
    return array.subarray(this.offset, this.offset + this.size);
  }

  assertAlive(op: string): void {
    if (this.storage.released) throw new ReleasedTensorError(`${op} on tensor ${formatShape(this.shape)}${this.name ? ` '${this.name}'` : ''}`);
  }

  /** A view with a new shape; requires contiguity (use ops/shape.ts reshape inside a tape). */
  view(shape: readonly number[]): Tensor {
    const resolved = resolveShape('view', this.size, shape);
    if (!this.isContiguous) {
      throw new ShapeError('view', `cannot view non-contiguous tensor ${formatShape(this.shape)} as ${formatShape(resolved)}; call contiguous() first`);
    }
    return new Tensor(this.storage, resolved, contiguousStrides(resolved), this.offset);
  }

  /** Swaps two dimensions without copying. */
  transposeView(dim0: number, dim1: number): Tensor {
    const a = normaliseDim('transpose', dim0, this.ndim);
    const b = normaliseDim('transpose', dim1, this.ndim);
    const shape = [...this.shape];
    const strides = [...this.strides];
    [shape[a], shape[b]] = [shape[b], shape[a]];
    [strides[a], strides[b]] = [strides[b], strides[a]];
    return new Tensor(this.storage, shape, strides, this.offset);
  }

  /** Copies the elements (in logical row-major order) into a plain array. */
  toArray(): number[] {
    this.assertAlive('Tensor.toArray');
    const out = new Array<number>(this.size);
    const index = new Array<number>(this.ndim).fill(0);
    const array = this.storage.array;
    for (let i = 0; i < this.size; i++) {
      let position = this.offset;
      for (let d = 0; d < this.ndim; d++) position += index[d] * this.strides[d];
      out[i] = array[position];
      for (let d = this.ndim - 1; d >= 0; d--) {
        if (++index[d] < this.shape[d]) break;
        index[d] = 0;
      }
    }
    return out;
  }

  item(): number {
    if (this.size !== 1) throw new ShapeError('Tensor.item', `expected a single element, got shape ${formatShape(this.shape)}`);
    this.assertAlive('Tensor.item');
    return this.storage.array[this.offset];
  }

  /** Returns the buffer to its pool. Only for tensors that own their storage outright. */
  dispose(): void {
    this.storage.pool.release(this.storage);
  }
}

export function normaliseDim(op: string, dim: number, ndim: number): number {
  const d = dim < 0 ? dim + ndim : dim;
  if (!Number.isInteger(d) || d < 0 || d >= ndim) throw new ShapeError(op, `dimension ${dim} is out of range for a ${ndim}-d tensor`);
  return d;
}

/** Resolves one -1 entry and checks the element count matches. */
export function resolveShape(op: string, size: number, shape: readonly number[]): number[] {
  const out = [...shape];
  const inferred = out.indexOf(-1);
  if (inferred !== out.lastIndexOf(-1)) throw new ShapeError(op, `only one dimension may be -1, got ${formatShape(shape)}`);
  if (inferred >= 0) {
    const known = sizeOf(out.filter((_, i) => i !== inferred));
    if (known === 0 || size % known !== 0) throw new ShapeError(op, `cannot infer -1 in ${formatShape(shape)} for ${size} elements`);
    out[inferred] = size / known;
  }
  checkShape(op, out);
  if (sizeOf(out) !== size) throw new ShapeError(op, `shape ${formatShape(out)} has ${sizeOf(out)} elements, expected ${size}`);
  return out;
}
