import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheckpointFormatError } from '../src/io/errors.js';
import { GgmlType, GgufTokenType } from '../src/io/gguf/format.js';
import { exportLlamaGguf, permuteRowsForInterleavedRope } from '../src/io/gguf/llamaExport.js';
import { readGgufInfo, readGgufTensorFloat32, type GgufInfo } from '../src/io/gguf/reader.js';
import { tokenizerToGgufMetadata } from '../src/io/gguf/tokenizerMetadata.js';
import { writeGguf, type GgufMetadataValue, type GgufTensorToWrite } from '../src/io/gguf/writer.js';
import { Random } from '../src/tensor/random.js';
import { randomLlamaCheckpoint, tinyByteLevelTokenizer, tinyTokenizerSize, weightSourceOf } from './support/tinyLlama.js';

const gpt2Fixture = fileURLToPath(new URL('../../../shared/fixtures/gpt2-random', import.meta.url));

function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), 'imprint-gguf-'));
}

function randomData(seed: number, n: number, std = 1): Float32Array {
  const data = new Float32Array(n);
  new Random(seed).fillNormal(data, std);
  return data;
}

function tensorInfo(info: GgufInfo, name: string) {
  const tensor = info.tensors.find((t) => t.name === name);
  assert.ok(tensor, `tensor ${name} missing; have ${info.tensors.map((t) => t.name).join(', ')}`);
  return tensor;
}

/** F16 keeps 11 significant bits: half an ulp of relative error, or half the smallest subnormal. */
function assertWithinHalfPrecision(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const tolerance = Math.max(Math.abs(expected[i]) * 2 ** -11, 2 ** -25);
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

const EVERY_TYPE: Array<[string, GgufMetadataValue]> = [
  ['test.uint8', { type: 'uint8', value: 255 }],
  ['test.int8', { type: 'int8', value: -128 }],
  ['test.uint16', { type: 'uint16', value: 65535 }],
  ['test.int16', { type: 'int16', value: -32768 }],
  ['test.uint32', { type: 'uint32', value: 4294967295 }],
  ['test.int32', { type: 'int32', value: -2147483648 }],
  ['test.uint64', { type: 'uint64', value: 18446744073709551615n }],
  ['test.int64', { type: 'int64', value: -9223372036854775808n }],
  ['test.float32', { type: 'float32', value: 0.15625 }],
  ['test.float64', { type: 'float64', value: Math.PI }],
  ['test.bool_true', { type: 'bool', value: true }],
  ['test.bool_false', { type: 'bool', value: false }],
  ['test.string', { type: 'string', value: 'héllo, 東京 🙂' }],
  ['test.empty_string', { type: 'string', value: '' }],
  ['test.strings', { type: 'array', itemType: 'string', value: ['a', '', 'Ġthe', '<|eos|>'] }],
  ['test.int32s', { type: 'array', itemType: 'int32', value: [1, -2, 2147483647] }],
  ['test.uint32s', { type: 'array', itemType: 'uint32', value: [0, 4294967295] }],
  ['test.float32s', { type: 'array', itemType: 'float32', value: [0.5, -1.25, 1e-3] }],
  ['test.bools', { type: 'array', itemType: 'bool', value: [true, false] }],
  ['test.uint64s', { type: 'array', itemType: 'uint64', value: [0n, 1n << 60n] }],
  ['test.empty_array', { type: 'array', itemType: 'int32', value: [] }],
];

test('metadata of every value type round-trips through writer and reader', () => {
  const dir = scratchDir();
  try {
    const path = join(dir, 'meta.gguf');
    writeGguf(path, EVERY_TYPE, []);
    const info = readGgufInfo(path);
    assert.equal(info.version, 3);
    assert.equal(info.tensors.length, 0);
    assert.equal(info.metadata.size, EVERY_TYPE.length);
    for (const [key, entry] of EVERY_TYPE) {
      const got = info.metadata.get(key);
      if (entry.type === 'float32') assert.equal(got, Math.fround(entry.value as number), key);
      else if (entry.type === 'array' && entry.itemType === 'float32') assert.deepEqual(got, entry.value.map((v) => Math.fround(v as number)), key);
      else assert.deepEqual(got, entry.value, key);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('F32 tensors round-trip exactly and F16 within half precision, with dims reversed to GGUF order', () => {
  const dir = scratchDir();
  try {
    const path = join(dir, 'tensors.gguf');
    const matrix = randomData(1, 3 * 5);
    const cube = randomData(2, 2 * 3 * 7, 10);
    const vector = randomData(3, 9, 1e-3);
    // Values that stress rounding: subnormal halves, the largest half, ties.
    const edges = new Float32Array([0, -0, 65504, -65504, 2 ** -24, 3 * 2 ** -25, 1 + 2 ** -11, 1 + 3 * 2 ** -11]);
    writeGguf(path, [['general.architecture', { type: 'string', value: 'test' }]], [
      { name: 'matrix', shape: [3, 5], data: matrix, type: 'F32' },
      { name: 'matrix.f16', shape: [3, 5], data: matrix, type: 'F16' },
      { name: 'cube.f16', shape: [2, 3, 7], data: cube, type: 'F16' },
      { name: 'vector', shape: [9], data: vector, type: 'F32' },
      { name: 'edges.f16', shape: [8], data: edges, type: 'F16' },
    ]);
    const info = readGgufInfo(path);
    assert.deepEqual(tensorInfo(info, 'matrix').dims, [5, 3]);
    assert.deepEqual(tensorInfo(info, 'cube.f16').dims, [7, 3, 2]);
    assert.equal(tensorInfo(info, 'matrix').type, GgmlType.F32);
    assert.equal(tensorInfo(info, 'matrix.f16').type, GgmlType.F16);
    assert.deepEqual(readGgufTensorFloat32(path, info, 'matrix'), matrix);
    assert.deepEqual(readGgufTensorFloat32(path, info, 'vector'), vector);
    assertWithinHalfPrecision(readGgufTensorFloat32(path, info, 'matrix.f16'), matrix, 'matrix.f16');
    assertWithinHalfPrecision(readGgufTensorFloat32(path, info, 'cube.f16'), cube, 'cube.f16');
    // Round to nearest even: 1 + 2^-11 is a tie that goes down to 1, 1 + 3*2^-11 goes up.
    assert.deepEqual([...readGgufTensorFloat32(path, info, 'edges.f16')], [0, -0, 65504, -65504, 2 ** -24, 2 ** -23, 1, 1 + 2 ** -9]);
    assert.throws(() => readGgufTensorFloat32(path, info, 'missing'), (e: Error) => e instanceof CheckpointFormatError && /no tensor "missing"/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tensor data offsets are aligned and tensors are packed back to back', () => {
  const dir = scratchDir();
  try {
    for (const alignment of [32, 64, 256]) {
      const path = join(dir, `aligned-${alignment}.gguf`);
      const sizes = [7, 1, 33, 16, 5];
      const tensors: GgufTensorToWrite[] = sizes.map((n, i) => ({ name: `t${i}`, shape: [n], data: randomData(i, n), type: i % 2 === 0 ? 'F16' : 'F32' }));
      writeGguf(path, [['general.name', { type: 'string', value: 'odd header length ' }]], tensors, { alignment });
      const info = readGgufInfo(path);
      assert.equal(info.alignment, alignment);
      assert.equal(info.metadata.get('general.alignment'), alignment === 32 ? undefined : alignment);
      assert.equal(info.dataOffset % alignment, 0);
      assert.equal(info.tensors[0].offset, info.dataOffset);
      info.tensors.forEach((tensor, i) => {
        assert.equal(tensor.offset % alignment, 0, `${tensor.name} at ${tensor.offset}`);
        const bytes = sizes[i] * (i % 2 === 0 ? 2 : 4);
        const end = tensor.offset + Math.ceil(bytes / alignment) * alignment;
        // llama.cpp requires each tensor to start exactly at the padded end of the previous one.
        assert.equal(i + 1 < sizes.length ? info.tensors[i + 1].offset : readFileSync(path).length, end, `after ${tensor.name}`);
        const bytesOnDisk = readFileSync(path).subarray(tensor.offset + bytes, end);
        assert.ok(bytesOnDisk.every((b) => b === 0), 'padding is zero');
      });
      assertWithinHalfPrecision(readGgufTensorFloat32(path, info, 't2'), tensors[2].data, 't2');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writer rejects bad input, naming the tensor or key, and leaves no file behind', () => {
  const dir = scratchDir();
  try {
    const path = join(dir, 'bad.gguf');
    const ok = { name: 'w', shape: [2, 2], data: new Float32Array(4), type: 'F32' } as const;
    const cases: Array<[string, () => void, RegExp]> = [
      ['shape mismatch', () => writeGguf(path, [], [{ ...ok, shape: [2, 3] }]), /tensor "w".*needs 6.*got 4/],
      ['duplicate tensor', () => writeGguf(path, [], [ok, ok]), /tensor "w" appears twice/],
      ['too many dims', () => writeGguf(path, [], [{ ...ok, shape: [1, 1, 1, 2, 2] }]), /tensor "w": shape/],
      ['long name', () => writeGguf(path, [], [{ ...ok, name: 'x'.repeat(64) }]), /longer than 63 bytes/],
      ['uint32 out of range', () => writeGguf(path, [['k', { type: 'uint32', value: -1 }]], []), /metadata "k".*uint32/],
      ['int8 not an integer', () => writeGguf(path, [['k', { type: 'int8', value: 1.5 }]], []), /metadata "k".*integer/],
      ['bad array item', () => writeGguf(path, [['list', { type: 'array', itemType: 'string', value: ['a', 3] }]], []), /metadata "list"\[1\].*string/],
      ['duplicate key', () => writeGguf(path, [['k', { type: 'bool', value: true }], ['k', { type: 'bool', value: false }]], []), /"k" appears twice/],
      ['bad alignment', () => writeGguf(path, [], [ok], { alignment: 48 }), /power of two/],
      ['conflicting alignment key', () => writeGguf(path, [['general.alignment', { type: 'uint32', value: 64 }]], [ok]), /general.alignment/],
    ];
    for (const [label, run, message] of cases) {
      assert.throws(run, (e: Error) => e instanceof CheckpointFormatError && message.test(e.message) && e.message.startsWith(path), label);
    }
    assert.equal(existsSync(path), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('garbage, wrong versions and truncated or bit-flipped files are rejected with errors naming the file', () => {
  const dir = scratchDir();
  try {
    const notGguf = join(dir, 'text.gguf');
    writeFileSync(notGguf, 'this is certainly not a GGUF file, just text long enough');
    assert.throws(() => readGgufInfo(notGguf), (e: Error) => e instanceof CheckpointFormatError && e.message.startsWith(notGguf) && /not a GGUF file: magic/.test(e.message));
    const empty = join(dir, 'empty.gguf');
    writeFileSync(empty, '');
    assert.throws(() => readGgufInfo(empty), /shorter than the 24-byte header/);
    assert.throws(() => readGgufInfo(join(dir, 'absent.gguf')), /cannot open GGUF file/);

    const path = join(dir, 'good.gguf');
    // 8 F32 values = 32 bytes: the file has no trailing padding, so any cut hits data.
    writeGguf(path, EVERY_TYPE, [
      { name: 'a', shape: [4, 8], data: randomData(4, 32), type: 'F16' },
      { name: 'b', shape: [8], data: randomData(5, 8), type: 'F32' },
    ]);
    const good = readFileSync(path);
    const wrongVersion = Buffer.from(good);
    wrongVersion.writeUInt32LE(1, 4);
    writeFileSync(join(dir, 'v1.gguf'), wrongVersion);
    assert.throws(() => readGgufInfo(join(dir, 'v1.gguf')), /unsupported GGUF version 1/);
    const hugeString = Buffer.from(good);
    hugeString.writeBigUInt64LE(1n << 62n, 24); // length of the first key
    writeFileSync(join(dir, 'huge.gguf'), hugeString);
    assert.throws(() => readGgufInfo(join(dir, 'huge.gguf')), /string length\) is 4611686018427387904, but only \d+ bytes remain/);

    const headerEnd = readGgufInfo(path).dataOffset;
    const random = new Random(2024);
    const fuzzed = join(dir, 'fuzzed.gguf');
    let flipsRejected = 0;
    for (let round = 0; round < 100; round++) {
      const truncate = round % 2 === 0;
      const bytes = truncate ? good.subarray(0, random.int(good.length)) : Buffer.from(good);
      if (!truncate) {
        const at = random.int(headerEnd);
        bytes[at] ^= 1 << random.int(8);
      }
      writeFileSync(fuzzed, bytes);
      try {
        const info = readGgufInfo(fuzzed);
        for (const t of info.tensors) if (t.type <= 1) readGgufTensorFloat32(fuzzed, info, t.name);
        assert.ok(!truncate, `a file cut to ${bytes.length} of ${good.length} bytes was accepted`);
      } catch (error) {
        // Anything but our own error (a RangeError from a DataView, a huge allocation) is a crash.
        assert.ok(error instanceof CheckpointFormatError, `round ${round}: ${String(error)}`);
        assert.ok((error as Error).message.startsWith(fuzzed));
        if (!truncate) flipsRejected++;
      }
    }
    // Most flips land in lengths, counts, types or key text and must be caught.
    assert.ok(flipsRejected >= 10, `only ${flipsRejected} of 50 header bit flips were detected`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The q/k row order llama.cpp expects, spelled as numpy would: view rows as [heads, 2, headDim/2], swap the last two axes. */
function referencePermutation(rows: number, heads: number): number[] {
  const half = rows / heads / 2;
  const sourceRowOf: number[] = [];
  for (let h = 0; h < heads; h++) for (let j = 0; j < half; j++) for (let part = 0; part < 2; part++) sourceRowOf.push((h * 2 + part) * half + j);
  return sourceRowOf;
}

test('q/k rows are permuted from rotate_half to interleaved rotary pairs', () => {
  const heads = 3;
  const headDim = 8;
  const cols = 5;
  const rows = heads * headDim;
  const weights = randomData(11, rows * cols);
  const permuted = permuteRowsForInterleavedRope(weights, rows, cols, heads);
  const sourceRowOf = referencePermutation(rows, heads);
  for (let r = 0; r < rows; r++) {
    assert.deepEqual(permuted.subarray(r * cols, (r + 1) * cols), weights.subarray(sourceRowOf[r] * cols, (sourceRowOf[r] + 1) * cols), `row ${r}`);
  }
  // Semantics: rotating HF's q with rotate_half, then permuting, equals rotating the
  // permuted q with adjacent pairs, for every position and frequency.
  const x = randomData(12, cols);
  const project = (w: Float32Array): number[] => Array.from({ length: rows }, (_, r) => w.subarray(r * cols, (r + 1) * cols).reduce((s, v, c) => s + v * x[c], 0));
  const angle = (pos: number, i: number): number => pos * 10000 ** (-(2 * i) / headDim);
  for (const pos of [0, 1, 7]) {
    const q = project(weights);
    const qPermuted = project(permuted);
    const halfSplit = q.slice();
    const interleaved = qPermuted.slice();
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < headDim / 2; i++) {
        const [c, s] = [Math.cos(angle(pos, i)), Math.sin(angle(pos, i))];
        const [a, b] = [q[h * headDim + i], q[h * headDim + i + headDim / 2]];
        halfSplit[h * headDim + i] = a * c - b * s;
        halfSplit[h * headDim + i + headDim / 2] = b * c + a * s;
        const [a2, b2] = [qPermuted[h * headDim + 2 * i], qPermuted[h * headDim + 2 * i + 1]];
        interleaved[h * headDim + 2 * i] = a2 * c - b2 * s;
        interleaved[h * headDim + 2 * i + 1] = b2 * c + a2 * s;
      }
    }
    for (let r = 0; r < rows; r++) assert.ok(Math.abs(interleaved[r] - halfSplit[sourceRowOf[r]]) < 1e-6, `pos ${pos} row ${r}`);
  }
  assert.throws(() => permuteRowsForInterleavedRope(weights, rows, cols, 5), /do not split into 5 heads/);
});

interface ExportCase {
  label: string;
  tied: boolean;
  type: 'F32' | 'F16';
  kvHeads: number;
  ropeScaling?: { rope_type: string; factor: number; low_freq_factor: number; high_freq_factor: number; original_max_position_embeddings: number };
}

const LLAMA3_SCALING = { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 };

function exportTinyLlama(dir: string, c: ExportCase) {
  const { tokenizerJson, tokenizerConfig } = tinyByteLevelTokenizer();
  const vocabSize = tinyTokenizerSize() + 3; // a few unused rows, as real checkpoints pad
  const checkpoint = randomLlamaCheckpoint({ seed: 7, vocabSize, hidden: 32, layers: 2, heads: 4, kvHeads: c.kvHeads, intermediate: 48, tied: c.tied, ropeScaling: c.ropeScaling, ropeTheta: 500 });
  const path = join(dir, `${c.label}.gguf`);
  exportLlamaGguf(path, { config: checkpoint.config, weights: weightSourceOf(checkpoint.tensors), tokenizerJson, tokenizerConfig, name: c.label }, { type: c.type });
  return { path, checkpoint, vocabSize };
}

const EXPORT_CASES: ExportCase[] = [
  { label: 'untied-gqa-llama3-f32', tied: false, type: 'F32', kvHeads: 2, ropeScaling: LLAMA3_SCALING },
  { label: 'untied-gqa-llama3-f16', tied: false, type: 'F16', kvHeads: 2, ropeScaling: LLAMA3_SCALING },
  { label: 'tied-mha-f32', tied: true, type: 'F32', kvHeads: 4 },
  { label: 'tied-mha-f16', tied: true, type: 'F16', kvHeads: 4 },
];

test('a random Llama exports with the expected tensors, dims, types, values and metadata', () => {
  const dir = scratchDir();
  try {
    for (const c of EXPORT_CASES) {
      const { path, checkpoint, vocabSize } = exportTinyLlama(dir, c);
      const info = readGgufInfo(path);
      const hf = (name: string) => checkpoint.tensors.get(name)!.data;
      const headDim = 8;
      const expectedDims: Record<string, number[]> = {
        'token_embd.weight': [32, vocabSize],
        'output_norm.weight': [32],
        'blk.1.attn_norm.weight': [32],
        'blk.1.attn_q.weight': [32, 4 * headDim],
        'blk.1.attn_k.weight': [32, c.kvHeads * headDim],
        'blk.1.attn_v.weight': [32, c.kvHeads * headDim],
        'blk.1.attn_output.weight': [4 * headDim, 32],
        'blk.1.ffn_norm.weight': [32],
        'blk.1.ffn_gate.weight': [32, 48],
        'blk.1.ffn_up.weight': [32, 48],
        'blk.1.ffn_down.weight': [48, 32],
      };
      if (!c.tied) expectedDims['output.weight'] = [32, vocabSize];
      if (c.ropeScaling) expectedDims['rope_freqs.weight'] = [headDim / 2];
      for (const [name, dims] of Object.entries(expectedDims)) {
        const tensor = tensorInfo(info, name);
        assert.deepEqual(tensor.dims, dims, `${c.label} ${name}`);
        assert.equal(tensor.type, dims.length === 1 || c.type === 'F32' ? GgmlType.F32 : GgmlType.F16, `${c.label} ${name} type`);
      }
      assert.equal(info.tensors.length, 1 + 2 * 9 + 1 + (c.tied ? 0 : 1) + (c.ropeScaling ? 1 : 0), c.label);

      const read = (name: string) => readGgufTensorFloat32(path, info, name);
      const same = c.type === 'F32' ? (a: Float32Array, b: Float32Array, what: string) => assert.deepEqual(a, b, what) : assertWithinHalfPrecision;
      same(read('blk.1.attn_v.weight'), hf('model.layers.1.self_attn.v_proj.weight'), 'attn_v');
      same(read('token_embd.weight'), hf('model.embed_tokens.weight'), 'token_embd');
      assert.deepEqual(read('blk.0.ffn_norm.weight'), hf('model.layers.0.post_attention_layernorm.weight'));
      const kRows = c.kvHeads * headDim;
      same(read('blk.0.attn_k.weight'), permuteRowsForInterleavedRope(hf('model.layers.0.self_attn.k_proj.weight'), kRows, 32, c.kvHeads), 'attn_k');
      const qOrder = referencePermutation(32, 4);
      const q = read('blk.1.attn_q.weight');
      const hfQ = hf('model.layers.1.self_attn.q_proj.weight');
      same(q.subarray(5 * 32, 6 * 32), hfQ.subarray(qOrder[5] * 32, (qOrder[5] + 1) * 32), 'attn_q row 5');

      const meta = info.metadata;
      assert.equal(meta.get('general.architecture'), 'llama');
      assert.equal(meta.get('general.name'), c.label);
      assert.equal(meta.get('general.file_type'), c.type === 'F32' ? 0 : 1);
      assert.equal(meta.get('llama.block_count'), 2);
      assert.equal(meta.get('llama.embedding_length'), 32);
      assert.equal(meta.get('llama.feed_forward_length'), 48);
      assert.equal(meta.get('llama.context_length'), 256);
      assert.equal(meta.get('llama.attention.head_count'), 4);
      assert.equal(meta.get('llama.attention.head_count_kv'), c.kvHeads);
      assert.equal(meta.get('llama.attention.key_length'), headDim);
      assert.equal(meta.get('llama.attention.value_length'), headDim);
      assert.equal(meta.get('llama.rope.dimension_count'), headDim);
      assert.equal(meta.get('llama.rope.freq_base'), 500);
      assert.equal(meta.get('llama.attention.layer_norm_rms_epsilon'), Math.fround(1e-5));
      assert.equal(meta.get('llama.vocab_size'), vocabSize);
      assert.equal((meta.get('tokenizer.ggml.tokens') as string[]).length, vocabSize);
      assert.equal(meta.get('tokenizer.ggml.pre'), 'gpt-2');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('llama3 rope_scaling becomes divisors matching Hugging Face\'s scaled inverse frequencies', () => {
  const dir = scratchDir();
  try {
    const { path } = exportTinyLlama(dir, EXPORT_CASES[0]);
    const info = readGgufInfo(path);
    const divisors = readGgufTensorFloat32(path, info, 'rope_freqs.weight');
    // Hugging Face's rule, written as it states it: scale inv_freq by band.
    const { factor, low_freq_factor: low, high_freq_factor: high, original_max_position_embeddings: original } = LLAMA3_SCALING;
    const headDim = 8;
    const expected = Array.from({ length: headDim / 2 }, (_, i) => {
      const invFreq = 1 / 500 ** ((2 * i) / headDim);
      const wavelength = (2 * Math.PI) / invFreq;
      const smooth = (original / wavelength - low) / (high - low);
      const scaled = wavelength < original / high ? invFreq
        : wavelength > original / low ? invFreq / factor
          : (1 - smooth) * (invFreq / factor) + smooth * invFreq;
      return invFreq / scaled;
    });
    assert.equal(divisors.length, headDim / 2);
    for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(divisors[i] - expected[i]) < 1e-5, `divisor ${i}: ${divisors[i]} vs ${expected[i]}`);
    // The chosen sizes put frequencies in all three bands.
    assert.equal(divisors[0], 1);
    assert.ok(divisors[1] > 1 && divisors[1] < factor, `smooth band: ${divisors[1]}`);
    assert.equal(divisors[3], factor);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('export refuses other architectures, missing or misshapen tensors, and unknown extras', () => {
  const dir = scratchDir();
  try {
    const { tokenizerJson, tokenizerConfig } = tinyByteLevelTokenizer();
    const checkpoint = randomLlamaCheckpoint({ seed: 1, vocabSize: tinyTokenizerSize(), hidden: 16, layers: 1, heads: 2, kvHeads: 1, intermediate: 24, tied: false });
    const path = join(dir, 'bad.gguf');
    const attempt = (config: object, tensors: Map<string, { shape: number[]; data: Float32Array }>) =>
      () => exportLlamaGguf(path, { config, weights: weightSourceOf(tensors), tokenizerJson, tokenizerConfig }, { type: 'F32' });
    assert.throws(attempt({ ...checkpoint.config, model_type: 'qwen2' }, checkpoint.tensors), /model_type is "qwen2"/);
    const missing = new Map(checkpoint.tensors);
    missing.delete('model.layers.0.mlp.up_proj.weight');
    assert.throws(attempt(checkpoint.config, missing), /no tensor "model.layers.0.mlp.up_proj.weight"/);
    const misshapen = new Map(checkpoint.tensors);
    misshapen.set('model.layers.0.self_attn.k_proj.weight', { shape: [16, 16], data: new Float32Array(256) });
    assert.throws(attempt(checkpoint.config, misshapen), /"model.layers.0.self_attn.k_proj.weight" has shape \[16, 16\], expected \[8, 16\]/);
    const extra = new Map(checkpoint.tensors);
    extra.set('model.layers.0.self_attn.q_proj.bias', { shape: [16], data: new Float32Array(16) });
    assert.throws(attempt(checkpoint.config, extra), /"model.layers.0.self_attn.q_proj.bias" has no place/);
    assert.throws(attempt({ ...checkpoint.config, rope_scaling: { rope_type: 'yarn', factor: 4 } }, checkpoint.tensors), /rope_scaling type "yarn"/);
    assert.throws(attempt({ ...checkpoint.config, vocab_size: 10 }, checkpoint.tensors), /model.embed_tokens.weight" has shape/);
    assert.equal(existsSync(path), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

function withSplitRegex(tokenizerJson: any, regex: string): any {
  return {
    ...tokenizerJson,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
  };
}

test('tokenizer metadata: tokens, types, merges, special ids, flags and chat template', () => {
  const { tokenizerJson, tokenizerConfig } = tinyByteLevelTokenizer() as { tokenizerJson: any; tokenizerConfig: any };
  const size = tinyTokenizerSize();
  const meta = new Map(tokenizerToGgufMetadata(tokenizerJson, tokenizerConfig, { vocabSize: size + 2 }).map(([k, v]) => [k, v.value]));
  const tokens = meta.get('tokenizer.ggml.tokens') as string[];
  const types = meta.get('tokenizer.ggml.token_type') as number[];
  assert.equal(meta.get('tokenizer.ggml.model'), 'gpt2');
  assert.equal(meta.get('tokenizer.ggml.pre'), 'gpt-2');
  assert.equal(tokens.length, size + 2);
  assert.equal(tokens[32], 'Ġ');
  assert.equal(tokens[size], '[PAD' + size + ']');
  assert.equal(types[size], GgufTokenType.UNUSED);
  assert.equal(types[65], GgufTokenType.NORMAL);
  const bos = tokens.indexOf('<|bos|>');
  assert.equal(meta.get('tokenizer.ggml.bos_token_id'), bos);
  assert.equal(meta.get('tokenizer.ggml.eos_token_id'), tokens.indexOf('<|eos|>'));
  assert.equal(types[bos], GgufTokenType.CONTROL);
  assert.deepEqual((meta.get('tokenizer.ggml.merges') as string[]).slice(0, 3), ['Ġ t', 'h e', 'Ġt h']);
  assert.equal(meta.get('tokenizer.ggml.add_bos_token'), false);
  assert.equal(meta.get('tokenizer.ggml.add_eos_token'), false);
  assert.match(meta.get('tokenizer.chat_template') as string, /message\['content'\]/);
  assert.equal(meta.has('tokenizer.ggml.padding_token_id'), false);

  // Llama-3 layout: Split regex, merges as pairs, a non-special added token, BOS from the template.
  const llama3 = withSplitRegex(tokenizerJson, LLAMA3_REGEX);
  llama3.model = { ...tokenizerJson.model, merges: tokenizerJson.model.merges.map((m: string) => m.split(' ')) };
  llama3.added_tokens = [...tokenizerJson.added_tokens, { id: size, content: '<tool>', special: false }];
  llama3.post_processor = {
    type: 'Sequence',
    processors: [
      { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
      { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<|bos|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }], pair: [], special_tokens: { '<|bos|>': { id: '<|bos|>', ids: [bos], tokens: ['<|bos|>'] } } },
    ],
  };
  const llama3Meta = new Map(tokenizerToGgufMetadata(llama3, { ...tokenizerConfig, pad_token: { content: '<|eos|>' } }).map(([k, v]) => [k, v.value]));
  assert.equal(llama3Meta.get('tokenizer.ggml.pre'), 'llama-bpe');
  assert.deepEqual((llama3Meta.get('tokenizer.ggml.merges') as string[]).slice(0, 2), ['Ġ t', 'h e']);
  assert.equal((llama3Meta.get('tokenizer.ggml.token_type') as number[])[size], GgufTokenType.USER_DEFINED);
  assert.equal(llama3Meta.get('tokenizer.ggml.add_bos_token'), true);
  assert.equal(llama3Meta.get('tokenizer.ggml.padding_token_id'), tokens.indexOf('<|eos|>'));
  // An explicit config flag wins over the template, as in transformers.
  assert.equal(new Map(tokenizerToGgufMetadata(llama3, { ...tokenizerConfig, add_bos_token: false })).get('tokenizer.ggml.add_bos_token')?.value, false);

  const qwen2 = withSplitRegex(tokenizerJson, LLAMA3_REGEX.replace('\\p{N}{1,3}', '\\p{N}'));
  assert.equal(new Map(tokenizerToGgufMetadata({ ...qwen2, normalizer: { type: 'NFC' } }, tokenizerConfig)).get('tokenizer.ggml.pre')?.value, 'qwen2');
});

test('tokenizer metadata refuses what llama.cpp would tokenize differently', () => {
  const { tokenizerJson, tokenizerConfig } = tinyByteLevelTokenizer() as { tokenizerJson: any; tokenizerConfig: any };
  assert.throws(() => tokenizerToGgufMetadata(withSplitRegex(tokenizerJson, '\\s+|\\w+'), tokenizerConfig), /unsupported pre-tokenizer.*\\\\s\+\|\\\\w\+/);
  assert.throws(() => tokenizerToGgufMetadata({ ...tokenizerJson, pre_tokenizer: { type: 'Whitespace' } }, tokenizerConfig), /unsupported pre-tokenizer.*Whitespace/);
  assert.throws(() => tokenizerToGgufMetadata({ ...tokenizerJson, pre_tokenizer: { ...tokenizerJson.pre_tokenizer, add_prefix_space: true } }, tokenizerConfig), /add_prefix_space/);
  const sentencePiece = { ...tokenizerJson, model: { ...tokenizerJson.model, byte_fallback: true }, pre_tokenizer: { type: 'Metaspace', replacement: '▁' } };
  assert.throws(() => tokenizerToGgufMetadata(sentencePiece, tokenizerConfig), /SentencePiece-style BPE.*not supported yet/);
  assert.throws(() => tokenizerToGgufMetadata({ ...tokenizerJson, model: { type: 'Unigram' } }, tokenizerConfig), /model.type is "Unigram"/);
  assert.throws(() => tokenizerToGgufMetadata(tokenizerJson, { ...tokenizerConfig, bos_token: '<s>' }), /bos_token "<s>" is not a token/);
  assert.throws(() => tokenizerToGgufMetadata(tokenizerJson, tokenizerConfig, { vocabSize: 100 }), /does not fit the model's vocab_size 100/);
  assert.throws(() => tokenizerToGgufMetadata({ ...tokenizerJson, normalizer: { type: 'Lowercase' } }, tokenizerConfig), /normalizer.*Lowercase/);
});

test('the real GPT-2 tokenizer maps to the gpt-2 pre-tokenizer with its 50257 tokens', (t) => {
  if (!existsSync(gpt2Fixture)) {
    t.skip(`fixture ${gpt2Fixture} is absent`);
    return;
  }
  const tokenizerJson = JSON.parse(readFileSync(join(gpt2Fixture, 'tokenizer.json'), 'utf8'));
  const tokenizerConfig = JSON.parse(readFileSync(join(gpt2Fixture, 'tokenizer_config.json'), 'utf8'));
  const meta = new Map(tokenizerToGgufMetadata(tokenizerJson, tokenizerConfig).map(([k, v]) => [k, v.value]));
  const tokens = meta.get('tokenizer.ggml.tokens') as string[];
  assert.equal(meta.get('tokenizer.ggml.pre'), 'gpt-2');
  assert.equal(tokens.length, 50257);
  assert.equal(tokens[464], 'The');
  assert.equal(tokens[50256], '<|endoftext|>');
  assert.equal((meta.get('tokenizer.ggml.token_type') as number[])[50256], GgufTokenType.CONTROL);
  assert.equal(meta.get('tokenizer.ggml.bos_token_id'), 50256);
  assert.equal(meta.get('tokenizer.ggml.eos_token_id'), 50256);
  assert.equal((meta.get('tokenizer.ggml.merges') as string[]).length, tokenizerJson.model.merges.length);
  assert.equal(meta.get('tokenizer.ggml.add_bos_token'), false);
});

test('node-llama-cpp\'s own GGUF parser reads our export with the same metadata and tensors', async (t) => {
  let readGgufFileInfo: typeof import('node-llama-cpp').readGgufFileInfo;
  try {
    ({ readGgufFileInfo } = await import('node-llama-cpp'));
  } catch (error) {
    t.skip(`node-llama-cpp is not available: ${(error as Error).message}`);
    return;
  }
  const dir = scratchDir();
  try {
    for (const c of [EXPORT_CASES[0], EXPORT_CASES[3]]) {
      const { path, vocabSize } = exportTinyLlama(dir, c);
      const ours = readGgufInfo(path);
      const theirs = await readGgufFileInfo(path, { logWarnings: false });
      assert.equal(theirs.version, 3);
      const m = theirs.metadata as any;
      assert.equal(m.general.architecture, 'llama');
      assert.equal(m.general.name, c.label);
      assert.equal(m.general.file_type, ours.metadata.get('general.file_type'));
      assert.equal(m.llama.block_count, 2);
      assert.equal(m.llama.attention.head_count_kv, c.kvHeads);
      assert.equal(m.llama.rope.freq_base, 500);
      assert.equal(m.llama.attention.layer_norm_rms_epsilon, Math.fround(1e-5));
      assert.equal(m.tokenizer.ggml.pre, 'gpt-2');
      assert.equal(m.tokenizer.ggml.tokens.length, vocabSize);
      assert.deepEqual(m.tokenizer.ggml.tokens, ours.metadata.get('tokenizer.ggml.tokens'));
      assert.deepEqual(m.tokenizer.ggml.merges, ours.metadata.get('tokenizer.ggml.merges'));
      assert.equal(m.tokenizer.ggml.add_bos_token, false);
      const theirTensors = theirs.tensorInfo ?? [];
      assert.equal(theirTensors.length, ours.tensors.length);
      theirTensors.forEach((tensor, i) => {
        assert.equal(tensor.name, ours.tensors[i].name);
        assert.deepEqual(tensor.dimensions.map(Number), ours.tensors[i].dims, tensor.name);
        assert.equal(Number(tensor.ggmlType), ours.tensors[i].type, tensor.name);
        assert.equal(Number(tensor.fileOffset), ours.tensors[i].offset, tensor.name);
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
