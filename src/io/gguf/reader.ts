// Reads the header of a GGUF file (v2 or v3) without loading tensor data, and
// single F32/F16 tensors on demand. Every count and length read from the file is
// checked against the bytes that remain before it is trusted, so a truncated or
// corrupted file gives a CheckpointFormatError naming the file and the field,
// never a huge allocation or an exception from deep inside Node.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { CheckpointFormatError } from '../errors.js';
import { float16ToFloat32 } from '../floatFormats.js';
import { GGML_TYPE_BYTES, GGUF_ALIGNMENT_KEY, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_MAX_DIMS, GgmlType, GgufValueType } from './format.js';

export interface GgufTensorInfo {
  name: string;
  /** GGUF order: dims[0] is the innermost (contiguous) dimension. */
  dims: number[];
  /** ggml type number (0 F32, 1 F16, others are quantised formats we only list). */
  type: number;
  /** Absolute byte offset of the tensor data in the file. */
  offset: number;
}

export interface GgufInfo {
  version: number;
  /** Scalars as numbers/booleans/strings, uint64/int64 as bigint, arrays as JS arrays. */
  metadata: Map<string, unknown>;
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Absolute offset where the tensor data section starts. */
  dataOffset: number;
}

export function readGgufInfo(path: string): GgufInfo {
  const fd = openFile(path);
  try {
    return parseHeader(new FileCursor(fd, path, fstatSync(fd).size));
  } finally {
    closeSync(fd);
  }
}

export function readGgufTensorFloat32(path: string, info: GgufInfo, name: string): Float32Array {
  const tensor = info.tensors.find((t) => t.name === name);
  if (tensor === undefined) {
    const available = info.tensors.slice(0, 8).map((t) => t.name).join(', ');
    throw new CheckpointFormatError(path, `no tensor "${name}" (file has ${info.tensors.length}: ${available}${info.tensors.length > 8 ? ', ...' : ''})`);
  }
  if (tensor.type !== GgmlType.F32 && tensor.type !== GgmlType.F16) {
    throw new CheckpointFormatError(path, `tensor "${name}" has ggml type ${tensor.type}; only F32 (0) and F16 (1) can be read as float32`);
  }
  const count = tensor.dims.reduce((a, b) => a * b, 1);
  const bytes = new Uint8Array(count * GGML_TYPE_BYTES[tensor.type]);
  const fd = openFile(path);
  try {
    let done = 0;
    while (done < bytes.length) {
      const n = readSync(fd, bytes, done, bytes.length - done, tensor.offset + done);
      if (n === 0) throw new CheckpointFormatError(path, `tensor "${name}": file ends before its ${bytes.length} bytes at offset ${tensor.offset}`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  if (tensor.type === GgmlType.F32) return new Float32Array(bytes.buffer);
  return float16ToFloat32(new Uint16Array(bytes.buffer));
}

function openFile(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (error) {
    throw new CheckpointFormatError(path, `cannot open GGUF file: ${(error as Error).message}`);
  }
}

function parseHeader(cursor: FileCursor): GgufInfo {
  const { path } = cursor;
  if (cursor.fileSize < 24) throw new CheckpointFormatError(path, `not a GGUF file: ${cursor.fileSize} bytes is shorter than the 24-byte header`);
  const magic = cursor.u32('magic');
  if (magic !== GGUF_MAGIC) throw new CheckpointFormatError(path, `not a GGUF file: magic is 0x${magic.toString(16).padStart(8, '0')}, expected 0x${GGUF_MAGIC.toString(16)} ("GGUF")`);
  const version = cursor.u32('version');
  if (version !== 2 && version !== 3) {
    throw new CheckpointFormatError(path, `unsupported GGUF version ${version} (expected 2 or 3; big-endian files are not supported)`);
  }
  // Smallest possible encodings bound the counts: a tensor info is at least 24
  // bytes (name length, dim count, type, offset), a key/value pair at least 13.
  const tensorCount = cursor.count('tensor count', 24);
  const kvCount = cursor.count('metadata count', 13);

  const metadata = new Map<string, unknown>();
  const metadataTypes = new Map<string, number>();
  for (let i = 0; i < kvCount; i++) {
    const key = cursor.string(`key of metadata entry ${i}`);
    if (metadata.has(key)) throw new CheckpointFormatError(path, `metadata key "${key}" appears twice`);
    const type = cursor.u32(`type of metadata "${key}"`);
    metadataTypes.set(key, type);
    metadata.set(key, readValue(cursor, type, `metadata "${key}"`, true));
  }

  const alignment = resolveAlignment(path, metadata, metadataTypes);
  const tensors: GgufTensorInfo[] = [];
  const relativeOffsets: number[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const name = cursor.string(`name of tensor ${i}`);
    if (names.has(name)) throw new CheckpointFormatError(path, `tensor "${name}" appears twice`);
    names.add(name);
    const rank = cursor.u32(`dimension count of tensor "${name}"`);
    if (rank < 1 || rank > GGUF_MAX_DIMS) throw new CheckpointFormatError(path, `tensor "${name}" has ${rank} dimensions, expected 1..${GGUF_MAX_DIMS}`);
    const dims: number[] = [];
    let elements = 1;
    for (let d = 0; d < rank; d++) {
      const dim = cursor.safeInteger(`dimension ${d} of tensor "${name}"`);
      elements *= dim;
      if (!Number.isSafeInteger(elements)) throw new CheckpointFormatError(path, `tensor "${name}" has an impossible element count (dims ${[...dims, dim].join(' x ')})`);
      dims.push(dim);
    }
    const type = cursor.u32(`type of tensor "${name}"`);
    relativeOffsets.push(cursor.safeInteger(`offset of tensor "${name}"`));
    tensors.push({ name, dims, type, offset: 0 });
  }

  const dataOffset = Math.ceil(cursor.position / alignment) * alignment;
  tensors.forEach((tensor, i) => {
    const relative = relativeOffsets[i];
    if (relative % alignment !== 0) {
      throw new CheckpointFormatError(path, `tensor "${tensor.name}": data offset ${relative} is not a multiple of the alignment ${alignment}`);
    }
    tensor.offset = dataOffset + relative;
    const elementBytes = GGML_TYPE_BYTES[tensor.type];
    // Quantised types are listed but not sized: only their start must lie in the file.
    const byteLength = elementBytes === undefined ? 0 : tensor.dims.reduce((a, b) => a * b, 1) * elementBytes;
    if (tensor.offset + byteLength > cursor.fileSize) {
      throw new CheckpointFormatError(path, `tensor "${tensor.name}": data [${tensor.offset}, ${tensor.offset + byteLength}) runs past the end of the file (${cursor.fileSize} bytes); the file is truncated or corrupt`);
    }
  });
  return { version, metadata, tensors, alignment, dataOffset };
}

function resolveAlignment(path: string, metadata: Map<string, unknown>, types: Map<string, number>): number {
  if (!metadata.has(GGUF_ALIGNMENT_KEY)) return GGUF_DEFAULT_ALIGNMENT;
  const value = metadata.get(GGUF_ALIGNMENT_KEY);
  if (types.get(GGUF_ALIGNMENT_KEY) !== GgufValueType.UINT32 || typeof value !== 'number' || value === 0 || (value & (value - 1)) !== 0) {
    throw new CheckpointFormatError(path, `metadata "${GGUF_ALIGNMENT_KEY}" must be a uint32 power of two, got ${String(value)}`);
  }
  return value;
}

const SCALAR_BYTES: Readonly<Record<number, number>> = {
  [GgufValueType.UINT8]: 1, [GgufValueType.INT8]: 1, [GgufValueType.UINT16]: 2, [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4, [GgufValueType.INT32]: 4, [GgufValueType.FLOAT32]: 4, [GgufValueType.BOOL]: 1,
  [GgufValueType.UINT64]: 8, [GgufValueType.INT64]: 8, [GgufValueType.FLOAT64]: 8,
  // A string is at least its 8-byte length.
  [GgufValueType.STRING]: 8,
};

function readValue(cursor: FileCursor, type: number, what: string, arrayAllowed: boolean): unknown {
  switch (type) {
    case GgufValueType.UINT8: return cursor.u8(what);
    case GgufValueType.INT8: return cursor.i8(what);
    case GgufValueType.UINT16: return cursor.u16(what);
    case GgufValueType.INT16: return cursor.i16(what);
    case GgufValueType.UINT32: return cursor.u32(what);
    case GgufValueType.INT32: return cursor.i32(what);
    case GgufValueType.FLOAT32: return cursor.f32(what);
    case GgufValueType.UINT64: return cursor.u64(what);
    case GgufValueType.INT64: return cursor.i64(what);
    case GgufValueType.FLOAT64: return cursor.f64(what);
    case GgufValueType.STRING: return cursor.string(what);
    case GgufValueType.BOOL: {
      const byte = cursor.u8(what);
      if (byte > 1) throw new CheckpointFormatError(cursor.path, `${what}: bool byte is ${byte}, expected 0 or 1`);
      return byte === 1;
    }
    case GgufValueType.ARRAY: {
      if (!arrayAllowed) throw new CheckpointFormatError(cursor.path, `${what}: nested arrays are not supported`);
      const itemType = cursor.u32(`${what} item type`);
      const itemBytes = SCALAR_BYTES[itemType];
      if (itemBytes === undefined) {
        throw new CheckpointFormatError(cursor.path, `${what}: array item type ${itemType} is not a known scalar GGUF type${itemType === GgufValueType.ARRAY ? ' (nested arrays are not supported)' : ''}`);
      }
      const length = cursor.count(`${what} length`, itemBytes);
      const items = new Array<unknown>(length);
      for (let i = 0; i < length; i++) items[i] = readValue(cursor, itemType, what, false);
      return items;
    }
    default:
      throw new CheckpointFormatError(cursor.path, `${what}: unknown value type ${type} (expected 0..12)`);
  }
}

const WINDOW_BYTES = 1 << 20;

/** Sequential little-endian reads over a file through a sliding buffer. */
class FileCursor {
  position = 0;
  private window = new Uint8Array(0);
  private view = new DataView(this.window.buffer);
  private windowStart = 0;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(private readonly fd: number, readonly path: string, readonly fileSize: number) {}

  private take(n: number, what: string): number {
    if (this.position + n > this.fileSize) {
      throw new CheckpointFormatError(this.path, `file ends at byte ${this.fileSize} while reading ${what} (needed ${n} bytes at ${this.position}); the file is truncated or corrupt`);
    }
    if (this.position < this.windowStart || this.position + n > this.windowStart + this.window.length) {
      const size = Math.min(Math.max(n, WINDOW_BYTES), this.fileSize - this.position);
      const buffer = new Uint8Array(size);
      let done = 0;
      while (done < size) {
        const read = readSync(this.fd, buffer, done, size - done, this.position + done);
        if (read === 0) throw new CheckpointFormatError(this.path, `file shrank while reading ${what}`);
        done += read;
      }
      this.window = buffer;
      this.view = new DataView(buffer.buffer);
      this.windowStart = this.position;
    }
    const at = this.position - this.windowStart;
    this.position += n;
    return at;
  }

  // take() may replace the window, so it must run before this.view is read.
  u8(what: string): number { const at = this.take(1, what); return this.view.getUint8(at); }
  i8(what: string): number { const at = this.take(1, what); return this.view.getInt8(at); }
  u16(what: string): number { const at = this.take(2, what); return this.view.getUint16(at, true); }
  i16(what: string): number { const at = this.take(2, what); return this.view.getInt16(at, true); }
  u32(what: string): number { const at = this.take(4, what); return this.view.getUint32(at, true); }
  i32(what: string): number { const at = this.take(4, what); return this.view.getInt32(at, true); }
  u64(what: string): bigint { const at = this.take(8, what); return this.view.getBigUint64(at, true); }
  i64(what: string): bigint { const at = this.take(8, what); return this.view.getBigInt64(at, true); }
  f32(what: string): number { const at = this.take(4, what); return this.view.getFloat32(at, true); }
  f64(what: string): number { const at = this.take(8, what); return this.view.getFloat64(at, true); }

  safeInteger(what: string): number {
    const value = this.u64(what);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new CheckpointFormatError(this.path, `${what} is ${value}, too large to be real`);
    return Number(value);
  }

  /** A uint64 count of items that each take at least minItemBytes, bounded by the bytes left. */
  count(what: string, minItemBytes: number): number {
    const value = this.u64(what);
    const remaining = BigInt(this.fileSize - this.position);
    if (value * BigInt(minItemBytes) > remaining) {
      throw new CheckpointFormatError(this.path, `${what} is ${value}, but only ${remaining} bytes remain (each item takes at least ${minItemBytes}); the file is truncated or corrupt`);
    }
    return Number(value);
  }

  string(what: string): string {
    const length = this.count(`${what} (string length)`, 1);
    const at = this.take(length, what);
    try {
      return this.decoder.decode(this.window.subarray(at, at + length));
    } catch {
      throw new CheckpointFormatError(this.path, `${what} is not valid UTF-8`);
    }
  }
}
