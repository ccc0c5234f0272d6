// Reader and writer for NumPy's .npz archives: a zip file whose entries are .npy
// arrays ("W_enc.npy" holds the array named W_enc). Gemma Scope ships its SAEs
// this way (params.npz).
//
// Zip: the end-of-central-directory record (found by scanning back from the end)
// locates the central directory, which gives each entry's sizes, compression
// method, CRC-32 and local header offset. Sizes are taken from the central
// directory, never from the local header: numpy writes its entries with
// force_zip64, which leaves 0xFFFFFFFF in the local header's 32-bit size fields.
// Entries may be stored or deflated; zip64 archives (over 4 GiB) are not read.
//
// .npy: a magic string, a version, a header length (2 bytes in v1, 4 bytes in v2
// and v3), a Python dict literal {'descr': '<f4', 'fortran_order': False,
// 'shape': (3, 4), } and then the raw array bytes in C order.
//
// Every offset and length read from the file is checked against the file size
// and the CRC-32 of each entry is verified, so a truncated or corrupt file fails
// with a CheckpointFormatError naming the file and the entry, never with a crash.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { writeFileAtomic } from './atomicWrite.js';
import { CheckpointFormatError } from './errors.js';
import { float16ToFloat32, float32ToFloat16 } from './floatFormats.js';

/** The float formats an .npy entry may hold; all are read as float32. */
export type NpyFloatDtype = '<f4' | '<f8' | '<f2';

export interface NpyArray {
  shape: number[];
  /** The dtype stored in the file (the data is always converted to float32). */
  dtype: NpyFloatDtype;
  data: Float32Array;
}

export interface NpyArrayToWrite {
  shape: readonly number[];
  data: Float32Array;
}

export interface NpzWriteOptions {
  /** Stored format of every array; '<f4' when absent. */
  dtype?: NpyFloatDtype;
  /** 'stored' (default) or 'deflate'. */
  compression?: 'stored' | 'deflate';
  /** .npy header version; 1 when absent. */
  npyVersion?: 1 | 2 | 3;
}

const HOST_IS_LITTLE_ENDIAN = endianness() === 'LE';
const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_DIRECTORY_ENTRY = 0x02014b50;
const LOCAL_FILE_HEADER = 0x04034b50;
const END_RECORD_BYTES = 22;
const CENTRAL_ENTRY_BYTES = 46;
const LOCAL_HEADER_BYTES = 30;
const MAX_ZIP_COMMENT = 0xffff;
const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;
const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
// A .npy header describes one array in a few dozen bytes; a larger length field
// is corruption, and trusting it would parse megabytes of garbage.
const MAX_NPY_HEADER_BYTES = 1 << 20;
const BYTES_PER_ELEMENT: Record<NpyFloatDtype, number> = { '<f4': 4, '<f8': 8, '<f2': 2 };

// ---- reading ----

/** Random access to the archive's bytes: a file read with positioned reads, or a buffer. */
interface ByteSource {
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
  close(): void;
}

function fileSource(path: string): ByteSource {
  const fd = openSync(path, 'r');
  let open = true;
  let size: number;
  try {
    size = fstatSync(fd).size;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return {
    size,
    read(offset, length) {
      if (!open) throw new CheckpointFormatError(path, 'cannot read: the archive was closed');
      const bytes = new Uint8Array(length);
      let filled = 0;
      while (filled < length) {
        const got = readSync(fd, bytes, filled, length - filled, offset + filled);
        if (got === 0) throw new CheckpointFormatError(path, `expected ${length} bytes at offset ${offset} but the file ends after ${filled} (was it truncated after it was opened?)`);
        filled += got;
      }
      return bytes;
    },
    close() {
      if (!open) return;
      open = false;
      closeSync(fd);
    },
  };
}

function bufferSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.byteLength,
    read: (offset, length) => bytes.subarray(offset, offset + length),
    close: () => undefined,
  };
}

interface ZipEntry {
  name: string;
  rawName: Uint8Array;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

/** An opened .npz archive: the directory is read on open, arrays on demand. */
export class NpzFile {
  private constructor(
    readonly label: string,
    private readonly source: ByteSource,
    private readonly entries: ReadonlyMap<string, ZipEntry>,
  ) {}

  static open(path: string): NpzFile {
    const source = fileSource(path);
    try {
      return new NpzFile(path, source, readCentralDirectory(path, source));
    } catch (error) {
      source.close();
      throw error;
    }
  }

  /** Reads an archive held in memory; `label` names it in errors. */
  static fromBytes(bytes: Uint8Array, label = 'npz bytes'): NpzFile {
    const source = bufferSource(bytes);
    return new NpzFile(label, source, readCentralDirectory(label, source));
  }

  /** Array names (entry names without the .npy suffix), in archive order. */
  get names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The array's bytes after decompression and CRC check. */
  readEntryBytes(name: string): Uint8Array {
    const entry = this.entries.get(name);
    if (entry === undefined) {
      const listed = this.names.slice(0, 8).map((n) => `'${n}'`).join(', ');
      throw new CheckpointFormatError(this.label, `no array named '${name}'; the archive holds ${this.entries.size === 0 ? 'no arrays' : `${listed}${this.entries.size > 8 ? ', ...' : ''}`}`);
    }
    return readEntry(this.label, this.source, entry);
  }

  readArray(name: string): NpyArray {
    return parseNpy(this.readEntryBytes(name), `${this.label} (array '${name}')`);
  }

  close(): void {
    this.source.close();
  }
}

/** Every array of an .npz file, by name. */
export function readNpz(path: string): Map<string, NpyArray> {
  const file = NpzFile.open(path);
  try {
    return new Map(file.names.map((name) => [name, file.readArray(name)]));
  } finally {
    file.close();
  }
}

function readCentralDirectory(label: string, source: ByteSource): Map<string, ZipEntry> {
  const fail = (detail: string): never => { throw new CheckpointFormatError(label, detail); };
  const size = source.size;
  if (size < END_RECORD_BYTES) fail(`file is ${size} bytes, too short for a zip archive (at least ${END_RECORD_BYTES}); expected an .npz file`);
  // The end record sits at the very end, followed only by an optional comment.
  const tailLength = Math.min(size, END_RECORD_BYTES + MAX_ZIP_COMMENT);
  const tailStart = size - tailLength;
  const tail = source.read(tailStart, tailLength);
  const tailView = view(tail);
  let endAt = -1;
  for (let i = tailLength - END_RECORD_BYTES; i >= 0; i--) {
    if (tailView.getUint32(i, true) === END_OF_CENTRAL_DIRECTORY && i + END_RECORD_BYTES + tailView.getUint16(i + 20, true) <= tailLength) {
      endAt = i;
      break;
    }
  }
  if (endAt < 0) fail('no zip end-of-central-directory record found; the file is truncated or not an .npz archive');
  const disk = tailView.getUint16(endAt + 4, true);
  const directoryDisk = tailView.getUint16(endAt + 6, true);
  const entriesHere = tailView.getUint16(endAt + 8, true);
  const entryCount = tailView.getUint16(endAt + 10, true);
  const directorySize = tailView.getUint32(endAt + 12, true);
  const directoryOffset = tailView.getUint32(endAt + 16, true);
  if (entryCount === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    fail('the archive is in zip64 format (over 4 GiB or 65535 entries), which this reader does not support');
  }
  if (disk !== 0 || directoryDisk !== 0 || entriesHere !== entryCount) fail('multi-disk (spanned) zip archives are not supported');
  const endRecordOffset = tailStart + endAt;
  if (directoryOffset + directorySize > endRecordOffset) {
    fail(`the central directory (offset ${directoryOffset}, ${directorySize} bytes) runs past the end record at ${endRecordOffset}; the file is truncated or corrupt`);
  }
  if (directorySize < entryCount * CENTRAL_ENTRY_BYTES) fail(`the central directory is ${directorySize} bytes, too small for its ${entryCount} entries`);
  const directory = source.read(directoryOffset, directorySize);
  const directoryView = view(directory);
  const entries = new Map<string, ZipEntry>();
  let at = 0;
  for (let i = 0; i < entryCount; i++) {
    if (at + CENTRAL_ENTRY_BYTES > directorySize || directoryView.getUint32(at, true) !== CENTRAL_DIRECTORY_ENTRY) {
      fail(`central directory entry ${i} at offset ${directoryOffset + at} is missing or corrupt`);
    }
    const flags = directoryView.getUint16(at + 8, true);
    const method = directoryView.getUint16(at + 10, true);
    const crc32 = directoryView.getUint32(at + 16, true);
    const compressedSize = directoryView.getUint32(at + 20, true);
    const uncompressedSize = directoryView.getUint32(at + 24, true);
    const nameLength = directoryView.getUint16(at + 28, true);
    const extraLength = directoryView.getUint16(at + 30, true);
    const commentLength = directoryView.getUint16(at + 32, true);
    const localHeaderOffset = directoryView.getUint32(at + 42, true);
    const next = at + CENTRAL_ENTRY_BYTES + nameLength + extraLength + commentLength;
    if (next > directorySize) fail(`central directory entry ${i} runs past the end of the directory`);
    const rawName = directory.subarray(at + CENTRAL_ENTRY_BYTES, at + CENTRAL_ENTRY_BYTES + nameLength);
    const entryName = new TextDecoder((flags & 0x800) !== 0 ? 'utf-8' : 'latin1').decode(rawName);
    at = next;
    if (entryName.endsWith('/')) continue; // a directory entry holds no array
    if ((flags & 0x1) !== 0) fail(`entry '${entryName}' is encrypted; encrypted archives are not supported`);
    if (compressedSize === 0xffffffff || uncompressedSize === 0xffffffff || localHeaderOffset === 0xffffffff) {
      fail(`entry '${entryName}' uses zip64 sizes (over 4 GiB), which this reader does not support`);
    }
    if (method !== METHOD_STORED && method !== METHOD_DEFLATE) fail(`entry '${entryName}' uses compression method ${method}; expected 0 (stored) or 8 (deflate)`);
    if (!entryName.endsWith('.npy')) fail(`entry '${entryName}' is not an .npy array; an .npz archive holds only <name>.npy entries`);
    const name = entryName.slice(0, -'.npy'.length);
    if (entries.has(name)) fail(`array '${name}' appears twice in the archive`);
    entries.set(name, { name: entryName, rawName: Uint8Array.from(rawName), method, crc32, compressedSize, uncompressedSize, localHeaderOffset });
  }
  return entries;
}

function readEntry(label: string, source: ByteSource, entry: ZipEntry): Uint8Array {
  const fail = (detail: string): never => { throw new CheckpointFormatError(label, `entry '${entry.name}': ${detail}`); };
  if (entry.localHeaderOffset + LOCAL_HEADER_BYTES > source.size) fail(`local header at offset ${entry.localHeaderOffset} lies past the end of the file (${source.size} bytes)`);
  const header = view(source.read(entry.localHeaderOffset, LOCAL_HEADER_BYTES));
  if (header.getUint32(0, true) !== LOCAL_FILE_HEADER) fail(`no local file header at offset ${entry.localHeaderOffset}; the archive is corrupt`);
  const nameLength = header.getUint16(26, true);
  const dataStart = entry.localHeaderOffset + LOCAL_HEADER_BYTES + nameLength + header.getUint16(28, true);
  // Both copies of the name must agree (as Python's zipfile checks): a corrupt
  // directory could otherwise hand out an array under the wrong name.
  if (entry.localHeaderOffset + LOCAL_HEADER_BYTES + nameLength > source.size) fail('its local header runs past the end of the file');
  const localName = source.read(entry.localHeaderOffset + LOCAL_HEADER_BYTES, nameLength);
  if (!sameBytes(localName, entry.rawName)) fail(`the local header names it '${new TextDecoder('latin1').decode(localName)}'; the archive is corrupt`);
  if (dataStart + entry.compressedSize > source.size) {
    fail(`its ${entry.compressedSize} bytes of data at offset ${dataStart} run past the end of the file (${source.size} bytes); the file is truncated`);
  }
  const stored = source.read(dataStart, entry.compressedSize);
  let bytes: Uint8Array;
  if (entry.method === METHOD_STORED) {
    if (entry.compressedSize !== entry.uncompressedSize) fail(`stored entry has ${entry.compressedSize} bytes but declares ${entry.uncompressedSize} uncompressed`);
    bytes = stored;
  } else {
    try {
      // The bound stops a corrupt stream from inflating without limit.
      bytes = inflateRawSync(stored, { maxOutputLength: Math.max(1, entry.uncompressedSize) });
    } catch (error) {
      return fail(`deflate data is corrupt (${(error as Error).message})`);
    }
    if (bytes.byteLength !== entry.uncompressedSize) fail(`inflated to ${bytes.byteLength} bytes, expected ${entry.uncompressedSize}`);
  }
  const actual = crc32(bytes);
  if (actual !== entry.crc32) fail(`CRC-32 mismatch (stored 0x${hex(entry.crc32)}, computed 0x${hex(actual)}); the data is corrupt`);
  return bytes;
}

/** Parses one .npy array (float16/32/64, little-endian, C order) into float32. */
export function parseNpy(bytes: Uint8Array, label = 'npy bytes'): NpyArray {
  const fail = (detail: string): never => { throw new CheckpointFormatError(label, detail); };
  if (bytes.byteLength < 10 || NPY_MAGIC.some((b, i) => bytes[i] !== b)) fail('missing the \\x93NUMPY magic string; not an .npy array');
  const major = bytes[6];
  const dataView = view(bytes);
  let headerLength: number;
  let headerStart: number;
  if (major === 1) {
    headerLength = dataView.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.byteLength < 12) fail('truncated .npy header');
    headerLength = dataView.getUint32(8, true);
    headerStart = 12;
  } else {
    return fail(`.npy format version ${major}.${bytes[7]} is not supported; expected 1, 2 or 3`);
  }
  if (headerLength > MAX_NPY_HEADER_BYTES) fail(`.npy header length ${headerLength} is implausibly large; the data is corrupt`);
  if (headerStart + headerLength > bytes.byteLength) fail(`.npy header (${headerLength} bytes) runs past the end of the array data (${bytes.byteLength} bytes)`);
  const headerText = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, headerStart + headerLength));
  const header = parseNpyHeader(headerText, fail);
  const { dtype, shape } = header;
  const dataStart = headerStart + headerLength;
  let count = 1;
  for (const d of shape) count *= d;
  const expectedBytes = count * BYTES_PER_ELEMENT[dtype];
  if (bytes.byteLength - dataStart !== expectedBytes) {
    fail(`shape (${shape.join(', ')}) of ${dtype} needs ${expectedBytes} bytes of data but the array holds ${bytes.byteLength - dataStart}`);
  }
  if (!HOST_IS_LITTLE_ENDIAN) fail('reading little-endian arrays on a big-endian host is not supported');
  // Copying into a fresh buffer gives the alignment typed-array views require
  // (not bytes.slice: on a Node Buffer that is a view of a shared pool).
  const raw = new Uint8Array(expectedBytes);
  raw.set(bytes.subarray(dataStart, dataStart + expectedBytes));
  let data: Float32Array;
  if (dtype === '<f4') data = new Float32Array(raw.buffer, 0, count);
  else if (dtype === '<f8') data = Float32Array.from(new Float64Array(raw.buffer, 0, count));
  else data = float16ToFloat32(new Uint16Array(raw.buffer, 0, count));
  return { shape, dtype, data };
}

interface NpyHeader {
  dtype: NpyFloatDtype;
  shape: number[];
}

function parseNpyHeader(text: string, fail: (detail: string) => never): NpyHeader {
  let value: PythonLiteral;
  try {
    value = new PythonLiteralParser(text).parseWhole();
  } catch (error) {
    return fail(`.npy header is not a valid dict literal (${(error as Error).message}): ${JSON.stringify(text.slice(0, 120))}`);
  }
  if (!(value instanceof Map)) return fail(`.npy header must be a dict, got ${JSON.stringify(text.slice(0, 120))}`);
  const descr = value.get('descr');
  const fortranOrder = value.get('fortran_order');
  const shape = value.get('shape');
  if (typeof descr !== 'string') return fail(`.npy header has no string 'descr' (the dtype): ${JSON.stringify(text.slice(0, 120))}`);
  if (descr !== '<f4' && descr !== '<f8' && descr !== '<f2') {
    return fail(`dtype '${descr}' is not supported; expected little-endian float16/32/64 ('<f2', '<f4' or '<f8')`);
  }
  if (typeof fortranOrder !== 'boolean') return fail(`.npy header has no boolean 'fortran_order'`);
  if (fortranOrder) return fail(`the array is stored in Fortran (column-major) order; only C order is supported (save it with np.ascontiguousarray)`);
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    return fail(`.npy header 'shape' must be a tuple of non-negative integers`);
  }
  return { dtype: descr, shape: shape as number[] };
}

type PythonLiteral = string | number | boolean | null | PythonLiteral[] | Map<string, PythonLiteral>;

/** Just enough of Python's literal syntax for .npy headers: dicts, tuples, lists, strings, ints, True/False/None. */
class PythonLiteralParser {
  private at = 0;
  private depth = 0;

  constructor(private readonly text: string) {}

  parseWhole(): PythonLiteral {
    const value = this.value();
    this.skipSpace();
    if (this.at !== this.text.length) throw new Error(`unexpected '${this.text[this.at]}' after the literal at ${this.at}`);
    return value;
  }

  private value(): PythonLiteral {
    this.skipSpace();
    const c = this.text[this.at];
    if (c === undefined) throw new Error('unexpected end of header');
    if (c === '{') return this.nested(() => this.dict());
    if (c === '(' || c === '[') return this.nested(() => this.sequence(c === '(' ? ')' : ']'));
    if (c === "'" || c === '"') return this.string();
    if (c === '-' || (c >= '0' && c <= '9')) return this.integer();
    for (const [word, result] of [['True', true], ['False', false], ['None', null]] as const) {
      if (this.text.startsWith(word, this.at)) {
        this.at += word.length;
        return result;
      }
    }
    throw new Error(`unexpected '${c}' at ${this.at}`);
  }

  private nested<T>(parse: () => T): T {
    if (++this.depth > 16) throw new Error('nesting is too deep');
    const result = parse();
    this.depth--;
    return result;
  }

  private dict(): Map<string, PythonLiteral> {
    this.at++; // {
    const map = new Map<string, PythonLiteral>();
    for (;;) {
      this.skipSpace();
      if (this.text[this.at] === '}') { this.at++; return map; }
      const key = this.value();
      if (typeof key !== 'string') throw new Error('dict keys must be strings');
      this.expect(':');
      map.set(key, this.value());
      this.skipSpace();
      if (this.text[this.at] === ',') this.at++;
      else if (this.text[this.at] !== '}') throw new Error(`expected ',' or '}' at ${this.at}`);
    }
  }

  private sequence(close: string): PythonLiteral[] {
    this.at++; // ( or [
    const items: PythonLiteral[] = [];
    for (;;) {
      this.skipSpace();
      if (this.text[this.at] === close) { this.at++; return items; }
      items.push(this.value());
      this.skipSpace();
      if (this.text[this.at] === ',') this.at++;
      else if (this.text[this.at] !== close) throw new Error(`expected ',' or '${close}' at ${this.at}`);
    }
  }

  private string(): string {
    const quote = this.text[this.at++];
    const end = this.text.indexOf(quote, this.at);
    if (end < 0) throw new Error('unterminated string');
    const s = this.text.slice(this.at, end);
    if (s.includes('\\')) throw new Error('escape sequences are not supported in header strings');
    this.at = end + 1;
    return s;
  }

  private integer(): number {
    const match = /^-?\d+L?/.exec(this.text.slice(this.at, this.at + 32));
    if (match === null) throw new Error(`bad number at ${this.at}`);
    this.at += match[0].length;
    const n = Number(match[0].replace('L', ''));
    if (!Number.isSafeInteger(n)) throw new Error(`integer ${match[0]} is too large`);
    return n;
  }

  private expect(c: string): void {
    this.skipSpace();
    if (this.text[this.at] !== c) throw new Error(`expected '${c}' at ${this.at}`);
    this.at++;
  }

  private skipSpace(): void {
    while (this.at < this.text.length && /\s/.test(this.text[this.at])) this.at++;
  }
}

// ---- writing ----

/** One .npy array: header padded (with spaces and a newline) so the data starts on a 64-byte boundary. */
export function encodeNpy(array: NpyArrayToWrite, options: { dtype?: NpyFloatDtype; version?: 1 | 2 | 3 } = {}): Uint8Array {
  const dtype = options.dtype ?? '<f4';
  const version = options.version ?? 1;
  if (!(dtype in BYTES_PER_ELEMENT)) throw new RangeError(`encodeNpy: dtype '${dtype}' is not one of '<f2', '<f4', '<f8'`);
  if (!array.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new RangeError(`encodeNpy: shape [${array.shape.join(', ')}] must hold non-negative integers`);
  const count = array.shape.reduce((a, b) => a * b, 1);
  if (count !== array.data.length) throw new RangeError(`encodeNpy: shape [${array.shape.join(', ')}] holds ${count} values but data has ${array.data.length}`);
  if (!HOST_IS_LITTLE_ENDIAN) throw new Error('encodeNpy: writing on a big-endian host is not supported');
  const shapeText = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`;
  const dict = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const prefix = version === 1 ? 10 : 12;
  const unpadded = prefix + dict.length + 1;
  const headerText = dict + ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const headerBytes = new TextEncoder().encode(headerText);
  const data = dtype === '<f4' ? new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength)
    : dtype === '<f8' ? new Uint8Array(Float64Array.from(array.data).buffer)
      : new Uint8Array(float32ToFloat16(array.data).buffer);
  const out = new Uint8Array(prefix + headerBytes.byteLength + data.byteLength);
  out.set(NPY_MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  if (version === 1) view(out).setUint16(8, headerBytes.byteLength, true);
  else view(out).setUint32(8, headerBytes.byteLength, true);
  out.set(headerBytes, prefix);
  out.set(data, prefix + headerBytes.byteLength);
  return out;
}

/** A zip archive of the given files (no zip64, so under 4 GiB in all). */
export function encodeZipArchive(files: ReadonlyArray<{ name: string; data: Uint8Array }>, options: { compression?: 'stored' | 'deflate' } = {}): Uint8Array {
  const deflate = (options.compression ?? 'stored') === 'deflate';
  const encoder = new TextEncoder();
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const file of files) {
    const name = encoder.encode(file.name);
    const body = deflate ? new Uint8Array(deflateRawSync(file.data)) : file.data;
    const crc = crc32(file.data);
    const local = new Uint8Array(LOCAL_HEADER_BYTES + name.byteLength);
    const lv = view(local);
    lv.setUint32(0, LOCAL_FILE_HEADER, true);
    lv.setUint16(4, 20, true); // version needed: 2.0
    lv.setUint16(6, 0x800, true); // names are UTF-8
    lv.setUint16(8, deflate ? METHOD_DEFLATE : METHOD_STORED, true);
    lv.setUint16(12, 0x21, true); // 1980-01-01: a fixed date keeps archives reproducible
    lv.setUint32(14, crc, true);
    lv.setUint32(18, body.byteLength, true);
    lv.setUint32(22, file.data.byteLength, true);
    lv.setUint16(26, name.byteLength, true);
    local.set(name, LOCAL_HEADER_BYTES);
    const central = new Uint8Array(CENTRAL_ENTRY_BYTES + name.byteLength);
    const cv = view(central);
    cv.setUint32(0, CENTRAL_DIRECTORY_ENTRY, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(8, 0x800, true);
    cv.setUint16(10, deflate ? METHOD_DEFLATE : METHOD_STORED, true);
    cv.setUint16(14, 0x21, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, body.byteLength, true);
    cv.setUint32(24, file.data.byteLength, true);
    cv.setUint16(28, name.byteLength, true);
    cv.setUint32(42, offset, true);
    central.set(name, CENTRAL_ENTRY_BYTES);
    locals.push(local, body);
    centrals.push(central);
    offset += local.byteLength + body.byteLength;
  }
  const directorySize = centrals.reduce((n, c) => n + c.byteLength, 0);
  if (offset + directorySize > 0xffffffff || files.length > 0xfffe) throw new RangeError('encodeZipArchive: the archive would need zip64 (over 4 GiB or 65534 files)');
  const end = new Uint8Array(END_RECORD_BYTES);
  const ev = view(end);
  ev.setUint32(0, END_OF_CENTRAL_DIRECTORY, true);
  ev.setUint16(8, files.length, true);
  ev.setUint16(10, files.length, true);
  ev.setUint32(12, directorySize, true);
  ev.setUint32(16, offset, true);
  const out = new Uint8Array(offset + directorySize + END_RECORD_BYTES);
  let at = 0;
  for (const part of [...locals, ...centrals, end]) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** An .npz archive with one <name>.npy entry per array. */
export function encodeNpz(arrays: Record<string, NpyArrayToWrite>, options: NpzWriteOptions = {}): Uint8Array {
  const files = Object.entries(arrays).map(([name, array]) => {
    if (name.length === 0) throw new RangeError('encodeNpz: array names must be non-empty');
    return { name: `${name}.npy`, data: encodeNpy(array, { dtype: options.dtype, version: options.npyVersion }) };
  });
  return encodeZipArchive(files, { compression: options.compression });
}

export function writeNpz(path: string, arrays: Record<string, NpyArrayToWrite>, options: NpzWriteOptions = {}): void {
  writeFileAtomic(path, [encodeNpz(arrays, options)]);
}

// ---- helpers ----

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

const CRC_TABLE = ((): Uint32Array => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 as zip defines it (reflected polynomial 0xEDB88320). */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
