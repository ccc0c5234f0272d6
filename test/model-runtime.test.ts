import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { writeCheckpointWeights } from '../src/io/checkpointWeights.js';
import { parseModelConfig } from '../src/model/architectures/index.js';
import { padBatch } from '../src/model/batch.js';
import { generateFromIds } from '../src/model/generate.js';
import { withInferenceTape } from '../src/model/inference.js';
import { KvCache } from '../src/model/kvCache.js';
import { loadModel } from '../src/model/load.js';
import { saveModel } from '../src/model/save.js';
import { nextTokenLogprobs, scoreContinuations } from '../src/model/score.js';
import type { CausalLm } from '../src/model/causalLm.js';
import { randomModel, tinyConfigs } from './support/randomModels.js';

// For every architecture, on random weights: the cached decoder, the ragged
// batch and a save/load round trip must each reproduce the plain full forward.

function fullLogits(model: CausalLm, ids: number[]): Float32Array {
  return withInferenceTape((tape) => Float32Array.from(model.forward(tape, Int32Array.from(ids), 1, ids.length).logits!.data));
}

function assertClose(label: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    if (!(diff <= worst)) { worst = diff; at = i; }
  }
  assert.ok(worst <= tolerance, `${label}: max abs diff ${worst} at ${at} (got ${actual[at]}, expected ${expected[at]}) exceeds ${tolerance}`);
}

const sequence = [3, 17, 42, 5, 9, 60, 11, 23, 8, 31, 2, 55, 40, 7];

for (const [arch, config] of Object.entries(tinyConfigs)) {
  describe(`${arch} runtime`, () => {
    const { model } = randomModel(config, 1234);
    const vocab = model.spec.vocabSize;

    test('KV-cache decoding equals the full forward, token by token', () => {
      const expected = fullLogits(model, sequence);
      const cache = new KvCache(model.spec, 1, sequence.length);
      const prefill = 5;
      const got = new Float32Array(expected.length);
      withInferenceTape((tape) => {
        const { logits } = model.forward(tape, Int32Array.from(sequence.slice(0, prefill)), 1, prefill, { cache });
        got.set(logits!.data);
      });
      for (let t = prefill; t < sequence.length; t++) {
        withInferenceTape((tape) => {
          const { logits } = model.forward(tape, Int32Array.of(sequence[t]), 1, 1, { cache, logits: 'last' });
          got.set(logits!.data, t * vocab);
        });
      }
      assert.equal(cache.length, sequence.length);
      assertClose(`${arch} cached vs full`, got, expected, 2e-4);
    });

    test('a ragged batch equals its rows run one by one', () => {
      const prompts = [sequence.slice(0, 9), sequence.slice(4, 7), sequence.slice(2, 14)];
      const padded = padBatch(prompts, 0);
      const batchLogits = withInferenceTape((tape) => Float32Array.from(
        model.forward(tape, padded.ids, padded.batch, padded.seq, { keyStart: padded.keyStart }).logits!.data));
      prompts.forEach((prompt, b) => {
        const alone = fullLogits(model, prompt);
        const start = (b * padded.seq + padded.keyStart[b]) * vocab;
        assertClose(`${arch} row ${b}`, batchLogits.subarray(start, start + prompt.length * vocab), alone, 2e-4);
      });
    });

    test('batched greedy generation with the cache equals each prompt generated alone', async () => {
      const prompts = [sequence.slice(0, 6), sequence.slice(8, 10), sequence.slice(1, 12)];
      const options = { maxTokens: 6, temperature: 0, stopTokenIds: [] };
      const together = await generateFromIds(model, prompts, options);
      for (const [b, prompt] of prompts.entries()) {
        const alone = await generateFromIds(model, [prompt], options);
        assert.deepEqual(together.results[b].tokenIds, alone.results[0].tokenIds, `${arch} prompt ${b}`);
        assert.equal(alone.results[0].tokenIds.length, 6);
        assert.equal(alone.results[0].finishReason, 'length');
        // Greedy means each token is the argmax of the full forward at that point.
        const logprobs = nextTokenLogprobs(model, [...prompt, ...alone.results[0].tokenIds.slice(0, -1)]);
        alone.results[0].tokenIds.forEach((id, j) => {
          const row = logprobs[prompt.length - 1 + j];
          assert.equal(id, row.indexOf(Math.max(...row)), `${arch} prompt ${b} token ${j} is not the argmax`);
        });
      }
    });

    test('save then load round-trips exactly', () => {
      const dir = mkdtempSync(join(tmpdir(), `imprint-${arch}-`));
      try {
        // A small shard limit makes the GPT-2 and Llama saves sharded, exercising the index.
        const files = saveModel(dir, model, config, { maxShardBytes: arch === 'gpt2' || arch === 'llama' ? 20_000 : undefined });
        if (arch === 'gpt2' || arch === 'llama') assert.ok(files.some((f) => f.endsWith('model.safetensors.index.json')), 'expected a sharded save');
        const saved = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
        assert.equal(saved.model_type, config.model_type);
        const loaded = loadModel(dir);
        assert.deepEqual(loaded.unusedTensors, []);
        assert.equal(loaded.tokenizer, null);
        for (const [name, tensor] of model.params) {
          assert.deepEqual(loaded.model.params.get(name)!.data, tensor.data, `${arch} ${name}`);
        }
        assert.deepEqual(fullLogits(loaded.model, sequence), fullLogits(model, sequence));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('scoring continuations agrees with next-token log-probabilities', () => {
      const items = [
        { context: sequence.slice(0, 4), continuation: sequence.slice(4, 7) },
        { context: sequence.slice(0, 1), continuation: sequence.slice(1, 2) },
        { context: sequence.slice(3, 10), continuation: sequence.slice(10, 14) },
      ];
      const scores = scoreContinuations(model, items);
      items.forEach((item, i) => {
        const all = [...item.context, ...item.continuation];
        const lp = nextTokenLogprobs(model, all);
        const expected = item.continuation.map((tok, j) => lp[item.context.length - 1 + j][tok]);
        assertClose(`${arch} item ${i}`, scores[i].tokenLogprobs, expected, 1e-4);
        assert.ok(Math.abs(scores[i].total - expected.reduce((a, x) => a + x, 0)) < 1e-3);
        for (const p of scores[i].tokenLogprobs) assert.ok(p < 0 && Number.isFinite(p));
      });
    });
  });
}

describe('loading errors name what is wrong', () => {
  const config = tinyConfigs.llama;
  const { hfTensors } = randomModel(config, 7);
  const writeCheckpoint = (dir: string, cfg: object, tensors: Map<string, { shape: number[]; data: Float32Array }>) => {
    writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
    writeCheckpointWeights(dir, [...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data })));
  };

  test('an unknown model_type lists the supported ones', () => {
    assert.throws(() => parseModelConfig({ ...config, model_type: 'mamba' }), /unknown model_type "mamba"; supported: gpt2, llama, qwen2, qwen3, olmo2, gemma2/);
  });

  test('a missing tensor is named, with its expected shape', () => {
    const dir = mkdtempSync(join(tmpdir(), 'imprint-missing-'));
    try {
      const tensors = new Map(hfTensors);
      tensors.delete('model.layers.1.mlp.up_proj.weight');
      writeCheckpoint(dir, config, tensors);
      assert.throws(() => loadModel(dir), /missing tensor model\.layers\.1\.mlp\.up_proj\.weight \(expected shape \[24, 16\]/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a shape mismatch names the tensor, its shape and the expected one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'imprint-shape-'));
    try {
      writeCheckpoint(dir, { ...config, intermediate_size: 32 }, hfTensors);
      assert.throws(() => loadModel(dir), /tensor model\.layers\.0\.mlp\.gate_proj\.weight has shape \[24, 16\], expected \[32, 16\]/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('bad config fields and unsupported options are refused by name', () => {
    assert.throws(() => parseModelConfig({ ...config, hidden_size: -3 }), /field "hidden_size" must be a non-negative integer/);
    assert.throws(() => parseModelConfig({ ...config, num_key_value_heads: 3 }), /num_key_value_heads/);
    assert.throws(() => parseModelConfig({ ...config, rope_scaling: { rope_type: 'yarn', factor: 4 } }), /rope_type "yarn" is not implemented/);
    assert.throws(() => parseModelConfig({ ...tinyConfigs.gpt2, activation_function: 'relu' }), /activation_function/);
    assert.throws(() => parseModelConfig({ ...config, model_type: undefined }), /missing "model_type"/);
  });

  test('a missing config.json is reported with its path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'imprint-empty-'));
    try {
      assert.throws(() => loadModel(dir), /config\.json: not found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('forward rejects out-of-vocabulary ids and over-long inputs', () => {
    const { model } = randomModel(tinyConfigs.gpt2, 3);
    assert.throws(() => fullLogits(model, [1, 61]), /token id 61 at index 1 is outside the vocabulary \[0, 61\)/);
    assert.throws(() => fullLogits(model, new Array(49).fill(1)), /position 48 exceeds the 48 learned positions/);
  });
});

test('F16 and BF16 checkpoints load as float32 within their precision', () => {
  const { model } = randomModel(tinyConfigs.qwen2, 77);
  for (const [dtype, relative] of [['F16', 2 ** -11], ['BF16', 2 ** -8]] as const) {
    const dir = mkdtempSync(join(tmpdir(), `imprint-${dtype}-`));
    try {
      saveModel(dir, model, tinyConfigs.qwen2, { dtype });
      assert.equal(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).torch_dtype, dtype === 'F16' ? 'float16' : 'bfloat16');
      const loaded = loadModel(dir);
      for (const [name, tensor] of model.params) {
        const got = loaded.model.params.get(name)!.data;
        tensor.data.forEach((v, i) => assert.ok(Math.abs(got[i] - v) <= Math.abs(v) * relative + 1e-7, `${dtype} ${name}[${i}]: ${got[i]} vs ${v}`));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
