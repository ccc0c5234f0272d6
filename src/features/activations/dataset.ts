import { join } from 'node:path';
import { SafetensorsFile } from '../../io/safetensors.js';
import type { Random } from '../../tensor/index.js';
import { type ActivationManifest, readManifest } from './manifest.js';
import { POSITIONS, TEXT_OFFSETS, TOKEN_IDS } from './pendingShard.js';

// Read side of an activation dataset: the rows of one shard at a time, the token
// and (text, position) of every row, and batches for training (an SAE, a probe).
// Rows are numbered globally in shard order; nothing is loaded until asked for.

/** Per row of a shard: the token, the text it came from (absolute index), and its position in that text. */
export interface ShardRowInfo {
  tokenIds: Int32Array;
  texts: Int32Array;
  positions: Int32Array;
}

export interface TokenWindow {
  /** Tokens around the row, in order; tokens[focus] is the row's own token. */
  tokens: number[];
  focus: number;
  text: number;
  position: number;
}

const ROW_INFO_CACHE = 4;

export class ActivationDataset {
  private readonly shardStarts: number[];
  private readonly rowInfoCache = new Map<number, ShardRowInfo>();

  private constructor(readonly dir: string, readonly manifest: ActivationManifest) {
    this.shardStarts = [];
    let start = 0;
    for (const shard of manifest.shards) {
      this.shardStarts.push(start);
      start += shard.rows;
    }
  }

  /** Opens a dataset directory; a partial (interrupted) build opens too, with complete === false. */
  static open(dir: string): ActivationDataset {
    return new ActivationDataset(dir, readManifest(dir));
  }

  get rows(): number { return this.manifest.rows; }
  get d(): number { return this.manifest.d; }
  get points(): readonly string[] { return this.manifest.points; }
  get shardCount(): number { return this.manifest.shards.length; }
  get complete(): boolean { return this.manifest.complete; }

  shardRows(shard: number): number {
    return this.shardEntry(shard).rows;
  }

  /** Global row number of a shard's first row. */
  shardStart(shard: number): number {
    this.shardEntry(shard);
    return this.shardStarts[shard];
  }

  /** The activations of one point in one shard, [rows, d] row-major, as float32. */
  readShard(shard: number, point: string): Float32Array {
    if (!this.manifest.points.includes(point)) {
      throw new RangeError(`ActivationDataset ${this.dir}: point "${point}" is not stored; it has ${this.manifest.points.join(', ')}`);
    }
    return this.withShard(shard, (file) => file.readFloat32(point));
  }

  rowInfo(shard: number): ShardRowInfo {
    const cached = this.rowInfoCache.get(shard);
    if (cached !== undefined) return cached;
    const firstText = this.shardEntry(shard).firstText;
    const info = this.withShard(shard, (file) => ({
      tokenIds: Int32Array.from(file.readFloat32(TOKEN_IDS)),
      texts: Int32Array.from(file.readFloat32(TEXT_OFFSETS), (offset) => offset + firstText),
      positions: Int32Array.from(file.readFloat32(POSITIONS)),
    }));
    if (this.rowInfoCache.size >= ROW_INFO_CACHE) this.rowInfoCache.delete(this.rowInfoCache.keys().next().value!);
    this.rowInfoCache.set(shard, info);
    return info;
  }

  /** The shard holding a global row, and the row's index inside it. */
  locate(row: number): { shard: number; index: number } {
    if (!Number.isSafeInteger(row) || row < 0 || row >= this.rows) {
      throw new RangeError(`ActivationDataset ${this.dir}: row ${row} is outside [0, ${this.rows})`);
    }
    let low = 0;
    let high = this.shardStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.shardStarts[mid] <= row) low = mid;
      else high = mid - 1;
    }
    return { shard: low, index: row - this.shardStarts[low] };
  }

  /** Token, text and position of one global row. */
  rowContext(row: number): { tokenId: number; text: number; position: number } {
    const { shard, index } = this.locate(row);
    const info = this.rowInfo(shard);
    return { tokenId: info.tokenIds[index], text: info.texts[index], position: info.positions[index] };
  }

  /**
   * Up to `before` tokens before the row and `after` tokens after it, from the
   * same text. A text's rows are consecutive, so the window is read from the
   * neighbouring rows (crossing shard boundaries when needed).
   */
  tokenWindow(row: number, before: number, after: number): TokenWindow {
    const center = this.rowContext(row);
    const tokens = [center.tokenId];
    let focus = 0;
    for (let r = row - 1; r >= 0 && row - r <= before; r--) {
      const c = this.rowContext(r);
      if (c.text !== center.text || c.position !== center.position - (row - r)) break;
      tokens.unshift(c.tokenId);
      focus++;
    }
    for (let r = row + 1; r < this.rows && r - row <= after; r++) {
      const c = this.rowContext(r);
      if (c.text !== center.text || c.position !== center.position + (r - row)) break;
      tokens.push(c.tokenId);
    }
    return { tokens, focus, text: center.text, position: center.position };
  }

  /**
   * Batches of `batchSize` rows of one point (the last may be smaller). Without
   * rng, rows come in dataset order. With rng, shards are visited in a random
   * order and rows are shuffled within each shard (rows left over from one shard
   * are carried into the next batch): a shard-local shuffle that keeps memory at
   * one shard. Each call starts a new pass. A batch is [rows, d] row-major
   * (rows = length / d), the row chunks an SAE trainer's stream input takes.
   */
  *batches(point: string, batchSize: number, rng?: Random): Generator<Float32Array> {
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`ActivationDataset.batches: batchSize must be a positive integer, got ${batchSize}`);
    const d = this.d;
    const order = this.manifest.shards.map((_, i) => i);
    if (rng !== undefined) shuffle(order, rng);
    let out = new Float32Array(batchSize * d);
    let filled = 0;
    for (const shard of order) {
      const data = this.readShard(shard, point);
      const n = data.length / d;
      const rowOrder = Int32Array.from({ length: n }, (_, i) => i);
      if (rng !== undefined) shuffle(rowOrder, rng);
      for (const r of rowOrder) {
        out.set(data.subarray(r * d, (r + 1) * d), filled * d);
        if (++filled === batchSize) {
          yield out;
          out = new Float32Array(batchSize * d);
          filled = 0;
        }
      }
    }
    if (filled > 0) yield out.slice(0, filled * d);
  }

  private shardEntry(shard: number) {
    const entry = this.manifest.shards[shard];
    if (!Number.isInteger(shard) || entry === undefined) {
      throw new RangeError(`ActivationDataset ${this.dir}: shard ${shard} does not exist; it has shards 0..${this.shardCount - 1}`);
    }
    return entry;
  }

  private withShard<T>(shard: number, read: (file: SafetensorsFile) => T): T {
    const file = SafetensorsFile.open(join(this.dir, this.shardEntry(shard).file));
    try {
      return read(file);
    } finally {
      file.close();
    }
  }
}

/** Fisher–Yates, driven by the seeded generator. */
function shuffle(values: { length: number; [i: number]: number }, rng: Random): void {
  for (let i = values.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = values[i];
    values[i] = values[j];
    values[j] = t;
  }
}
