import { Random } from '../../tensor/index.js';

// Training data for an SAE: rows of activations [n, dIn], either all in memory
// (sampled in a fresh random order every epoch) or streamed as chunks of rows
// from any iterator (used in order, once). Both hand out batches of `batchSize`
// rows; a stream's last batch may be shorter.

export type ActivationData = Float32Array | Iterable<Float32Array>;

export interface ActivationBatcher {
  /** Up to `rows` rows from the front of the data, without consuming them (for initialisation). */
  peek(rows: number): Float32Array;
  /** The next batch, or null when a stream is exhausted. */
  next(): Float32Array | null;
}

export function activationBatcher(data: ActivationData, dIn: number, batchSize: number, seed: number): ActivationBatcher {
  if (data instanceof Float32Array) return new InMemoryBatcher(data, dIn, batchSize, seed);
  if (data !== null && typeof data === 'object' && Symbol.iterator in data) return new StreamBatcher(data[Symbol.iterator](), dIn, batchSize);
  throw new TypeError('activation data must be a Float32Array [n * dIn] or an iterable of Float32Array row chunks');
}

class InMemoryBatcher implements ActivationBatcher {
  private readonly rows: number;
  private order: Uint32Array;
  private cursor: number;
  private readonly rng: Random;

  constructor(private readonly data: Float32Array, private readonly dIn: number, private readonly batchSize: number, private readonly seed: number) {
    if (data.length === 0 || data.length % dIn !== 0) throw new RangeError(`activation data holds ${data.length} values; expected a non-empty multiple of dIn = ${dIn}`);
    this.rows = data.length / dIn;
    this.rng = new Random(seed);
    this.order = new Uint32Array(this.rows);
    this.cursor = this.rows; // forces a shuffle on the first batch
  }

  peek(rows: number): Float32Array {
    // A random sample represents the whole set better than the first rows.
    if (rows >= this.rows) return this.data;
    const rng = new Random(this.seed + 1);
    const out = new Float32Array(rows * this.dIn);
    for (let r = 0; r < rows; r++) {
      const source = rng.int(this.rows);
      out.set(this.data.subarray(source * this.dIn, (source + 1) * this.dIn), r * this.dIn);
    }
    return out;
  }

  next(): Float32Array {
    const out = new Float32Array(this.batchSize * this.dIn);
    for (let r = 0; r < this.batchSize; r++) {
      if (this.cursor >= this.rows) this.shuffle();
      const source = this.order[this.cursor++];
      out.set(this.data.subarray(source * this.dIn, (source + 1) * this.dIn), r * this.dIn);
    }
    return out;
  }

  private shuffle(): void {
    for (let i = 0; i < this.rows; i++) this.order[i] = i;
    for (let i = this.rows - 1; i > 0; i--) {
      const j = this.rng.int(i + 1);
      const t = this.order[i];
      this.order[i] = this.order[j];
      this.order[j] = t;
    }
    this.cursor = 0;
  }
}

class StreamBatcher implements ActivationBatcher {
  private pending: Float32Array[] = [];
  private pendingRows = 0;
  private exhausted = false;
  private chunkIndex = 0;

  constructor(private readonly source: Iterator<Float32Array>, private readonly dIn: number, private readonly batchSize: number) {}

  peek(rows: number): Float32Array {
    this.fill(rows);
    return concatRows(this.pending, Math.min(rows, this.pendingRows) * this.dIn);
  }

  next(): Float32Array | null {
    this.fill(this.batchSize);
    if (this.pendingRows === 0) return null;
    const rows = Math.min(this.batchSize, this.pendingRows);
    const out = concatRows(this.pending, rows * this.dIn);
    // Drop what was taken, keeping the rest of a partly used chunk.
    let toDrop = rows * this.dIn;
    while (toDrop > 0) {
      const head = this.pending[0];
      if (head.length <= toDrop) {
        toDrop -= head.length;
        this.pending.shift();
      } else {
        this.pending[0] = head.subarray(toDrop);
        toDrop = 0;
      }
    }
    this.pendingRows -= rows;
    return out;
  }

  private fill(rows: number): void {
    while (!this.exhausted && this.pendingRows < rows) {
      const step = this.source.next();
      if (step.done === true) {
        this.exhausted = true;
        break;
      }
      const chunk = step.value;
      if (!(chunk instanceof Float32Array) || chunk.length % this.dIn !== 0) {
        throw new RangeError(`activation chunk ${this.chunkIndex} must be a Float32Array of whole rows (a multiple of dIn = ${this.dIn} values), got ${chunk instanceof Float32Array ? `${chunk.length} values` : typeof chunk}`);
      }
      this.chunkIndex++;
      if (chunk.length === 0) continue;
      this.pending.push(chunk);
      this.pendingRows += chunk.length / this.dIn;
    }
  }
}

function concatRows(chunks: readonly Float32Array[], values: number): Float32Array {
  const out = new Float32Array(values);
  let at = 0;
  for (const chunk of chunks) {
    if (at >= values) break;
    const take = Math.min(chunk.length, values - at);
    out.set(chunk.subarray(0, take), at);
    at += take;
  }
  return out;
}
