import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { CheckpointFormatError } from '../src/io/errors.js';
import { bfloat16ToFloat32, float16ToFloat32, float32ToBfloat16, float32ToFloat16 } from '../src/io/floatFormats.js';
import { encodeSafetensors, SafetensorsFile, writeSafetensors } from '../src/io/safetensors.js';
import { Random } from '../src/tensor/random.js';

const workDir = mkdtempSync(join(tmpdir(), 'imprint-safetensors-'));
after(() => rmSync(workDir, { recursive: true, force: true }));
let fileCounter = 0;
const freshPath = (): string => join(workDir, `t${fileCounter++}.safetensors`);

function halfBits(values: number[]): number[] {
  return [...float32ToFloat16(Float32Array.from(values))];
}
function bfloatBits(values: number[]): number[] {
  return [...float32ToBfloat16(Float32Array.from(values))];
}
function float32FromBits(bits: number): number {
  return new Float32Array(Uint32Array.of(bits).buffer)[0];
}

// ---- float formats ----

test('float32 -> float16 gives the hand-computed bit patterns', () => {
  assert.deepEqual(halfBits([1, -2, 65504, 2 ** -14, 2 ** -24, 0, -0, Infinity, -Infinity]),
    [0x3c00, 0xc000, 0x7bff, 0x0400, 0x0001, 0x0000, 0x8000, 0x7c00, 0xfc00]);
  assert.deepEqual(halfBits([6.1035156e-5, 5.96e-8]), [0x0400, 0x0001], 'nearest values to the normal min and subnormal min');
  // Ties go to the even mantissa: 1 + 2^-11 lies halfway between 0x3c00 and 0x3c01.
  assert.deepEqual(halfBits([1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -11 + 2 ** -20]), [0x3c00, 0x3c02, 0x3c01]);
  // Subnormal ties and the carry from the largest subnormal into the smallest normal.
  assert.deepEqual(halfBits([2 ** -25, 3 * 2 ** -25, 1023.5 * 2 ** -24, -(2 ** -26)]), [0x0000, 0x0002, 0x0400, 0x8000]);
  // Overflow: 65519 still rounds down to 65504; 65520 is the tie that rounds to infinity.
  assert.deepEqual(halfBits([65519, 65520, 1e6, -1e6, 3.4e38]), [0x7bff, 0x7c00, 0x7c00, 0xfc00, 0x7c00]);
  const nanBits = float32ToFloat16(Float32Array.of(NaN, float32FromBits(0x7f800001), float32FromBits(0xffc00000)));
  for (const bits of nanBits) assert.ok((bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0, `NaN must stay NaN, got 0x${bits.toString(16)}`);
});

test('float16 -> float32 is exact for normals, subnormals, zeros, infinities and NaN', () => {
  const decoded = float16ToFloat32(Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0400, 0x0001, 0x03ff, 0x8001, 0x0000, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x7c01));
  assert.deepEqual([...decoded.slice(0, 8)], [1, -2, 65504, 2 ** -14, 2 ** -24, 1023 * 2 ** -24, -(2 ** -24), 0]);
  assert.ok(Object.is(decoded[8], -0), 'negative zero keeps its sign');
  assert.equal(decoded[9], Infinity);
  assert.equal(decoded[10], -Infinity);
  assert.ok(Number.isNaN(decoded[11]) && Number.isNaN(decoded[12]));
});

test('every float16 bit pattern survives float16 -> float32 -> float16 unchanged', () => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const back = float32ToFloat16(float16ToFloat32(all));
  for (let i = 0; i < all.length; i++) {
    const isNaN = (i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0;
    if (isNaN) assert.ok((back[i] & 0x7c00) === 0x7c00 && (back[i] & 0x3ff) !== 0, `NaN 0x${i.toString(16)}`);
    else if (back[i] !== i) assert.fail(`0x${i.toString(16)} came back as 0x${back[i].toString(16)}`);
  }
});

test('float32 <-> bfloat16 bit patterns, rounding and round trip', () => {
  assert.deepEqual(bfloatBits([1, -2, 0, -0, Infinity, -Infinity]), [0x3f80, 0xc000, 0x0000, 0x8000, 0x7f80, 0xff80]);
  assert.deepEqual(bfloatBits([1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20]), [0x3f80, 0x3f82, 0x3f81], 'ties to even');
  assert.deepEqual(bfloatBits([3.4028234663852886e38, -3.4028234663852886e38]), [0x7f80, 0xff80], 'overflow rounds to infinity');
  const nan = float32ToBfloat16(Float32Array.of(NaN, float32FromBits(0x7f800001)));
  for (const bits of nan) assert.ok((bits & 0x7f80) === 0x7f80 && (bits & 0x7f) !== 0, `NaN must stay NaN, got 0x${bits.toString(16)}`);
  const decoded = bfloat16ToFloat32(Uint16Array.of(0x3f80, 0xc000, 0x0001, 0x8000, 0x7f80, 0x7fc0));
  assert.deepEqual([...decoded.slice(0, 3)], [1, -2, float32FromBits(0x00010000)]);
  assert.ok(Object.is(decoded[3], -0));
  assert.equal(decoded[4], Infinity);
  assert.ok(Number.isNaN(decoded[5]));
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const back = float32ToBfloat16(bfloat16ToFloat32(all));
  for (let i = 0; i < all.length; i++) {
    const isNaN = (i & 0x7f80) === 0x7f80 && (i & 0x7f) !== 0;
    if (!isNaN && back[i] !== i) assert.fail(`0x${i.toString(16)} came back as 0x${back[i].toString(16)}`);
  }
});

test('random float32 data round-trips through float16 and bfloat16 within half an ulp', () => {
  const rng = new Random(7);
  const values = new Float32Array(10000);
  rng.fillNormal(values, 10);
  const viaHalf = float16ToFloat32(float32ToFloat16(values));
  const viaBfloat = bfloat16ToFloat32(float32ToBfloat16(values));
  for (let i = 0; i < values.length; i++) {
    const magnitude = Math.abs(values[i]);
    // Relative half-ulp bounds for normals, absolute bound in the float16 subnormal range.
    const halfBound = Math.max(magnitude * 2 ** -11, 2 ** -25);
    assert.ok(Math.abs(viaHalf[i] - values[i]) <= halfBound, `f16: ${values[i]} -> ${viaHalf[i]}`);
    assert.ok(Math.abs(viaBfloat[i] - values[i]) <= magnitude * 2 ** -8, `bf16: ${values[i]} -> ${viaBfloat[i]}`);
  }
});

test('conversions write into a given destination and reject one that is too short', () => {
  const dst = new Float32Array(3);
  assert.equal(float16ToFloat32(Uint16Array.of(0x3c00, 0x4000), dst), dst);
  assert.deepEqual([...dst], [1, 2, 0]);
  assert.throws(() => float32ToFloat16(new Float32Array(4), new Uint16Array(2)), /at least 4/);
});

// ---- write / read round trip ----

test('F32 tensors, metadata, zero-size and scalar tensors round-trip exactly', () => {
  const path = freshPath();
  const rng = new Random(1);
  const matrix = new Float32Array(12);
  rng.fillNormal(matrix);
  writeSafetensors(path, [
    { name: 'layer.weight', shape: [3, 4], data: matrix },
    { name: 'empty', shape: [0, 5], data: new Float32Array(0) },
    { name: 'scale', shape: [], data: Float32Array.of(-2.5) },
    { name: 'odd', shape: [3], data: Float32Array.of(1, 2, 3) },
  ], { format: 'pt', note: 'hello' });
  const bytes = readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  assert.equal((8 + headerLength) % 8, 0, 'data region starts 8-byte aligned');
  const file = SafetensorsFile.open(path);
  try {
    assert.deepEqual(file.metadata, { format: 'pt', note: 'hello' });
    assert.deepEqual([...file.entries.keys()], ['layer.weight', 'empty', 'scale', 'odd'], 'header order kept');
    assert.deepEqual(file.entries.get('layer.weight')?.shape, [3, 4]);
    assert.equal(file.entries.get('layer.weight')?.byteOffset, 8 + headerLength);
    assert.deepEqual(file.readFloat32('layer.weight'), matrix);
    assert.deepEqual(file.readFloat32('empty'), new Float32Array(0));
    assert.deepEqual(file.entries.get('scale')?.shape, []);
    assert.deepEqual(file.readFloat32('scale'), Float32Array.of(-2.5));
    assert.deepEqual(file.readFloat32('odd'), Float32Array.of(1, 2, 3));
    assert.deepEqual(file.readBytes('scale'), new Uint8Array(Float32Array.of(-2.5).buffer));
    assert.equal(file.has('scale'), true);
    assert.equal(file.has('missing'), false);
    assert.throws(() => file.readFloat32('missing'), (e: unknown) => e instanceof CheckpointFormatError && /no tensor named 'missing'.*'layer\.weight'/.test(e.message));
  } finally {
    file.close();
  }
  assert.throws(() => file.readBytes('scale'), /closed/);
});

test('F16 and BF16 tensors are stored as 16-bit and read back as float32', () => {
  const path = freshPath();
  const values = Float32Array.of(1, -2, 0.1, 1000.5, 3e-6, -0);
  writeSafetensors(path, [
    { name: 'half', shape: [2, 3], data: values, dtype: 'F16' },
    { name: 'brain', shape: [6], data: values, dtype: 'BF16' },
  ]);
  const file = SafetensorsFile.open(path);
  try {
    assert.equal(file.entries.get('half')?.dtype, 'F16');
    assert.equal(file.entries.get('half')?.byteLength, 12);
    assert.equal(file.entries.get('brain')?.dtype, 'BF16');
    assert.deepEqual(file.metadata, {});
    assert.deepEqual(file.readFloat32('half'), float16ToFloat32(float32ToFloat16(values)));
    assert.deepEqual(file.readFloat32('brain'), bfloat16ToFloat32(float32ToBfloat16(values)));
    assert.equal(file.readFloat32('half')[3], 1000.5, 'exactly representable values stay exact');
  } finally {
    file.close();
  }
});

test('the writer rejects bad tensors before writing anything', () => {
  const path = freshPath();
  const bad = (tensors: Parameters<typeof writeSafetensors>[1], pattern: RegExp): void => {
    assert.throws(() => writeSafetensors(path, tensors), (e: unknown) => e instanceof CheckpointFormatError && pattern.test(e.message));
  };
  bad([{ name: 'w', shape: [2, 3], data: new Float32Array(5) }], /'w': shape \[2, 3\] holds 6 values but data has 5/);
  bad([{ name: 'w', shape: [1], data: new Float32Array(1) }, { name: 'w', shape: [1], data: new Float32Array(1) }], /'w' appears twice/);
  bad([{ name: '', shape: [1], data: new Float32Array(1) }], /non-empty/);
  bad([{ name: 'w', shape: [-1], data: new Float32Array(1) }], /non-negative/);
  assert.equal(existsSync(path), false);
});

// ---- malformed files ----

function validFileBytes(): Buffer {
  const chunks = encodeSafetensors([
    { name: 'a', shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) },
    { name: 'b', shape: [3], data: Float32Array.of(5, 6, 7), dtype: 'F16' },
  ], { format: 'pt' });
  return Buffer.concat(chunks);
}

function handMade(header: string | object, dataBytes: number, declaredLength?: bigint): string {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(declaredLength ?? BigInt(json.length));
  const path = freshPath();
  writeFileSync(path, Buffer.concat([prefix, json, Buffer.alloc(dataBytes)]));
  return path;
}

function assertBadFile(path: string, pattern: RegExp): void {
  assert.throws(() => SafetensorsFile.open(path).close(), (e: unknown) => {
    assert.ok(e instanceof CheckpointFormatError, `expected CheckpointFormatError, got ${String(e)}`);
    assert.equal(e.file, path);
    assert.match(e.message, pattern);
    return true;
  });
}

test('malformed files fail with a CheckpointFormatError that names the problem', () => {
  const good = { x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const truncated = freshPath();
  writeFileSync(truncated, validFileBytes().subarray(0, validFileBytes().length - 3));
  assertBadFile(truncated, /tensor 'b' ends at byte \d+ but the file has only \d+ bytes; the file is truncated/);

  const short = freshPath();
  writeFileSync(short, Buffer.from([1, 2, 3]));
  assertBadFile(short, /3 bytes, shorter than the 8-byte header length/);

  assertBadFile(handMade(good, 8, 10_000n), /header length 10000 runs past the end of the file/);
  assertBadFile(handMade(good, 8, 2n ** 40n), /larger than the .*limit/);
  assertBadFile(handMade(good, 8, 0n), /header length is 0/);
  assertBadFile(handMade('{"x": {"dtype": "F32", "shape": [2]', 8), /not valid JSON/);
  assertBadFile(handMade('[1, 2]', 8), /not an object/);
  const notUtf8 = handMade('{"\xff": 1}', 0);
  const raw = readFileSync(notUtf8);
  raw[10] = 0xff;
  writeFileSync(notUtf8, raw);
  assertBadFile(notUtf8, /UTF-8/);
  assertBadFile(handMade({
    x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    y: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
  }, 12), /tensors 'x' and 'y' overlap/);
  assertBadFile(handMade({ x: { dtype: 'F33', shape: [2], data_offsets: [0, 8] } }, 8), /tensor 'x': unknown dtype 'F33'/);
  assertBadFile(handMade({ x: { dtype: 7, shape: [2], data_offsets: [0, 8] } }, 8), /tensor 'x': dtype must be a string/);
  assertBadFile(handMade({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 12), /tensor 'x': data_offsets \[0, 8\] span 8 bytes but shape \[3\] of F32 needs 12/);
  assertBadFile(handMade({ x: { dtype: 'F32', shape: [2.5], data_offsets: [0, 8] } }, 8), /tensor 'x': shape must be an array of non-negative integers/);
  assertBadFile(handMade({ x: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, 8), /tensor 'x': data_offsets must be \[begin, end\]/);
  assertBadFile(handMade({ x: { dtype: 'F32', shape: [2] } }, 8), /tensor 'x': data_offsets/);
  assertBadFile(handMade({ x: 'nope' }, 8), /tensor 'x': entry must be an object/);
  assertBadFile(handMade({ __metadata__: { format: 1 }, ...good }, 8), /__metadata__\.format must be a string/);
  assertBadFile(handMade({ __metadata__: ['pt'], ...good }, 8), /__metadata__ must be an object/);
});

test('header padded with trailing spaces and F64 tensors are read', () => {
  const path = handMade(`${JSON.stringify({ d: { dtype: 'F64', shape: [2], data_offsets: [0, 16] }, i: { dtype: 'I32', shape: [1], data_offsets: [16, 20] } })}      `, 0);
  const bytes = readFileSync(path);
  writeFileSync(path, Buffer.concat([bytes, Buffer.from(Float64Array.of(0.5, -3).buffer), Buffer.from(Int32Array.of(9).buffer)]));
  const file = SafetensorsFile.open(path);
  try {
    assert.deepEqual(file.readFloat32('d'), Float32Array.of(0.5, -3));
    assert.throws(() => file.readFloat32('i'), /tensor 'i' has dtype I32; only F32, F16, BF16 and F64/);
    assert.deepEqual(file.readBytes('i'), new Uint8Array(Int32Array.of(9).buffer));
  } finally {
    file.close();
  }
});

test('a file truncated after it was opened gives an error, not garbage', () => {
  const path = freshPath();
  writeFileSync(path, validFileBytes());
  const file = SafetensorsFile.open(path);
  try {
    truncateSync(path, file.entries.get('b')!.byteOffset + 2);
    assert.deepEqual(file.readFloat32('a'), Float32Array.of(1, 2, 3, 4));
    assert.throws(() => file.readFloat32('b'), (e: unknown) => e instanceof CheckpointFormatError && /tensor 'b': expected 6 bytes .* ends after 2/.test(e.message));
  } finally {
    file.close();
  }
});

test('fuzz: random byte flips and truncations either load or fail with CheckpointFormatError', () => {
  const original = validFileBytes();
  const rng = new Random(2024);
  const path = freshPath();
  let loaded = 0;
  let rejected = 0;
  for (let round = 0; round < 200; round++) {
    let mutated = Buffer.from(original);
    if (rng.uniform() < 0.3) {
      mutated = mutated.subarray(0, rng.int(mutated.length));
    } else {
      const flips = 1 + rng.int(4);
      // Bias half the flips into the 8-byte length prefix and header, where structure lives.
      for (let f = 0; f < flips; f++) mutated[rng.int(rng.uniform() < 0.5 ? 8 + 40 : mutated.length)] ^= 1 << rng.int(8);
    }
    writeFileSync(path, mutated);
    try {
      const file = SafetensorsFile.open(path);
      try {
        for (const name of file.entries.keys()) {
          file.readBytes(name);
          try { file.readFloat32(name); } catch (e) { if (!(e instanceof CheckpointFormatError)) throw e; }
        }
      } finally {
        file.close();
      }
      loaded++;
    } catch (error) {
      assert.ok(error instanceof CheckpointFormatError, `round ${round}: unexpected ${String(error)}`);
      rejected++;
    }
  }
  assert.ok(rejected > 0 && loaded > 0, `both outcomes should occur (loaded ${loaded}, rejected ${rejected})`);
});

test('writes leave no temporary files behind', () => {
  writeSafetensors(freshPath(), [{ name: 'x', shape: [1], data: Float32Array.of(1) }]);
  assert.deepEqual(readdirSync(workDir).filter((n) => n.includes('.tmp-')), []);
});

// ---- the real fixture ----

const fixtureDir = fileURLToPath(new URL('../../../shared/fixtures/gpt2-random', import.meta.url));
const fixtureFile = join(fixtureDir, 'model.safetensors');

test('reads the Hugging Face GPT-2 fixture', { skip: existsSync(fixtureFile) ? false : `fixture absent: ${fixtureFile}` }, () => {
  const file = SafetensorsFile.open(fixtureFile);
  try {
    assert.deepEqual(file.metadata, { format: 'pt' });
    const attention = file.entries.get('transformer.h.0.attn.c_attn.weight');
    assert.ok(attention, 'c_attn weight present');
    assert.deepEqual(attention.shape, [2, 6], 'Conv1D layout [in, out]');
    assert.equal(attention.dtype, 'F32');
    assert.deepEqual(file.entries.get('transformer.wte.weight')?.shape, [50257, 2]);
    let total = 0;
    for (const [name, entry] of file.entries) {
      const values = file.readFloat32(name);
      assert.equal(values.length, entry.shape.reduce((a, b) => a * b, 1), name);
      for (const v of values) if (!Number.isFinite(v)) assert.fail(`${name} has a non-finite value`);
      total += values.length;
    }
    assert.ok(total > 100000, 'the embedding dominates the parameter count');
  } finally {
    file.close();
  }
});
