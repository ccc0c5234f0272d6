import { Tensor } from '../tensor/index.js';
import type { ModelSpec } from './spec.js';

// Keys and values of every layer for the tokens seen so far, so decoding a new
// token costs one token's work instead of the whole prefix. Each layer's cache is
// [batch, capacity, kvHeads, headDim]; attention reads the time-slice
// [0, length) as a strided view, with no copy. All rows share `length`: a ragged
// batch is left-padded, and `keyStart[b]` hides row b's padding from attention.

export class KvCache {
  readonly keys: Tensor[];
  readonly values: Tensor[];
  length = 0;
  readonly keyStart: Int32Array;

  constructor(readonly spec: ModelSpec, readonly batch: number, readonly capacity: number) {
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`KvCache: batch must be a positive integer, got ${batch}`);
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`KvCache: capacity must be a positive integer, got ${capacity}`);
    if (spec.positions === 'learned' && capacity > spec.maxPositions) {
      throw new RangeError(`KvCache: capacity ${capacity} exceeds the ${spec.maxPositions} learned positions of this ${spec.modelType} model`);
    }
    const shape = [batch, capacity, spec.kvHeads, spec.headDim];
    this.keys = Array.from({ length: spec.layers }, () => Tensor.zeros(shape));
    this.values = Array.from({ length: spec.layers }, () => Tensor.zeros(shape));
    this.keyStart = new Int32Array(batch);
  }

  get remaining(): number {
    return this.capacity - this.length;
  }

  /** Copies this step's keys/values ([batch, steps, kvHeads, headDim], contiguous) in at the current length. */
  write(layer: number, keys: Tensor, values: Tensor): void {
    const [batch, steps] = keys.shape;
    if (batch !== this.batch) throw new RangeError(`KvCache.write: batch ${batch} does not match the cache's ${this.batch}`);
    if (this.length + steps > this.capacity) {
      throw new RangeError(`KvCache.write: ${steps} new tokens after ${this.length} exceed the capacity of ${this.capacity}`);
    }
    const row = this.spec.kvHeads * this.spec.headDim;
    const cacheK = this.keys[layer].data;
    const cacheV = this.values[layer].data;
    const k = keys.data;
    const v = values.data;
    for (let b = 0; b < batch; b++) {
      const src = b * steps * row;
      const dst = (b * this.capacity + this.length) * row;
      cacheK.set(k.subarray(src, src + steps * row), dst);
      cacheV.set(v.subarray(src, src + steps * row), dst);
    }
  }

  /** Keys/values [batch, upTo, kvHeads, headDim] as strided views of the cache. */
  view(layer: number, upTo: number): { keys: Tensor; values: Tensor } {
    const { kvHeads, headDim } = this.spec;
    const strides = [this.capacity * kvHeads * headDim, kvHeads * headDim, headDim, 1];
    const shape = [this.batch, upTo, kvHeads, headDim];
    return {
      keys: new Tensor(this.keys[layer].storage, shape, strides, 0),
      values: new Tensor(this.values[layer].storage, shape, strides, 0),
    };
  }

  /** Forget everything (the buffers are reused). */
  reset(): void {
    this.length = 0;
    this.keyStart.fill(0);
  }

  /** Drops tokens after `length` (e.g. to re-run from a shared prefix). */
  truncate(length: number): void {
    if (!Number.isInteger(length) || length < 0 || length > this.length) {
      throw new RangeError(`KvCache.truncate: length must be an integer in [0, ${this.length}], got ${length}`);
    }
    this.length = length;
  }
}
