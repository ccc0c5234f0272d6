import type { FloatArray } from './backends/kernels.js';

// Buffers are recycled by exact element count. A training step allocates the
// same sizes every time, so after the first step every request is served from the
// free lists and the process's memory stays flat. Buffers handed out are NOT zeroed:
// kernels overwrite their outputs (or are told to accumulate explicitly).

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

export class BufferPool {
  private readonly freeLists = new Map<number, FloatArray[]>();
  private readonly stats: PoolStats = { allocatedBytes: 0, liveBytes: 0, freeBytes: 0, hits: 0, misses: 0 };
  private readonly bytesPerElement: number;

  constructor(readonly precision: Precision) {
    this.bytesPerElement = precision === 'float32' ? 4 : 8;
  }

  acquire(length: number): StorageHandle {
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`BufferPool.acquire: length must be a non-negative integer, got ${length}`);
    const free = this.freeLists.get(length);
    let array: FloatArray;
    if (free !== undefined && free.length > 0) {
      array = free.pop()!;
      this.stats.hits++;
      this.stats.freeBytes -= length * this.bytesPerElement;
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
    let free = this.freeLists.get(length);
    if (free === undefined) {
      free = [];
      this.freeLists.set(length, free);
    }
    free.push(handle.array);
    this.stats.liveBytes -= length * this.bytesPerElement;
    this.stats.freeBytes += length * this.bytesPerElement;
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
