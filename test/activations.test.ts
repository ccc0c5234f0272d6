import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { SafetensorsFile } from '../src/io/safetensors.js';
import { TextTokenizer } from '../src/io/tokenizer.js';
import { ActivationCapture } from '../src/model/activationCapture.js';
import { padBatch } from '../src/model/batch.js';
import { ResidualHooks } from '../src/model/hooks.js';
import { withInferenceTape } from '../src/model/inference.js';
import { Random } from '../src/tensor/index.js';
import { ActivationDataset, type ActivationManifest, buildActivationDataset, readManifest } from '../src/features/activations/index.js';
import { randomModel } from './support/randomModels.js';
import { tinyByteLevelTokenizer, tinyTokenizerSize } from './support/tinyLlama.js';

// Activation datasets: stored rows equal what ActivationCapture sees, an
// interrupted build resumes to the same bytes, shards stay at their size while
// the corpus is streamed, and the reader serves rows, contexts and batches.

const { tokenizerJson, tokenizerConfig } = tinyByteLevelTokenizer();
const tokenizer = TextTokenizer.fromJson(tokenizerJson, tokenizerConfig);
const { model } = randomModel({
  model_type: 'llama', vocab_size: tinyTokenizerSize(), hidden_size: 16, intermediate_size: 24, num_hidden_layers: 3,
  num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, tie_word_embeddings: false,
}, 31);
const d = model.spec.hiddenSize;

const texts = [
  'the cat sat on the mat',
  'what is the weather in the city today?',
  '',
  'print(x)',
  'a much longer text that will be cut at the token limit we set for every text',
  'hello',
  'and then the dog ran off into the woods',
  'fin.',
];
const points = ['blocks.1.pre', 'blocks.0.post'];
const settings = { model, tokenizer, points, rowsPerShard: 7, maxTokensPerText: 12, batchSize: 3, modelName: 'tiny-llama' };
const encoded = texts.map((t) => tokenizer.encode(t).slice(0, settings.maxTokensPerText));
const totalRows = encoded.reduce((n, t) => n + t.length, 0);

const root = mkdtempSync(join(tmpdir(), 'imprint-activations-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirCount = 0;
const freshDir = () => join(root, `ds-${dirCount++}`);

/** Every shard's rows of one point, concatenated. */
function allRows(dataset: ActivationDataset, point: string): Float32Array {
  const parts = Array.from({ length: dataset.shardCount }, (_, i) => dataset.readShard(i, point));
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

function capturedAlone(tokens: number[], point: string): Float32Array {
  const capture = new ActivationCapture([point]);
  const hooks = new ResidualHooks(model.spec.layers);
  capture.install(hooks);
  withInferenceTape((tape) => model.forward(tape, Int32Array.from(tokens), 1, tokens.length, { hooks, logits: 'none' }));
  return capture.collect(point);
}

describe('buildActivationDataset', () => {
  const referenceDir = freshDir();
  let reference: ActivationManifest;

  test('stores exactly the rows ActivationCapture sees, with each row\'s token, text and position', async () => {
    reference = await buildActivationDataset({ ...settings, texts, outDir: referenceDir });
    assert.equal(reference.complete, true);
    assert.equal(reference.rows, totalRows);
    assert.equal(reference.nextText, texts.length);
    assert.equal(reference.model.name, 'tiny-llama');
    assert.deepEqual(reference.points, points);
    const dataset = ActivationDataset.open(referenceDir);
    assert.equal(dataset.rows, totalRows);
    assert.equal(dataset.d, d);

    // The same batches (3 texts each, empty texts dropped), captured directly.
    for (const point of points) {
      const expected: number[] = [];
      for (let start = 0; start < texts.length; start += settings.batchSize) {
        const sequences = encoded.slice(start, start + settings.batchSize).filter((t) => t.length > 0);
        const padded = padBatch(sequences, 0);
        const capture = new ActivationCapture([point]);
        const hooks = new ResidualHooks(model.spec.layers);
        capture.install(hooks);
        withInferenceTape((tape) => model.forward(tape, padded.ids, padded.batch, padded.seq, { keyStart: padded.keyStart, hooks }));
        expected.push(...capture.collect(point));
      }
      assert.deepEqual(allRows(dataset, point), Float32Array.from(expected), `${point}: stored rows differ from the captured ones`);
    }

    // Each text alone gives the same rows up to rounding (padding is exact, only batch shapes differ).
    const stored = allRows(dataset, 'blocks.0.post');
    let row = 0;
    const expectedTokens: number[] = [];
    const expectedTexts: number[] = [];
    const expectedPositions: number[] = [];
    encoded.forEach((tokens, text) => {
      if (tokens.length === 0) return;
      const alone = capturedAlone(tokens, 'blocks.0.post');
      alone.forEach((v, i) => assert.ok(Math.abs(v - stored[row * d + i]) < 1e-4, `text ${text}: ${v} vs ${stored[row * d + i]}`));
      row += tokens.length;
      tokens.forEach((id, position) => { expectedTokens.push(id); expectedTexts.push(text); expectedPositions.push(position); });
    });
    const infos = Array.from({ length: dataset.shardCount }, (_, i) => dataset.rowInfo(i));
    assert.deepEqual(infos.flatMap((x) => [...x.tokenIds]), expectedTokens);
    assert.deepEqual(infos.flatMap((x) => [...x.texts]), expectedTexts);
    assert.deepEqual(infos.flatMap((x) => [...x.positions]), expectedPositions);
    assert.ok(expectedTexts.includes(4) && encoded[4].length === settings.maxTokensPerText, 'the long text is cut at maxTokensPerText');
  });

  test('shards hold rowsPerShard rows (the last the remainder), and the corpus is read only a batch ahead', async () => {
    const pulledAtShard: Array<{ pulled: number; lastText: number }> = [];
    let pulled = 0;
    async function* corpus(): AsyncGenerator<string> {
      for (const t of texts) { pulled++; yield t; }
    }
    const dir = freshDir();
    const manifest = await buildActivationDataset({
      ...settings, texts: corpus(), outDir: dir,
      onShard: (_shard, m) => { pulledAtShard.push({ pulled, lastText: m.nextText }); },
    });
    const sizes = manifest.shards.map((s) => s.rows);
    assert.equal(sizes.length, Math.ceil(totalRows / settings.rowsPerShard));
    assert.ok(sizes.slice(0, -1).every((n) => n === settings.rowsPerShard), `shard sizes ${sizes}`);
    assert.equal(sizes.reduce((a, b) => a + b), totalRows);
    for (const [i, shard] of manifest.shards.entries()) {
      const file = SafetensorsFile.open(join(dir, shard.file));
      for (const p of points) assert.deepEqual(file.entries.get(p)!.shape, [shard.rows, d]);
      assert.deepEqual(file.entries.get('token_ids')!.shape, [shard.rows]);
      file.close();
      assert.equal(shard.file, `shard-0000${i}.safetensors`);
    }
    // When a shard is written, the texts read so far end with the batch holding its last row.
    for (const { pulled: p, lastText } of pulledAtShard.slice(0, -1)) {
      assert.ok(p <= (Math.floor(lastText / settings.batchSize) + 1) * settings.batchSize, `read ${p} texts while writing a shard that ends in text ${lastText}`);
    }
    assert.ok(pulledAtShard[0].pulled < texts.length, 'the first shard is written before the corpus is read to its end');
  });

  test('the manifest on disk lists every shard as soon as it is written, and no temporary files remain', async () => {
    const dir = freshDir();
    const seen: number[] = [];
    await buildActivationDataset({
      ...settings, texts, outDir: dir,
      onShard: (shard, m) => {
        const onDisk = readManifest(dir);
        assert.deepEqual(onDisk.shards, m.shards);
        assert.deepEqual(onDisk.shards[onDisk.shards.length - 1], shard);
        assert.equal(onDisk.complete, false);
        seen.push(onDisk.rows);
      },
    });
    assert.deepEqual(seen, reference.shards.map((_, i) => reference.shards.slice(0, i + 1).reduce((n, s) => n + s.rows, 0)));
    assert.deepEqual(readdirSync(dir).sort(), ['manifest.json', ...reference.shards.map((s) => s.file)].sort());
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')), reference);
  });

  test('an interrupted build resumes to the same bytes as an uninterrupted one', async () => {
    const dir = freshDir();
    let shards = 0;
    await assert.rejects(buildActivationDataset({
      ...settings, texts, outDir: dir,
      onShard: () => { if (++shards === 2) throw new Error('stop here'); },
    }), /stop here/);
    const partial = readManifest(dir);
    assert.equal(partial.shards.length, 2);
    assert.equal(partial.complete, false);
    assert.ok(partial.nextTextRow > 0, 'the interruption falls inside a text, the interesting case');
    const openPartial = ActivationDataset.open(dir);
    assert.equal(openPartial.rows, 2 * settings.rowsPerShard);
    assert.equal(openPartial.complete, false);
    // A crash between writing a shard and listing it leaves an orphan; resume overwrites it.
    writeFileSync(join(dir, 'shard-00002.safetensors'), 'half-written');

    await assert.rejects(buildActivationDataset({ ...settings, texts, outDir: dir }), /already exists; pass resume: true/);
    await assert.rejects(buildActivationDataset({ ...settings, batchSize: 2, texts, outDir: dir, resume: true }), /batchSize 3 \(this call: 2\)/);

    const resumed = await buildActivationDataset({ ...settings, texts, outDir: dir, resume: true });
    assert.deepEqual(resumed, reference);
    for (const shard of reference.shards) {
      assert.deepEqual(readFileSync(join(dir, shard.file)), readFileSync(join(referenceDir, shard.file)), `${shard.file} differs`);
    }
    // Resuming a finished build does nothing.
    assert.deepEqual(await buildActivationDataset({ ...settings, texts: [], outDir: dir, resume: true }), reference);
  });

  test('F16 storage keeps values to half precision; bad settings fail clearly', async () => {
    const dir = freshDir();
    await buildActivationDataset({ ...settings, texts, outDir: dir, dtype: 'F16' });
    const half = allRows(ActivationDataset.open(dir), 'blocks.1.pre');
    const full = allRows(ActivationDataset.open(referenceDir), 'blocks.1.pre');
    full.forEach((v, i) => assert.ok(Math.abs(v - half[i]) <= 1e-3 * Math.max(1, Math.abs(v)), `${v} vs ${half[i]}`));
    await assert.rejects(buildActivationDataset({ ...settings, texts, outDir: freshDir(), points: ['blocks.7.post'] }), /names layer 7, but the model has 3 layers/);
    await assert.rejects(buildActivationDataset({ ...settings, texts, outDir: freshDir(), rowsPerShard: 0 }), /rowsPerShard must be a positive integer, got 0/);
  });
});

describe('ActivationDataset', () => {
  const dir = freshDir();

  test('reads rows, token windows across shard boundaries, and batches in order or shuffled', async () => {
    await buildActivationDataset({ ...settings, texts, outDir: dir });
    const dataset = ActivationDataset.open(dir);
    const rows = allRows(dataset, 'blocks.0.post');
    assert.throws(() => dataset.readShard(0, 'blocks.2.post'), /point "blocks.2.post" is not stored; it has blocks.1.pre, blocks.0.post/);
    assert.throws(() => dataset.readShard(99, 'blocks.0.post'), /shard 99 does not exist/);

    // Text 0 has 12 tokens, so text 1 starts at row 12, in shard 1 (rows 7-13), and goes on in shard 2.
    const firstOfText1 = encoded[0].length;
    assert.equal(firstOfText1, 12);
    const row = firstOfText1 + 3;
    assert.deepEqual(dataset.locate(row), { shard: 2, index: 1 });
    const window = dataset.tokenWindow(row, 3, 2);
    assert.deepEqual(window.tokens, encoded[1].slice(0, 6));
    assert.equal(window.focus, 3);
    assert.deepEqual([window.text, window.position], [1, 3]);
    // The window stops at the text's edges.
    assert.deepEqual(dataset.tokenWindow(firstOfText1, 4, 0).tokens, [encoded[1][0]]);

    const ordered = [...dataset.batches('blocks.0.post', 4)];
    assert.deepEqual(ordered.map((b) => b.length / d), [...Array(Math.floor(totalRows / 4)).fill(4), ...(totalRows % 4 ? [totalRows % 4] : [])]);
    assert.deepEqual(Float32Array.from(ordered.flatMap((b) => [...b])), rows);

    const shuffled = [...dataset.batches('blocks.0.post', 4, new Random(5))];
    const again = [...dataset.batches('blocks.0.post', 4, new Random(5))];
    assert.deepEqual(shuffled, again, 'a seed fixes the order');
    const asRows = (data: Float32Array) => Array.from({ length: data.length / d }, (_, r) => [...data.subarray(r * d, (r + 1) * d)].join(','));
    const shuffledRows = shuffled.flatMap((b) => asRows(b));
    assert.notDeepEqual(shuffledRows, asRows(rows));
    assert.deepEqual([...shuffledRows].sort(), asRows(rows).sort(), 'every row exactly once');
  });
});
