import type { FloatArray } from './backends/kernels.js';

// Buffers are recycled by exact element count. A training step allocates the
// same sizes every time, so after the first step every request is served from the
// free lists and the process's memory stays flat. Buffers handed out are NOT zeroed:
// kernels overwrite their outputs (or are told to accumulate explicitly).
//
// Work whose shapes keep changing (texts of every length through one forward
// pass, a KV cache that grows a token at a time) would otherwise leave one free
// list per size it ever saw, and memory would grow with the corpus: 800 world
// documents through the shipped model once kept 14 GB of free buffers. So the free
// lists hold at most maxFreeBytes; when a release would go over, whole size
// classes are dropped, least recently used first, for the garbage collector to
// reclaim. A training step reuses all of its sizes every step, so under the cap
// nothing it needs is ever dropped.

export type Precision = 'float32' | 'float64';

/** A pooled buffer plus a flag that turns use-after-release into a clear error. */
export interface StorageHandle {
  readonly array: FloatArray;
  readonly pool: BufferPool;
  released: boolean;
}

export interface PoolStats {
  /** Bytes ever allocated from the JavaScript heap (grows only on a pool miss). */
  allocatedBytes: number;
  /** Bytes currently handed out. */
  liveBytes: number;
  /** Bytes sitting in free lists. */
  freeBytes: number;
  hits: number;
  misses: number;
}

/** Default bound on the bytes kept in free lists (1 GiB): far above one training step of the shipped model. */
export const DEFAULT_MAX_FREE_BYTES = 2 ** 30;

export class BufferPool {
  /** Size classes in least-recently-used order (Map iteration order; a use moves the class to the end). */
  private readonly freeLists = new Map<number, FloatArray[]>();
  private readonly stats: PoolStats = { allocatedBytes: 0, liveBytes: 0, freeBytes: 0, hits: 0, misses: 0 };
  private readonly bytesPerElement: number;
  private maxFree: number;

  constructor(readonly precision: Precision, maxFreeBytes = DEFAULT_MAX_FREE_BYTES) {
    this.bytesPerElement = precision === 'float32' ? 4 : 8;
    this.maxFree = BufferPool.checkMaxFree(maxFreeBytes);
  }

  /** The most bytes the free lists keep; lowering it drops buffers at once. */
  get maxFreeBytes(): number {
    return this.maxFree;
  }

  set maxFreeBytes(bytes: number) {
    this.maxFree = BufferPool.checkMaxFree(bytes);
    this.evictUntil(0);
  }

  private static checkMaxFree(bytes: number): number {
    if (!(Number.isSafeInteger(bytes) && bytes >= 0)) throw new RangeError(`BufferPool: maxFreeBytes must be an integer >= 0, got ${bytes}`);
    return bytes;
  }

  acquire(length: number): StorageHandle {
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`BufferPool.acquire: length must be a non-negative integer, got ${length}`);
    const free = this.freeLists.get(length);
    let array: FloatArray;
    if (free !== undefined && free.length > 0) {
      array = free.pop()!;
      this.stats.hits++;
      this.stats.freeBytes -= length * this.bytesPerElement;
      this.touch(length, free);
    } else {
      array = this.precision === 'float32' ? new Float32Array(length) : new Float64Array(length);
      this.stats.misses++;
      this.stats.allocatedBytes += length * this.bytesPerElement;
    }
    this.stats.liveBytes += length * this.bytesPerElement;
    return { array, pool: this, released: false };
  }

  release(handle: StorageHandle): void {
    if (handle.released) return;
    handle.released = true;
    const length = handle.array.length;
    const bytes = length * this.bytesPerElement;
    this.stats.liveBytes -= bytes;
    // A buffer larger than the whole budget is not kept at all.
    if (bytes > this.maxFree) {
      this.stats.allocatedBytes -= bytes;
      return;
    }
    this.evictUntil(bytes);
    const free = this.freeLists.get(length) ?? [];
    free.push(handle.array);
    this.touch(length, free);
    this.stats.freeBytes += bytes;
  }

  /** Marks a size class as just used. */
  private touch(length: number, free: FloatArray[]): void {
    this.freeLists.delete(length);
    this.freeLists.set(length, free);
  }

  /** Drops least recently used size classes until `incoming` more bytes fit under the cap. */
  private evictUntil(incoming: number): void {
    for (const [length, free] of this.freeLists) {
      if (this.stats.freeBytes + incoming <= this.maxFree) return;
      const dropped = length * this.bytesPerElement * free.length;
      this.freeLists.delete(length);
      this.stats.freeBytes -= dropped;
      this.stats.allocatedBytes -= dropped;
    }
  }

  /** Drops every free buffer so the garbage collector can reclaim it. */
  trim(): void {
    this.freeLists.clear();
    this.stats.allocatedBytes -= this.stats.freeBytes;
    this.stats.freeBytes = 0;
  }

  snapshot(): PoolStats {
    return { ...this.stats };
  }
}
