// Reader and writer for the safetensors format: an 8-byte little-endian header
// length N, N bytes of UTF-8 JSON describing each tensor (dtype, shape, byte range
// relative to the end of the header), then the raw little-endian tensor bytes.
// The reader loads only the header when opening and reads each tensor on demand
// with positioned reads, so opening a multi-gigabyte checkpoint costs nothing.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { writeFileAtomic } from './atomicWrite.js';
import { CheckpointFormatError } from './errors.js';
import { bfloat16ToFloat32, float16ToFloat32, float32ToBfloat16, float32ToFloat16 } from './floatFormats.js';

export type FloatDtype = 'F32' | 'F16' | 'BF16';

export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** Absolute position of the tensor's first byte in the file. */
  byteOffset: number;
  byteLength: number;
}

export interface TensorToWrite {
  name: string;
  shape: readonly number[];
  data: Float32Array;
  /** Stored format; F32 when absent. */
  dtype?: FloatDtype;
}

const BYTES_PER_ELEMENT: ReadonlyMap<string, number> = new Map([
  ['F64', 8], ['F32', 4], ['F16', 2], ['BF16', 2],
  ['I64', 8], ['I32', 4], ['I16', 2], ['I8', 1],
  ['U64', 8], ['U32', 4], ['U16', 2], ['U8', 1],
  ['BOOL', 1], ['F8_E4M3', 1], ['F8_E5M2', 1],
]);

const HEADER_LENGTH_BYTES = 8;
// A header describes tensors, not data; anything this large is a corrupt length
// field, and trusting it would allocate that much memory before failing.
const MAX_HEADER_BYTES = 100 * 1024 * 1024;
const METADATA_KEY = '__metadata__';
const HOST_IS_LITTLE_ENDIAN = endianness() === 'LE';

export class SafetensorsFile {
  private fd: number | undefined;

  private constructor(
    readonly path: string,
    fd: number,
    readonly metadata: Record<string, string>,
    readonly entries: ReadonlyMap<string, SafetensorsEntry>,
  ) {
    this.fd = fd;
  }

  static open(path: string): SafetensorsFile {
    const fd = openSync(path, 'r');
    try {
      const { metadata, entries } = readHeader(path, fd);
      return new SafetensorsFile(path, fd, metadata, entries);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  readBytes(name: string): Uint8Array {
    const entry = this.entry(name);
    const fd = this.openFd(name);
    const bytes = new Uint8Array(entry.byteLength);
    let filled = 0;
    while (filled < bytes.byteLength) {
      const got = readSync(fd, bytes, filled, bytes.byteLength - filled, entry.byteOffset + filled);
      if (got === 0) {
        throw new CheckpointFormatError(this.path,
          `tensor '${name}': expected ${entry.byteLength} bytes at offset ${entry.byteOffset} but the file ends after ${filled} of them (was it truncated after it was opened?)`);
      }
      filled += got;
    }
    return bytes;
  }

  readFloat32(name: string): Float32Array {
    const entry = this.entry(name);
    if (entry.dtype !== 'F32' && entry.dtype !== 'F16' && entry.dtype !== 'BF16' && entry.dtype !== 'F64') {
      throw new CheckpointFormatError(this.path, `tensor '${name}' has dtype ${entry.dtype}; only F32, F16, BF16 and F64 can be read as float32`);
    }
    if (!HOST_IS_LITTLE_ENDIAN) {
      throw new CheckpointFormatError(this.path, `tensor '${name}': reading little-endian tensor data on a big-endian host is not supported`);
    }
    // A fresh buffer starts at offset 0, so typed-array views over it are aligned.
    const bytes = this.readBytes(name);
    switch (entry.dtype) {
      case 'F32': return new Float32Array(bytes.buffer, 0, bytes.byteLength / 4);
      case 'F16': return float16ToFloat32(new Uint16Array(bytes.buffer, 0, bytes.byteLength / 2));
      case 'BF16': return bfloat16ToFloat32(new Uint16Array(bytes.buffer, 0, bytes.byteLength / 2));
      default: return Float32Array.from(new Float64Array(bytes.buffer, 0, bytes.byteLength / 8));
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    closeSync(fd);
  }

  private entry(name: string): SafetensorsEntry {
    const entry = this.entries.get(name);
    if (entry === undefined) {
      throw new CheckpointFormatError(this.path, `no tensor named '${name}'; ${describeAvailable([...this.entries.keys()])}`);
    }
    return entry;
  }

  private openFd(name: string): number {
    if (this.fd === undefined) throw new CheckpointFormatError(this.path, `cannot read tensor '${name}': the file was closed`);
    return this.fd;
  }
}

/** "it has 3 tensors: a, b, c" with the list cut short, for unknown-name errors. */
export function describeAvailable(names: readonly string[], shown = 5): string {
  if (names.length === 0) return 'it has no tensors';
  const listed = names.slice(0, shown).map((n) => `'${n}'`).join(', ');
  return `it has ${names.length} tensor${names.length === 1 ? '' : 's'}: ${listed}${names.length > shown ? ', ...' : ''}`;
}

function readHeader(path: string, fd: number): { metadata: Record<string, string>; entries: Map<string, SafetensorsEntry> } {
  const fail = (detail: string): never => { throw new CheckpointFormatError(path, detail); };
  const fileSize = fstatSync(fd).size;
  if (fileSize < HEADER_LENGTH_BYTES) {
    fail(`file is ${fileSize} bytes, shorter than the 8-byte header length that starts a safetensors file`);
  }
  const prefix = Buffer.alloc(HEADER_LENGTH_BYTES);
  readExactly(path, fd, prefix, 0, 'header length');
  const declared = prefix.readBigUInt64LE(0);
  if (declared === 0n) fail('header length is 0; expected a JSON header');
  if (declared > BigInt(MAX_HEADER_BYTES)) fail(`header length ${declared} is larger than the ${MAX_HEADER_BYTES}-byte limit; the file is corrupt or not safetensors`);
  const headerLength = Number(declared);
  if (headerLength > fileSize - HEADER_LENGTH_BYTES) {
    fail(`header length ${headerLength} runs past the end of the file (${fileSize} bytes); the file is truncated or not safetensors`);
  }
  const headerBytes = Buffer.alloc(headerLength);
  readExactly(path, fd, headerBytes, HEADER_LENGTH_BYTES, 'header');

  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    fail('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    fail(`header is not valid JSON (${(error as Error).message})`);
  }
  if (!isPlainObject(header)) fail('header JSON is not an object mapping tensor names to entries');
  const fields = header as Record<string, unknown>;

  const metadata = parseMetadata(fields[METADATA_KEY], fail);
  const dataStart = HEADER_LENGTH_BYTES + headerLength;
  const entries = new Map<string, SafetensorsEntry>();
  for (const [name, raw] of Object.entries(fields)) {
    if (name === METADATA_KEY) continue;
    const entry = parseEntry(name, raw, dataStart, fail);
    if (entry.byteOffset + entry.byteLength > fileSize) {
      fail(`tensor '${name}' ends at byte ${entry.byteOffset + entry.byteLength} but the file has only ${fileSize} bytes; the file is truncated`);
    }
    entries.set(name, entry);
  }
  checkNoOverlap([...entries.values()], fail);
  return { metadata, entries };
}

function parseMetadata(raw: unknown, fail: (detail: string) => never): Record<string, string> {
  if (raw === undefined) return {};
  if (!isPlainObject(raw)) fail(`${METADATA_KEY} must be an object of string values`);
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof value !== 'string') fail(`${METADATA_KEY}.${key} must be a string, got ${describeJson(value)}`);
    // defineProperty, not assignment, so that a key named __proto__ is kept as data.
    Object.defineProperty(metadata, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return metadata;
}

function parseEntry(name: string, raw: unknown, dataStart: number, fail: (detail: string) => never): SafetensorsEntry {
  if (!isPlainObject(raw)) fail(`tensor '${name}': entry must be an object with dtype, shape and data_offsets, got ${describeJson(raw)}`);
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== 'string') fail(`tensor '${name}': dtype must be a string, got ${describeJson(dtype)}`);
  const elementSize = BYTES_PER_ELEMENT.get(dtype as string);
  if (elementSize === undefined) {
    fail(`tensor '${name}': unknown dtype '${dtype}'; expected one of ${[...BYTES_PER_ELEMENT.keys()].join(', ')}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`tensor '${name}': shape must be an array of non-negative integers, got ${describeJson(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
    fail(`tensor '${name}': data_offsets must be [begin, end] with 0 <= begin <= end, got ${describeJson(offsets)}`);
  }
  const dims = shape as number[];
  const [begin, end] = offsets as [number, number];
  let elements = 1;
  for (const d of dims) elements *= d;
  const expectedBytes = elements * (elementSize as number);
  if (!Number.isSafeInteger(expectedBytes)) fail(`tensor '${name}': shape ${describeJson(dims)} is too large`);
  if (end - begin !== expectedBytes) {
    fail(`tensor '${name}': data_offsets [${begin}, ${end}] span ${end - begin} bytes but shape ${describeJson(dims)} of ${dtype} needs ${expectedBytes}`);
  }
  return { name, dtype: dtype as string, shape: [...dims], byteOffset: dataStart + begin, byteLength: end - begin };
}

function checkNoOverlap(entries: SafetensorsEntry[], fail: (detail: string) => never): void {
  // Empty tensors occupy no bytes, so they cannot overlap anything.
  const occupied = entries.filter((e) => e.byteLength > 0).sort((a, b) => a.byteOffset - b.byteOffset);
  for (let i = 1; i < occupied.length; i++) {
    const previous = occupied[i - 1];
    const current = occupied[i];
    if (current.byteOffset < previous.byteOffset + previous.byteLength) {
      fail(`tensors '${previous.name}' and '${current.name}' overlap: their data_offsets share bytes`);
    }
  }
}

function readExactly(path: string, fd: number, into: Uint8Array, position: number, what: string): void {
  let filled = 0;
  while (filled < into.byteLength) {
    const got = readSync(fd, into, filled, into.byteLength - filled, position + filled);
    if (got === 0) throw new CheckpointFormatError(path, `file ended while reading the ${what} (${filled} of ${into.byteLength} bytes)`);
    filled += got;
  }
}

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeJson(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

// ---- writing ----

/**
 * The file's bytes as chunks, in the order given. F32 chunks are views of the
 * callers' arrays (no copy), so write them before changing the data.
 */
export function encodeSafetensors(tensors: TensorToWrite[], metadata?: Record<string, string>): Uint8Array[] {
  if (!HOST_IS_LITTLE_ENDIAN) throw new Error('encodeSafetensors: writing on a big-endian host is not supported');
  // No prototype, so that a tensor named __proto__ becomes a key like any other.
  const header: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  if (metadata !== undefined && Object.keys(metadata).length > 0) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') throw new CheckpointFormatError('safetensors metadata', `value of '${key}' must be a string, got ${typeof value}`);
    }
    header[METADATA_KEY] = { ...metadata };
  }
  const seen = new Set<string>();
  const dataChunks: Uint8Array[] = [];
  let offset = 0;
  for (const tensor of tensors) {
    checkTensorToWrite(tensor, seen);
    const dtype = tensor.dtype ?? 'F32';
    const bytes = encodeData(tensor.data, dtype);
    header[tensor.name] = { dtype, shape: [...tensor.shape], data_offsets: [offset, offset + bytes.byteLength] };
    offset += bytes.byteLength;
    dataChunks.push(bytes);
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  // Padding with spaces (valid JSON whitespace) to a multiple of 8 puts the data
  // region on an 8-byte boundary, as Hugging Face's writer does.
  const paddedLength = Math.ceil(json.byteLength / 8) * 8;
  const head = new Uint8Array(HEADER_LENGTH_BYTES + paddedLength).fill(0x20, HEADER_LENGTH_BYTES);
  new DataView(head.buffer).setBigUint64(0, BigInt(paddedLength), true);
  head.set(json, HEADER_LENGTH_BYTES);
  return [head, ...dataChunks];
}

export function writeSafetensors(path: string, tensors: TensorToWrite[], metadata?: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** Bytes a tensor occupies once stored in the given format. */
export function storedByteLength(tensor: TensorToWrite): number {
  return tensor.data.length * (BYTES_PER_ELEMENT.get(tensor.dtype ?? 'F32') as number);
}

/** Throws the error the writer would, without encoding anything. */
export function validateTensorsToWrite(tensors: readonly TensorToWrite[]): void {
  const seen = new Set<string>();
  for (const tensor of tensors) checkTensorToWrite(tensor, seen);
}

function checkTensorToWrite(tensor: TensorToWrite, seen: Set<string>): void {
  const where = 'safetensors writer';
  const { name, shape, data } = tensor;
  if (typeof name !== 'string' || name.length === 0) throw new CheckpointFormatError(where, 'tensor names must be non-empty strings');
  if (name === METADATA_KEY) throw new CheckpointFormatError(where, `'${METADATA_KEY}' is reserved and cannot name a tensor`);
  if (seen.has(name)) throw new CheckpointFormatError(where, `tensor '${name}' appears twice; names must be unique`);
  seen.add(name);
  const dtype = tensor.dtype ?? 'F32';
  if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16') {
    throw new CheckpointFormatError(where, `tensor '${name}': dtype ${String(dtype)} cannot be written; expected F32, F16 or BF16`);
  }
  if (!(data instanceof Float32Array)) throw new CheckpointFormatError(where, `tensor '${name}': data must be a Float32Array`);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new CheckpointFormatError(where, `tensor '${name}': shape [${shape.join(', ')}] must hold non-negative integers`);
  }
  const elements = shape.reduce((product, d) => product * d, 1);
  if (elements !== data.length) {
    throw new CheckpointFormatError(where, `tensor '${name}': shape [${shape.join(', ')}] holds ${elements} values but data has ${data.length}`);
  }
}

function encodeData(data: Float32Array, dtype: FloatDtype): Uint8Array {
  switch (dtype) {
    case 'F32': return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    case 'F16': { const half = float32ToFloat16(data); return new Uint8Array(half.buffer, half.byteOffset, half.byteLength); }
    case 'BF16': { const half = float32ToBfloat16(data); return new Uint8Array(half.buffer, half.byteOffset, half.byteLength); }
  }
}
