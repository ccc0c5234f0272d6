import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CheckpointFormatError } from '../src/io/errors.js';
import { NpzFile, crc32, encodeNpy, encodeNpz, encodeZipArchive, parseNpy, readNpz, writeNpz, type NpyArray } from '../src/io/npz.js';
import { Random } from '../src/tensor/random.js';

const workDir = mkdtempSync(join(tmpdir(), 'imprint-npz-'));
after(() => rmSync(workDir, { recursive: true, force: true }));

// Archives written by NumPy 2.4 (np.savez / np.savez_compressed) of
//   a = np.arange(6, dtype=float32).reshape(2, 3) * 0.5 - 1,  b = float64 [1.5, -2.25],
//   c = float16 [0.5, -1, 65504],  s = np.float32(3.0) (a 0-d array);
// one Fortran-ordered float32 (2, 3) array 'f'; one int32 array 'i'. NumPy writes
// local headers with zip64 extras and 0xFFFFFFFF sizes, which the reader must skip.
const NUMPY_SAVEZ = [
  'UEsDBC0AAAAAAAAAIQBLSmgB//////////8FABQAYS5ucHkBABAAmAAAAAAAAACYAAAAAAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzog',
  'JzxmNCcsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICgyLCAzKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAg',
  'ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKAACAvwAAAL8AAAAAAAAAPwAAgD8AAMA/UEsDBC0AAAAAAAAAIQAy+vNz',
  '//////////8FABQAYi5ucHkBABAAkAAAAAAAAACQAAAAAAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzogJzxmOCcsICdmb3J0cmFuX29y',
  'ZGVyJzogRmFsc2UsICdzaGFwZSc6ICgyLCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAg',
  'ICAgICAgICAgICAgICAKAAAAAAAA+D8AAAAAAAACwFBLAwQtAAAAAAAAACEAfHzGE///////////BQAUAGMubnB5AQAQAIYAAAAA',
  'AAAAhgAAAAAAAACTTlVNUFkBAHYAeydkZXNjcic6ICc8ZjInLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMywp',
  'LCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgCgA4ALz/e1BLAwQt',
  'AAAAAAAAACEAw+ffpv//////////BQAUAHMubnB5AQAQAIQAAAAAAAAAhAAAAAAAAACTTlVNUFkBAHYAeydkZXNjcic6ICc8ZjQn',
  'LCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAg',
  'ICAgICAgICAgICAgICAgICAgICAgICAgICAgCgAAQEBQSwECLQMtAAAAAAAAACEAS0poAZgAAACYAAAABQAAAAAAAAAAAAAAgAEA',
  'AAAAYS5ucHlQSwECLQMtAAAAAAAAACEAMvrzc5AAAACQAAAABQAAAAAAAAAAAAAAgAHPAAAAYi5ucHlQSwECLQMtAAAAAAAAACEA',
  'fHzGE4YAAACGAAAABQAAAAAAAAAAAAAAgAGWAQAAYy5ucHlQSwECLQMtAAAAAAAAACEAw+ffpoQAAACEAAAABQAAAAAAAAAAAAAA',
  'gAFTAgAAcy5ucHlQSwUGAAAAAAQABADMAAAADgMAAAAA',
].join('');
const NUMPY_SAVEZ_COMPRESSED = [
  'UEsDBC0AAAAIAAAAIQBLSmgB//////////8FABQAYS5ucHkBABAAmAAAAAAAAABXAAAAAAAAAJvsF+obEMnIUMZQrZ6SWpxcpG6l',
  'oG6TZqKuo6Cell9UUpSYF59flJIKEndLzClOBYoXZyQWpAL5GkY6CsaaOgq1CmQDLgaGhv0MDAwgDAL2QD4QH7AHAFBLAwQtAAAA',
  'CAAAACEAMvrzc///////////BQAUAGIubnB5AQAQAJAAAAAAAAAATQAAAAAAAACb7BfqGxDJyFDGUK2eklqcXKRupaBuk2ahrqOg',
  'npZfVFKUmBefX5SSChJ3S8wpTgWKF2ckFqQC+RpGOpo6CrUKFAAuBjD4YQ+hmQ4AAFBLAwQtAAAACAAAACEAfHzGE///////////',
  'BQAUAGMubnB5AQAQAIYAAAAAAAAASgAAAAAAAACb7BfqGxDJyFDGUK2eklqcXKRupaBuk2akrqOgnpZfVFKUmBefX5SSChJ3S8wp',
  'TgWKF2ckFqQC+RrGOpo6CrUKFAAuBguGPf+rAVBLAwQtAAAACAAAACEAw+ffpv//////////BQAUAHMubnB5AQAQAIQAAAAAAAAA',
  'RgAAAAAAAACb7BfqGxDJyFDGUK2eklqcXKRupaBuk2airqOgnpZfVFKUmBefX5SSChJ3S8wpTgWKF2ckFqQC+RqaOgq1ChQBLgYG',
  'BwcAUEsBAi0DLQAAAAgAAAAhAEtKaAFXAAAAmAAAAAUAAAAAAAAAAAAAAIABAAAAAGEubnB5UEsBAi0DLQAAAAgAAAAhADL683NN',
  'AAAAkAAAAAUAAAAAAAAAAAAAAIABjgAAAGIubnB5UEsBAi0DLQAAAAgAAAAhAHx8xhNKAAAAhgAAAAUAAAAAAAAAAAAAAIABEgEA',
  'AGMubnB5UEsBAi0DLQAAAAgAAAAhAMPn36ZGAAAAhAAAAAUAAAAAAAAAAAAAAIABkwEAAHMubnB5UEsFBgAAAAAEAAQAzAAAABAC',
  'AAAAAA==',
].join('');
const NUMPY_FORTRAN = [
  'UEsDBC0AAAAAAAAAIQDOLODT//////////8FABQAZi5ucHkBABAAmAAAAAAAAACYAAAAAAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzog',
  'JzxmNCcsICdmb3J0cmFuX29yZGVyJzogVHJ1ZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAg',
  'ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKAAAAAAAAQEAAAIA/AACAQAAAAEAAAKBAUEsBAi0DLQAAAAAAAAAhAM4s',
  '4NOYAAAAmAAAAAUAAAAAAAAAAAAAAIABAAAAAGYubnB5UEsFBgAAAAABAAEAMwAAAM8AAAAAAA==',
].join('');
const NUMPY_INT32 = [
  'UEsDBC0AAAAAAAAAIQAC7L2p//////////8FABQAaS5ucHkBABAAjAAAAAAAAACMAAAAAAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzog',
  'JzxpNCcsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICgzLCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAg',
  'ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKAAAAAAEAAAACAAAAUEsBAi0DLQAAAAAAAAAhAALsvamMAAAAjAAAAAUA',
  'AAAAAAAAAAAAAIABAAAAAGkubnB5UEsFBgAAAAABAAEAMwAAAMMAAAAAAA==',
].join('');

const fromBase64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'));

function readAll(bytes: Uint8Array, label = 'test archive'): Map<string, NpyArray> {
  const file = NpzFile.fromBytes(bytes, label);
  return new Map(file.names.map((name) => [name, file.readArray(name)]));
}

function assertNumpyFixture(arrays: Map<string, NpyArray>): void {
  assert.deepEqual([...arrays.keys()], ['a', 'b', 'c', 's']);
  const a = arrays.get('a')!;
  assert.deepEqual(a.shape, [2, 3]);
  assert.equal(a.dtype, '<f4');
  assert.deepEqual([...a.data], [-1, -0.5, 0, 0.5, 1, 1.5]);
  assert.deepEqual(arrays.get('b'), { shape: [2], dtype: '<f8', data: Float32Array.of(1.5, -2.25) });
  assert.deepEqual(arrays.get('c'), { shape: [3], dtype: '<f2', data: Float32Array.of(0.5, -1, 65504) });
  assert.deepEqual(arrays.get('s'), { shape: [], dtype: '<f4', data: Float32Array.of(3) });
}

test('reads archives written by numpy.savez (stored, zip64 local headers)', () => {
  assertNumpyFixture(readAll(fromBase64(NUMPY_SAVEZ)));
});

test('reads archives written by numpy.savez_compressed (deflate)', () => {
  assertNumpyFixture(readAll(fromBase64(NUMPY_SAVEZ_COMPRESSED)));
});

test('reads from a file path, lazily through NpzFile and all at once through readNpz', () => {
  const path = join(workDir, 'numpy.npz');
  writeFileSync(path, fromBase64(NUMPY_SAVEZ_COMPRESSED));
  assertNumpyFixture(readNpz(path));
  const file = NpzFile.open(path);
  try {
    assert.deepEqual(file.names, ['a', 'b', 'c', 's']);
    assert.ok(file.has('b') && !file.has('b.npy'));
    assert.deepEqual([...file.readArray('b').data], [1.5, -2.25]);
  } finally {
    file.close();
  }
});

test('Fortran-ordered arrays and non-float dtypes are rejected by name', () => {
  assert.throws(() => readAll(fromBase64(NUMPY_FORTRAN), 'fortran.npz'),
    (e: Error) => e instanceof CheckpointFormatError && /fortran\.npz \(array 'f'\).*Fortran \(column-major\) order/.test(e.message));
  assert.throws(() => readAll(fromBase64(NUMPY_INT32), 'ints.npz'),
    (e: Error) => e instanceof CheckpointFormatError && /dtype '<i4' is not supported/.test(e.message));
});

test('crc32 matches the standard check value', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
});

test('writer round trip: stored and deflate, .npy v1/v2/v3, float32/64/16', () => {
  const rng = new Random(3);
  const matrix = new Float32Array(5 * 7);
  rng.fillNormal(matrix);
  // Values exactly representable in float16, so every dtype round-trips exactly.
  const halfExact = Float32Array.from({ length: 12 }, (_, i) => (i - 6) * 0.25);
  for (const compression of ['stored', 'deflate'] as const) {
    for (const npyVersion of [1, 2, 3] as const) {
      const path = join(workDir, `rt-${compression}-${npyVersion}.npz`);
      writeNpz(path, { matrix: { shape: [5, 7], data: matrix }, empty: { shape: [0, 4], data: new Float32Array(0) } }, { compression, npyVersion });
      const back = readNpz(path);
      assert.deepEqual(back.get('matrix'), { shape: [5, 7], dtype: '<f4', data: matrix });
      assert.deepEqual(back.get('empty'), { shape: [0, 4], dtype: '<f4', data: new Float32Array(0) });
      for (const dtype of ['<f8', '<f2'] as const) {
        const bytes = encodeNpz({ h: { shape: [3, 4], data: halfExact } }, { dtype, compression, npyVersion });
        assert.deepEqual(readAll(bytes).get('h'), { shape: [3, 4], dtype, data: halfExact });
      }
    }
  }
});

test('.npy headers are padded so the data starts on a 64-byte boundary, as numpy does', () => {
  for (const version of [1, 2, 3] as const) {
    for (const shape of [[3], [2, 3], [], [1000, 10, 7]]) {
      const count = shape.reduce((a, b) => a * b, 1);
      const bytes = encodeNpy({ shape, data: new Float32Array(count) }, { version });
      const headerLength = version === 1 ? bytes[8] | (bytes[9] << 8) : new DataView(bytes.buffer).getUint32(8, true);
      const dataStart = (version === 1 ? 10 : 12) + headerLength;
      assert.equal(dataStart % 64, 0, `v${version} shape [${shape}]`);
      assert.equal(bytes[dataStart - 1], 0x0a, 'the header ends with a newline');
      assert.deepEqual(parseNpy(bytes).shape, shape);
    }
  }
});

test('malformed archives fail with errors that name the file and the problem', () => {
  const good = encodeNpz({ W: { shape: [2], data: Float32Array.of(1, 2) } });
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['empty', new Uint8Array(0), /too short for a zip archive/],
    ['not a zip', new TextEncoder().encode('this is certainly not a zip archive, just some text'), /no zip end-of-central-directory record/],
    ['truncated', good.subarray(0, good.length - 5), /end-of-central-directory/],
    ['not npy', encodeZipArchive([{ name: 'readme.txt', data: new Uint8Array(3) }]), /'readme\.txt' is not an \.npy array/],
    ['no magic', encodeZipArchive([{ name: 'x.npy', data: new TextEncoder().encode('hello world, no magic') }]), /missing the \\x93NUMPY magic/],
  ];
  for (const [label, bytes, pattern] of cases) {
    assert.throws(() => readAll(bytes, label), (e: Error) => e instanceof CheckpointFormatError && e.message.startsWith(label) && pattern.test(e.message), label);
  }
  assert.throws(() => NpzFile.fromBytes(good, 'g.npz').readArray('W_enc'), /g\.npz: no array named 'W_enc'; the archive holds 'W'/);
  // A header that promises more data than the array holds.
  const npy = encodeNpy({ shape: [4], data: new Float32Array(4) });
  const short = encodeZipArchive([{ name: 'x.npy', data: npy.subarray(0, npy.length - 4) }]);
  assert.throws(() => readAll(short), /needs 16 bytes of data but the array holds 12/);
  const badHeader = Uint8Array.from(npy);
  badHeader.set(new TextEncoder().encode("{'descr' '<f4'"), 10); // the colon is missing
  assert.throws(() => parseNpy(badHeader, 'bad'), (e: Error) => e instanceof CheckpointFormatError && /not a valid dict literal/.test(e.message));
});

test('fuzz: truncations and bit flips give a CheckpointFormatError or the exact original arrays', () => {
  const rng = new Random(11);
  const values = new Float32Array(40);
  rng.fillNormal(values);
  const arrays = { W_enc: { shape: [5, 8], data: values }, b: { shape: [3], data: Float32Array.of(1, -2, 3) } };
  let errors = 0;
  let survived = 0;
  for (const compression of ['stored', 'deflate'] as const) {
    const good = encodeNpz(arrays, { compression });
    const expected = readAll(good);
    for (let trial = 0; trial < 300; trial++) {
      let bytes: Uint8Array;
      const truncated = trial % 3 === 0;
      if (truncated) {
        bytes = good.slice(0, rng.int(good.length));
      } else {
        bytes = Uint8Array.from(good);
        const flips = 1 + rng.int(3);
        for (let f = 0; f < flips; f++) bytes[rng.int(bytes.length)] ^= 1 << rng.int(8);
      }
      try {
        const got = readAll(bytes, 'fuzz');
        assert.ok(!truncated, `a truncation to ${bytes.length} of ${good.length} bytes was accepted`);
        // Survivors changed only bytes nothing depends on (timestamps, version fields):
        // the CRC guarantees the data itself is intact.
        assert.deepEqual(got, expected);
        survived++;
      } catch (error) {
        if (error instanceof assert.AssertionError) throw error;
        assert.ok(error instanceof CheckpointFormatError, `expected a CheckpointFormatError, got ${String(error)}`);
        errors++;
      }
    }
  }
  assert.ok(errors > 300, `most corruptions must be detected (${errors} errors, ${survived} harmless)`);
});

test('a file truncated on disk fails when opened', () => {
  const path = join(workDir, 'cut.npz');
  writeNpz(path, { x: { shape: [64], data: new Float32Array(64).fill(1) } });
  const full = readFileSync(path);
  for (const keep of [0, 10, full.length - 23, full.length - 1]) {
    writeFileSync(path, full.subarray(0, keep));
    assert.throws(() => readNpz(path), CheckpointFormatError, `kept ${keep} bytes`);
  }
});
