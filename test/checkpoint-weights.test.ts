import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { writeFileAtomic } from '../src/io/atomicWrite.js';
import { openCheckpointWeights, writeCheckpointWeights } from '../src/io/checkpointWeights.js';
import { CheckpointFormatError } from '../src/io/errors.js';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../src/io/safetensors.js';
import { Random } from '../src/tensor/random.js';

const root = mkdtempSync(join(tmpdir(), 'imprint-checkpoint-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirCounter = 0;
const freshDir = (): string => {
  const dir = join(root, `ckpt${dirCounter++}`);
  mkdirSync(dir);
  return dir;
};

function sampleTensors(seed = 3): TensorToWrite[] {
  const rng = new Random(seed);
  const make = (name: string, shape: number[], dtype?: 'F16' | 'BF16'): TensorToWrite => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    rng.fillNormal(data);
    return { name, shape, data, dtype };
  };
  return [
    make('embed.weight', [16, 8]),          // 512 bytes
    make('layers.0.attn.weight', [8, 8]),   // 256 bytes
    make('layers.0.norm.weight', [8]),      // 32 bytes
    make('layers.1.attn.weight', [8, 8], 'BF16'), // 128 bytes
    make('head.weight', [8, 16]),           // 512 bytes
  ];
}

function assertLoadsBack(dir: string, tensors: TensorToWrite[]): void {
  const source = openCheckpointWeights(dir);
  try {
    assert.deepEqual(source.names, tensors.map((t) => t.name));
    for (const t of tensors) {
      assert.equal(source.has(t.name), true);
      assert.deepEqual(source.shape(t.name), [...t.shape], t.name);
      assert.equal(source.dtype(t.name), t.dtype ?? 'F32');
      const values = source.read(t.name);
      if (t.dtype === 'BF16') {
        for (let i = 0; i < values.length; i++) assert.ok(Math.abs(values[i] - t.data[i]) <= Math.abs(t.data[i]) * 2 ** -8, `${t.name}[${i}]`);
      } else {
        assert.deepEqual(values, t.data, t.name);
      }
    }
  } finally {
    source.close();
  }
}

function assertCheckpointError(dir: string, pattern: RegExp): void {
  assert.throws(() => openCheckpointWeights(dir).close(), (e: unknown) => {
    assert.ok(e instanceof CheckpointFormatError, `expected CheckpointFormatError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

const tempFilesIn = (dir: string): string[] => readdirSync(dir).filter((name) => name.includes('.tmp-'));

test('a single-file checkpoint is written with format pt and loads back', () => {
  const dir = freshDir();
  const tensors = sampleTensors();
  const written = writeCheckpointWeights(dir, tensors);
  assert.deepEqual(written, [join(dir, 'model.safetensors')]);
  const file = SafetensorsFile.open(written[0]);
  assert.deepEqual(file.metadata, { format: 'pt' });
  file.close();
  assertLoadsBack(dir, tensors);
  const source = openCheckpointWeights(dir);
  try {
    assert.equal(source.has('nope'), false);
    assert.throws(() => source.read('nope'), /no tensor named 'nope'.*'embed\.weight'/);
    assert.throws(() => source.shape('nope'), CheckpointFormatError);
  } finally {
    source.close();
  }
  assert.throws(() => source.read('embed.weight'), /closed/, 'close() closes the file');
});

test('a sharded checkpoint gets HF shard names, an index with total_size, and loads back', () => {
  const dir = freshDir();
  const tensors = sampleTensors();
  const written = writeCheckpointWeights(dir, tensors, { maxShardBytes: 600, metadata: { origin: 'test' } });
  // Greedy packing of 512 | 256+32+128 | 512 bytes under a 600-byte limit.
  const shardNames = ['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors'];
  assert.deepEqual(written, [...shardNames, 'model.safetensors.index.json'].map((n) => join(dir, n)));
  const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'));
  assert.equal(index.metadata.total_size, 512 + 256 + 32 + 128 + 512);
  assert.deepEqual(index.weight_map, {
    'embed.weight': shardNames[0],
    'layers.0.attn.weight': shardNames[1],
    'layers.0.norm.weight': shardNames[1],
    'layers.1.attn.weight': shardNames[1],
    'head.weight': shardNames[2],
  });
  const shard = SafetensorsFile.open(join(dir, shardNames[1]));
  assert.deepEqual(shard.metadata, { format: 'pt', origin: 'test' });
  shard.close();
  assertLoadsBack(dir, tensors);
  assert.deepEqual(tempFilesIn(dir), []);
});

test('close() releases every shard file descriptor', { skip: existsSync('/proc/self/fd') ? false : 'needs /proc/self/fd' }, () => {
  const dir = freshDir();
  writeCheckpointWeights(dir, sampleTensors(), { maxShardBytes: 600 });
  const openFds = (): number => readdirSync('/proc/self/fd').length;
  const before = openFds();
  const source = openCheckpointWeights(dir);
  assert.equal(openFds(), before + 3, 'one descriptor per shard');
  source.close();
  assert.equal(openFds(), before);
  unlinkSync(join(dir, 'model-00003-of-00003.safetensors'));
  assert.throws(() => openCheckpointWeights(dir), /does not exist/);
  assert.equal(openFds(), before, 'shards opened before the failure are closed again');
});

test('an index naming a missing shard is an error naming the shard', () => {
  const dir = freshDir();
  writeCheckpointWeights(dir, sampleTensors(), { maxShardBytes: 600 });
  unlinkSync(join(dir, 'model-00002-of-00003.safetensors'));
  assertCheckpointError(dir, /model\.safetensors\.index\.json: shard 'model-00002-of-00003\.safetensors' is listed in weight_map but .* does not exist/);
});

test('a weight_map entry absent from its shard, or a tensor in two shards, is an error', () => {
  const dir = freshDir();
  writeCheckpointWeights(dir, sampleTensors(), { maxShardBytes: 600 });
  const indexPath = join(dir, 'model.safetensors.index.json');
  const index = JSON.parse(readFileSync(indexPath, 'utf8'));
  index.weight_map['ghost.weight'] = 'model-00001-of-00003.safetensors';
  writeFileSync(indexPath, JSON.stringify(index));
  assertCheckpointError(dir, /weight_map puts tensor 'ghost\.weight' in 'model-00001-of-00003\.safetensors', but that shard has no such tensor/);

  delete index.weight_map['ghost.weight'];
  writeFileSync(indexPath, JSON.stringify(index));
  writeSafetensors(join(dir, 'model-00003-of-00003.safetensors'), [
    { name: 'head.weight', shape: [1], data: Float32Array.of(1) },
    { name: 'embed.weight', shape: [1], data: Float32Array.of(2) },
  ]);
  assertCheckpointError(dir, /tensor 'embed\.weight' is present in two shards, 'model-00001-of-00003\.safetensors' and 'model-00003-of-00003\.safetensors'/);
});

test('a malformed index is an error naming the index', () => {
  const dir = freshDir();
  const indexPath = join(dir, 'model.safetensors.index.json');
  writeFileSync(indexPath, '{"weight_map": ');
  assertCheckpointError(dir, /model\.safetensors\.index\.json: index is not valid JSON/);
  writeFileSync(indexPath, JSON.stringify({ metadata: {} }));
  assertCheckpointError(dir, /must be an object with a "weight_map" object/);
  writeFileSync(indexPath, JSON.stringify({ weight_map: { w: 3 } }));
  assertCheckpointError(dir, /weight_map entry for tensor 'w' must be a shard file name, got 3/);
  writeFileSync(indexPath, JSON.stringify({ weight_map: { w: '../elsewhere.safetensors' } }));
  assertCheckpointError(dir, /shard '\.\.\/elsewhere\.safetensors' points outside the checkpoint directory/);
});

test('a directory without weights says where it looked and that .bin is unsupported', () => {
  const dir = freshDir();
  assertCheckpointError(dir, new RegExp(`^${escapeRegExp(dir)}: no weights found: looked for model\\.safetensors and model\\.safetensors\\.index\\.json$`));
  writeFileSync(join(dir, 'pytorch_model.bin'), 'not really');
  assertCheckpointError(dir, /found pytorch_model\.bin, but PyTorch \.bin checkpoints are not supported/);
  assertCheckpointError(join(dir, 'absent'), /checkpoint directory does not exist \(looked for model\.safetensors or model\.safetensors\.index\.json/);
});

test('re-saving removes the weight files of the previous save and nothing else', () => {
  const dir = freshDir();
  writeFileSync(join(dir, 'config.json'), '{}');
  writeFileSync(join(dir, 'model-notes.txt'), 'keep me');
  const tensors = sampleTensors();
  writeCheckpointWeights(dir, tensors, { maxShardBytes: 600 });
  assert.equal(readdirSync(dir).filter((n) => n.endsWith('.safetensors')).length, 3);

  writeCheckpointWeights(dir, tensors, { maxShardBytes: 1000 });
  assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors',
    'model-notes.txt', 'model.safetensors.index.json']);
  assertLoadsBack(dir, tensors);

  const smaller = sampleTensors(9).slice(0, 2);
  writeCheckpointWeights(dir, smaller);
  assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'model-notes.txt', 'model.safetensors']);
  assertLoadsBack(dir, smaller);
});

test('a failed save leaves the previous checkpoint intact and no temporary files', () => {
  const dir = freshDir();
  const tensors = sampleTensors();
  writeCheckpointWeights(dir, tensors, { maxShardBytes: 600 });
  const broken = [...sampleTensors(5), { name: 'bad', shape: [4], data: new Float32Array(3) }];
  assert.throws(() => writeCheckpointWeights(dir, broken, { maxShardBytes: 600 }), /'bad': shape \[4\] holds 4 values but data has 3/);
  const repeated = [...sampleTensors(5), sampleTensors(6)[0]];
  assert.throws(() => writeCheckpointWeights(dir, repeated, { maxShardBytes: 600 }), /'embed\.weight' appears twice/);
  assertLoadsBack(dir, tensors);
  assert.deepEqual(tempFilesIn(dir), []);
});

test('writeFileAtomic removes its temporary file when the final rename fails', () => {
  const dir = freshDir();
  const target = join(dir, 'occupied');
  mkdirSync(join(target, 'child'), { recursive: true });
  assert.throws(() => writeFileAtomic(target, [Uint8Array.of(1, 2, 3)]));
  assert.deepEqual(readdirSync(dir), ['occupied']);
  const file = join(dir, 'file.bin');
  writeFileAtomic(file, [Uint8Array.of(1, 2), Uint8Array.of(), Uint8Array.of(3)]);
  assert.deepEqual([...readFileSync(file)], [1, 2, 3]);
  assert.deepEqual(tempFilesIn(dir), []);
});

const fixtureDir = fileURLToPath(new URL('../../../shared/fixtures/gpt2-random', import.meta.url));

test('opens the GPT-2 fixture directory', { skip: existsSync(fixtureDir) ? false : `fixture absent: ${fixtureDir}` }, () => {
  const source = openCheckpointWeights(fixtureDir);
  try {
    assert.ok(source.names.includes('transformer.wte.weight'));
    assert.deepEqual(source.shape('transformer.h.0.attn.c_attn.weight'), [2, 6]);
    assert.equal(source.dtype('transformer.h.0.attn.c_attn.weight'), 'F32');
    assert.equal(source.read('transformer.h.0.attn.c_attn.bias').length, 6);
  } finally {
    source.close();
  }
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
