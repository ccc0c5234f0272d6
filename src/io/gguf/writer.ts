// Writes a GGUF v3 file: header, typed metadata, tensor infos, then each tensor's
// bytes at an aligned offset. llama.cpp checks that every tensor starts exactly at
// the padded end of the previous one, so tensors are laid out back to back in the
// order given, each padded to the alignment (the last one too: ggml reads the data
// blob as a whole, padded size included).

import { endianness } from 'node:os';
import { writeFileAtomic } from '../atomicWrite.js';
import { CheckpointFormatError } from '../errors.js';
import { float32ToFloat16 } from '../floatFormats.js';
import {
  GGML_TYPE_BYTES, GGUF_ALIGNMENT_KEY, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_MAX_DIMS, GGUF_MAX_TENSOR_NAME_BYTES,
  GGUF_SCALAR_TYPES, GGUF_VERSION, GgmlType, GgufValueType,
  type GgmlTypeName, type GgufMetadataValue, type GgufScalarTypeName,
} from './format.js';

export type { GgufMetadataValue } from './format.js';

export interface GgufTensorToWrite {
  name: string;
  /** Row-major, outermost first (e.g. a Hugging Face linear weight is [out, in]); GGUF stores it reversed. */
  shape: readonly number[];
  data: Float32Array;
  type: GgmlTypeName;
}

export interface GgufWriteOptions {
  /** Byte alignment of tensor data; a power of two, at least 8. Default 32. */
  alignment?: number;
}

const utf8 = new TextEncoder();

export function writeGguf(
  path: string,
  metadata: Array<[string, GgufMetadataValue]>,
  tensors: GgufTensorToWrite[],
  options: GgufWriteOptions = {},
): void {
  // Typed-array views are written as they sit in memory; GGUF is little-endian.
  if (endianness() !== 'LE') throw new CheckpointFormatError(path, 'writing GGUF needs a little-endian host');
  const alignment = options.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment < 8 || (alignment & (alignment - 1)) !== 0) {
    throw new CheckpointFormatError(path, `alignment must be a power of two >= 8, got ${alignment}`);
  }
  const entries = withAlignmentKey(path, metadata, alignment);
  const layout = layoutTensors(path, tensors, alignment);

  const header = new ByteSink();
  header.u32(GGUF_MAGIC);
  header.u32(GGUF_VERSION);
  header.u64(BigInt(tensors.length));
  header.u64(BigInt(entries.length));
  for (const [key, value] of entries) writeEntry(header, path, key, value);
  for (const tensor of layout) {
    header.string(tensor.name);
    header.u32(tensor.dims.length);
    for (const dim of tensor.dims) header.u64(BigInt(dim));
    header.u32(GgmlType[tensor.type]);
    header.u64(BigInt(tensor.relativeOffset));
  }
  header.padTo(alignment);

  const chunks: Uint8Array[] = [header.bytes()];
  for (const tensor of layout) {
    const bytes = tensorBytes(tensor.data, tensor.type);
    chunks.push(bytes);
    const padding = tensor.paddedBytes - bytes.byteLength;
    if (padding > 0) chunks.push(new Uint8Array(padding));
  }
  writeFileAtomic(path, chunks);
}

interface LaidOutTensor extends GgufTensorToWrite {
  dims: number[];
  relativeOffset: number;
  paddedBytes: number;
}

function layoutTensors(path: string, tensors: GgufTensorToWrite[], alignment: number): LaidOutTensor[] {
  const seen = new Set<string>();
  let offset = 0;
  return tensors.map((tensor) => {
    const { name, shape, data, type } = tensor;
    if (typeof name !== 'string' || name.length === 0) throw new CheckpointFormatError(path, 'a tensor has an empty name');
    if (utf8.encode(name).length > GGUF_MAX_TENSOR_NAME_BYTES) {
      throw new CheckpointFormatError(path, `tensor "${name}": name is longer than ${GGUF_MAX_TENSOR_NAME_BYTES} bytes, which llama.cpp cannot load`);
    }
    if (seen.has(name)) throw new CheckpointFormatError(path, `tensor "${name}" appears twice`);
    seen.add(name);
    if (!Object.hasOwn(GgmlType, type)) throw new CheckpointFormatError(path, `tensor "${name}": type must be F32 or F16, got ${String(type)}`);
    if (shape.length < 1 || shape.length > GGUF_MAX_DIMS || !shape.every((d) => Number.isSafeInteger(d) && d >= 1)) {
      throw new CheckpointFormatError(path, `tensor "${name}": shape must have 1..${GGUF_MAX_DIMS} positive integer dims, got [${shape.join(', ')}]`);
    }
    const elements = shape.reduce((a, b) => a * b, 1);
    if (!(data instanceof Float32Array) || data.length !== elements) {
      throw new CheckpointFormatError(path, `tensor "${name}": shape [${shape.join(', ')}] needs ${elements} float32 values, got ${data?.length}`);
    }
    const byteLength = elements * GGML_TYPE_BYTES[GgmlType[type]];
    const paddedBytes = alignUp(byteLength, alignment);
    const laidOut = { ...tensor, dims: [...shape].reverse(), relativeOffset: offset, paddedBytes };
    offset += paddedBytes;
    return laidOut;
  });
}

function withAlignmentKey(path: string, metadata: Array<[string, GgufMetadataValue]>, alignment: number): Array<[string, GgufMetadataValue]> {
  const keys = new Set<string>();
  for (const [key, value] of metadata) {
    if (keys.has(key)) throw new CheckpointFormatError(path, `metadata key "${key}" appears twice`);
    keys.add(key);
    if (key === GGUF_ALIGNMENT_KEY && !(value.type === 'uint32' && value.value === alignment)) {
      throw new CheckpointFormatError(path, `metadata "${GGUF_ALIGNMENT_KEY}" must be uint32 ${alignment} to match the alignment option, got ${value.type} ${String(value.value)}`);
    }
  }
  if (alignment === GGUF_DEFAULT_ALIGNMENT || keys.has(GGUF_ALIGNMENT_KEY)) return metadata;
  return [...metadata, [GGUF_ALIGNMENT_KEY, { type: 'uint32', value: alignment }]];
}

function writeEntry(sink: ByteSink, path: string, key: string, entry: GgufMetadataValue): void {
  if (typeof key !== 'string' || key.length === 0) throw new CheckpointFormatError(path, 'a metadata key is empty');
  sink.string(key);
  if (entry.type === 'array') {
    const itemType = GGUF_SCALAR_TYPES[entry.itemType];
    if (itemType === undefined || !Array.isArray(entry.value)) {
      throw new CheckpointFormatError(path, `metadata "${key}": array needs a scalar itemType and an array value, got itemType ${String(entry.itemType)}`);
    }
    sink.u32(GgufValueType.ARRAY);
    sink.u32(itemType);
    sink.u64(BigInt(entry.value.length));
    entry.value.forEach((item, index) => writeScalar(sink, entry.itemType, item, () => `metadata "${key}"[${index}]`, path));
    return;
  }
  const valueType = GGUF_SCALAR_TYPES[entry.type];
  if (valueType === undefined) throw new CheckpointFormatError(path, `metadata "${key}": unknown value type ${String(entry.type)}`);
  sink.u32(valueType);
  writeScalar(sink, entry.type, entry.value, () => `metadata "${key}"`, path);
}

const INTEGER_RANGES: Partial<Record<GgufScalarTypeName, [bigint, bigint]>> = {
  uint8: [0n, 0xffn],
  int8: [-0x80n, 0x7fn],
  uint16: [0n, 0xffffn],
  int16: [-0x8000n, 0x7fffn],
  uint32: [0n, 0xffffffffn],
  int32: [-0x80000000n, 0x7fffffffn],
  uint64: [0n, 0xffffffffffffffffn],
  int64: [-0x8000000000000000n, 0x7fffffffffffffffn],
};

function writeScalar(sink: ByteSink, type: GgufScalarTypeName, value: unknown, where: () => string, path: string): void {
  const bad = (expected: string): never => {
    throw new CheckpointFormatError(path, `${where()}: expected ${expected} for ${type}, got ${typeof value} ${String(value)}`);
  };
  switch (type) {
    case 'string':
      if (typeof value !== 'string') bad('a string');
      sink.string(value as string);
      return;
    case 'bool':
      if (typeof value !== 'boolean') bad('a boolean');
      sink.u8(value ? 1 : 0);
      return;
    case 'float32':
    case 'float64':
      if (typeof value !== 'number') bad('a number');
      if (type === 'float32') sink.f32(value as number); else sink.f64(value as number);
      return;
  }
  const range = INTEGER_RANGES[type]!;
  let integer: bigint;
  if (typeof value === 'bigint') integer = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) integer = BigInt(value);
  else return bad('an integer');
  if (integer < range[0] || integer > range[1]) bad(`an integer in [${range[0]}, ${range[1]}]`);
  switch (type) {
    case 'uint8': sink.u8(Number(integer)); return;
    case 'int8': sink.i8(Number(integer)); return;
    case 'uint16': sink.u16(Number(integer)); return;
    case 'int16': sink.i16(Number(integer)); return;
    case 'uint32': sink.u32(Number(integer)); return;
    case 'int32': sink.i32(Number(integer)); return;
    case 'uint64': sink.u64(integer); return;
    case 'int64': sink.i64(integer); return;
  }
}

function tensorBytes(data: Float32Array, type: GgmlTypeName): Uint8Array {
  if (type === 'F32') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const half = float32ToFloat16(data);
  return new Uint8Array(half.buffer, half.byteOffset, half.byteLength);
}

function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

/** A growable little-endian byte buffer for the header part of the file. */
class ByteSink {
  private buffer = new Uint8Array(1 << 16);
  private view = new DataView(this.buffer.buffer);
  private length = 0;

  private reserve(n: number): number {
    if (this.length + n > this.buffer.length) {
      const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + n));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
      this.view = new DataView(grown.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  // reserve() may grow the buffer and replace the view, so it must run before the view is read.
  u8(v: number): void { const at = this.reserve(1); this.view.setUint8(at, v); }
  i8(v: number): void { const at = this.reserve(1); this.view.setInt8(at, v); }
  u16(v: number): void { const at = this.reserve(2); this.view.setUint16(at, v, true); }
  i16(v: number): void { const at = this.reserve(2); this.view.setInt16(at, v, true); }
  u32(v: number): void { const at = this.reserve(4); this.view.setUint32(at, v, true); }
  i32(v: number): void { const at = this.reserve(4); this.view.setInt32(at, v, true); }
  u64(v: bigint): void { const at = this.reserve(8); this.view.setBigUint64(at, v, true); }
  i64(v: bigint): void { const at = this.reserve(8); this.view.setBigInt64(at, v, true); }
  f32(v: number): void { const at = this.reserve(4); this.view.setFloat32(at, v, true); }
  f64(v: number): void { const at = this.reserve(8); this.view.setFloat64(at, v, true); }

  string(s: string): void {
    const encoded = utf8.encode(s);
    this.u64(BigInt(encoded.length));
    const at = this.reserve(encoded.length);
    this.buffer.set(encoded, at);
  }

  padTo(alignment: number): void {
    this.reserve(alignUp(this.length, alignment) - this.length);
  }

  bytes(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}
