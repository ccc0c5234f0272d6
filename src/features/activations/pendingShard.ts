import { type FloatDtype, type TensorToWrite, writeSafetensors } from '../../io/safetensors.js';

// The rows of the shard being filled. Buffers are allocated once at full shard
// size and reused, which is what bounds a build's memory to one shard whatever
// the corpus size.
//
// Shard layout (safetensors):
//   "<point>"       [rows, d]  activations, one tensor per hook point (F32, F16 or BF16)
//   "token_ids"     [rows]     F32: the token at each row
//   "text_offsets"  [rows]     F32: text index minus the shard's firstText
//   "positions"     [rows]     F32: position of the token in its text (0 = first token)
// Integers are stored as F32 because that is what our safetensors writer writes;
// F32 holds integers exactly below 2^24, so token ids and positions are checked
// against that bound and text indices are stored relative to the shard's first
// text (firstText, in the metadata and the manifest), which keeps them small for
// a corpus of any length.

export const TOKEN_IDS = 'token_ids';
export const TEXT_OFFSETS = 'text_offsets';
export const POSITIONS = 'positions';
const EXACT_F32_INTEGERS = 2 ** 24;

export class PendingShard {
  private readonly activations: Map<string, Float32Array>;
  private readonly tokenIds: Float32Array;
  private readonly textOffsets: Float32Array;
  private readonly positions: Float32Array;
  private firstText = 0;
  rows = 0;
  lastText = 0;
  lastPosition = 0;

  constructor(readonly points: readonly string[], readonly d: number, readonly capacity: number) {
    this.activations = new Map(points.map((p) => [p, new Float32Array(capacity * d)]));
    this.tokenIds = new Float32Array(capacity);
    this.textOffsets = new Float32Array(capacity);
    this.positions = new Float32Array(capacity);
  }

  get full(): boolean {
    return this.rows === this.capacity;
  }

  /** Appends row `sourceRow` of every point's captured rows. */
  append(captured: ReadonlyMap<string, Float32Array>, sourceRow: number, tokenId: number, text: number, position: number): void {
    if (this.full) throw new Error(`PendingShard: already holds its ${this.capacity} rows; write it before appending`);
    if (tokenId >= EXACT_F32_INTEGERS || position >= EXACT_F32_INTEGERS) {
      throw new RangeError(`activation dataset: token id ${tokenId} / position ${position} is >= 2^24 and cannot be stored exactly as F32`);
    }
    if (this.rows === 0) this.firstText = text;
    const d = this.d;
    for (const [point, buffer] of this.activations) {
      buffer.set(captured.get(point)!.subarray(sourceRow * d, (sourceRow + 1) * d), this.rows * d);
    }
    this.tokenIds[this.rows] = tokenId;
    this.textOffsets[this.rows] = text - this.firstText;
    this.positions[this.rows] = position;
    this.lastText = text;
    this.lastPosition = position;
    this.rows++;
  }

  /** Writes the rows held so far (atomically) and empties the shard; returns firstText and rows. */
  write(path: string, dtype: FloatDtype): { rows: number; firstText: number } {
    const n = this.rows;
    const tensors: TensorToWrite[] = this.points.map((point) => ({
      name: point, shape: [n, this.d], data: this.activations.get(point)!.subarray(0, n * this.d), dtype,
    }));
    tensors.push(
      { name: TOKEN_IDS, shape: [n], data: this.tokenIds.subarray(0, n) },
      { name: TEXT_OFFSETS, shape: [n], data: this.textOffsets.subarray(0, n) },
      { name: POSITIONS, shape: [n], data: this.positions.subarray(0, n) },
    );
    writeSafetensors(path, tensors, { format: 'imprint-activations', firstText: String(this.firstText), points: this.points.join(',') });
    const written = { rows: n, firstText: this.firstText };
    this.rows = 0;
    return written;
  }
}
