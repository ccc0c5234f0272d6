import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { TextTokenizer } from '../src/io/tokenizer.js';
import { CausalLm } from '../src/model/causalLm.js';
import { Random, Tensor } from '../src/tensor/index.js';
import { ActivationDataset, buildActivationDataset } from '../src/features/activations/index.js';
import { TopRows, directionAfterFinalNorm, promotedTokens, topActivatingContexts } from '../src/features/labels/index.js';
import { randomModel, tinyConfigs } from './support/randomModels.js';
import { tinyByteLevelTokenizer, tinyTokenizerSize } from './support/tinyLlama.js';

// Labels: top-activating contexts mark the right token in the right text, and the
// logit lens reads a planted unembedding row back.

const { tokenizerJson, tokenizerConfig } = tinyByteLevelTokenizer();
const tokenizer = TextTokenizer.fromJson(tokenizerJson, tokenizerConfig);

describe('topActivatingContexts', () => {
  const root = mkdtempSync(join(tmpdir(), 'imprint-labels-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const { model } = randomModel({
    model_type: 'llama', vocab_size: tinyTokenizerSize(), hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, tie_word_embeddings: true,
  }, 41);
  const texts = ['the cat sat on the mat', 'what is the weather like today?', 'hello world'];
  const encoded = texts.map((t) => tokenizer.encode(t));
  const d = model.spec.hiddenSize;
  let dataset: ActivationDataset;

  test('a planted value marks its token, with the text around it', async () => {
    await buildActivationDataset({ model, tokenizer, texts, points: ['blocks.1.post'], outDir: root, rowsPerShard: 5, maxTokensPerText: 64, batchSize: 2 });
    dataset = ActivationDataset.open(root);
    // Plant the top value at text 1, position 4, and the runner-up at text 2, position 0.
    const values = new Float32Array(dataset.rows).fill(-1);
    const rowOf = (text: number, position: number) => encoded.slice(0, text).reduce((n, t) => n + t.length, 0) + position;
    values[rowOf(1, 4)] = 10;
    values[rowOf(2, 0)] = 5;
    const [top, second] = topActivatingContexts(dataset, { values }, { tokenizer, topN: 2, before: 3, after: 2 });
    assert.deepEqual([top.text, top.position, top.value, top.tokenId], [1, 4, 10, encoded[1][4]]);
    const t = encoded[1];
    assert.equal(top.token, tokenizer.decode([t[4]]));
    assert.equal(top.before, tokenizer.decode(t.slice(1, 4)));
    assert.equal(top.after, tokenizer.decode(t.slice(5, 7)));
    assert.equal(top.context, `${tokenizer.decode(t.slice(1, 4))}«${tokenizer.decode([t[4]])}»${tokenizer.decode(t.slice(5, 7))}`);
    // At the start of a text there is nothing before the mark.
    assert.deepEqual([second.text, second.position, second.before], [2, 0, '']);
    assert.ok(second.context.startsWith(`«${tokenizer.decode([encoded[2][0]])}»`), second.context);
  });

  test('a direction and an SAE latent rank rows by their activation, streamed over shards', () => {
    const rng = new Random(3);
    const direction = new Float32Array(d);
    rng.fillNormal(direction);
    const rows: Float32Array[] = Array.from({ length: dataset.shardCount }, (_, i) => dataset.readShard(i, 'blocks.1.post'));
    const projections = rows.flatMap((shard) => Array.from({ length: shard.length / d }, (_, r) => shard.subarray(r * d, (r + 1) * d).reduce((s, v, i) => s + v * direction[i], 0)));
    const expected = projections.map((v, row) => ({ row, v })).sort((a, b) => b.v - a.v).slice(0, 4).map((x) => x.row);

    const byDirection = topActivatingContexts(dataset, { direction }, { tokenizer, topN: 4 });
    assert.deepEqual(byDirection.map((c) => c.row), expected);
    byDirection.forEach((c) => assert.ok(Math.abs(c.value - projections[c.row]) < 1e-4));
    for (let i = 1; i < byDirection.length; i++) assert.ok(byDirection[i - 1].value >= byDirection[i].value);

    // A two-latent "SAE" whose latent 1 is the projection: same rows, chunked encoding included.
    const encode = (x: Float32Array, n: number) => {
      const out = new Float32Array(n * 2);
      for (let r = 0; r < n; r++) out[r * 2 + 1] = x.subarray(r * d, (r + 1) * d).reduce((s, v, i) => s + v * direction[i], 0);
      return out;
    };
    const byLatent = topActivatingContexts(dataset, { encode, dSae: 2, latent: 1, chunkRows: 3 }, { tokenizer, topN: 4 });
    assert.deepEqual(byLatent.map((c) => c.row), expected);

    assert.throws(() => topActivatingContexts(dataset, { direction: new Float32Array(3) }, { tokenizer }), /direction has 3 entries, the dataset's rows have 16/);
    assert.throws(() => topActivatingContexts(dataset, { encode, dSae: 2, latent: 2 }, { tokenizer }), /latent 2 is outside \[0, dSae 2\)/);
    assert.throws(() => topActivatingContexts(dataset, { direction }, { tokenizer, point: 'blocks.0.post' }), /point "blocks.0.post" is not in the dataset/);
  });

  test('TopRows keeps the largest values in order', () => {
    const top = new TopRows(3);
    [5, 1, 9, 7, 9, 2].forEach((v, row) => top.offer(row, v));
    assert.deepEqual(top.result(), [{ row: 2, value: 9 }, { row: 4, value: 9 }, { row: 3, value: 7 }]);
  });
});

describe('promotedTokens (logit lens)', () => {
  const vocab = tinyTokenizerSize() + 4; // 4 padding rows that name no token
  const { model: base } = randomModel({
    model_type: 'llama', vocab_size: vocab, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 1,
    num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, tie_word_embeddings: false,
  }, 52);
  const d = base.spec.hiddenSize;
  const rng = new Random(8);
  const direction = new Float32Array(d);
  rng.fillNormal(direction);
  const length = Math.hypot(...direction);
  direction.forEach((v, i) => { direction[i] = v / length; });
  const PROMOTED = tokenizer.tokenToId('Ġthe')!;
  const SUPPRESSED = tokenizer.tokenToId('ing')!;
  // Plant rows in the unembedding: one along the direction, one against it, and a padding row beyond the tokenizer.
  const head = Float32Array.from(base.head.data);
  for (let i = 0; i < d; i++) {
    head[PROMOTED * d + i] = 4 * direction[i];
    head[SUPPRESSED * d + i] = -4 * direction[i];
    head[(vocab - 1) * d + i] = 50 * direction[i];
  }
  const params = new Map(base.params);
  params.set(base.names.head!, Tensor.fromArray(head, base.head.shape));
  const model = new CausalLm(base.spec, params);

  test('the planted rows are the most promoted and most suppressed tokens, with or without the final norm', () => {
    for (const throughFinalNorm of [false, true]) {
      const { promoted, suppressed } = promotedTokens(model, tokenizer, direction, 5, { throughFinalNorm });
      assert.equal(promoted[0].id, PROMOTED, `throughFinalNorm ${throughFinalNorm}`);
      assert.equal(promoted[0].token, ' the');
      assert.equal(promoted[0].piece, 'Ġthe');
      assert.equal(suppressed[0].id, SUPPRESSED);
      assert.equal(suppressed[0].token, 'ing');
      assert.ok(promoted.every((t) => t.id < tokenizer.vocabSize), 'padding rows name no token and are skipped');
      assert.equal(promoted.length, 5);
      for (let i = 1; i < 5; i++) assert.ok(promoted[i - 1].score >= promoted[i].score && suppressed[i - 1].score <= suppressed[i].score);
    }
    // The documented score: head[v] · (g ⊙ direction), g the final RMSNorm weight.
    const g = model.finalNorm.weight.data;
    const expected = direction.reduce((s, v, i) => s + 4 * v * v * g[i], 0);
    assert.ok(Math.abs(promotedTokens(model, tokenizer, direction, 1).promoted[0].score - expected) < 1e-5);
    assert.ok(Math.abs(promotedTokens(model, tokenizer, direction, 1, { throughFinalNorm: false }).promoted[0].score - 4) < 1e-5);
    assert.throws(() => promotedTokens(model, tokenizer, new Float32Array(3), 5), /direction has 3 entries, the model's hidden size is 16/);
  });

  test('through a LayerNorm the direction is centred first: a constant direction promotes nothing', () => {
    const { model: gpt2 } = randomModel(tinyConfigs.gpt2, 3);
    const flat = new Float32Array(gpt2.spec.hiddenSize).fill(0.25);
    assert.ok(directionAfterFinalNorm(gpt2, flat).every((v) => Math.abs(v) < 1e-7));
    const { promoted } = promotedTokens(gpt2, tokenizer, flat, 3);
    assert.ok(promoted.every((t) => Math.abs(t.score) < 1e-6));
  });
});
