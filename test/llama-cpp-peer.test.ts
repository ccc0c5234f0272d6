import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { exportLlamaGguf } from '../src/io/gguf/llamaExport.js';
import { naiveLogits } from './support/naiveReference.js';
import { loadLlamaCppPeer, type LlamaCppPeer } from '../src/perf/llamaCppPeer.js';
import { randomLlamaCheckpoint, tinyByteLevelTokenizer, tinyTokenizerSize, weightSourceOf, type RandomLlamaCheckpoint } from './support/tinyLlama.js';

const LLAMA3_SCALING = { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 };

interface Exported {
  f32: string;
  f16: string;
  checkpoint: RandomLlamaCheckpoint;
}

/**
 * log-softmax of the independent float64 Hugging Face reference forward
 * (test/support/naiveReference.ts), so llama.cpp's numbers on our export are
 * checked without trusting our own runtime.
 */
function referenceLogprobs(checkpoint: RandomLlamaCheckpoint, ids: number[]): Float64Array[] {
  return naiveLogits(checkpoint.config, checkpoint.tensors, ids).map((row) => {
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v);
    let sum = 0;
    for (const v of row) sum += Math.exp(v - max);
    const logZ = max + Math.log(sum);
    return row.map((v) => v - logZ);
  });
}

function maxAbsDifference(a: Float64Array, b: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

const loaded = await loadLlamaCppPeer();
const skipReason = 'error' in loaded ? `node-llama-cpp could not be loaded: ${loaded.error}` : false;
// CI sets this so that a broken llama.cpp install fails the run instead of skipping the peer tests.
if (skipReason !== false && process.env.IMPRINT_REQUIRE_LLAMA_CPP === '1') throw new Error(`IMPRINT_REQUIRE_LLAMA_CPP=1 but ${skipReason}`);

describe('llama.cpp peer (node-llama-cpp)', { skip: skipReason }, () => {
  const peer = loaded as LlamaCppPeer;
  const { tokenizerJson, tokenizerConfig } = tinyByteLevelTokenizer();
  const vocabSize = tinyTokenizerSize() + 3;
  const ids = [5, 70, 300, 120, 4, 9, 33, 40];
  let dir = '';
  const models: Record<'untied' | 'tied', Exported> = {} as Record<'untied' | 'tied', Exported>;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'imprint-llamacpp-'));
    const variants = [
      ['untied', { tied: false, kvHeads: 2, ropeScaling: LLAMA3_SCALING }],
      ['tied', { tied: true, kvHeads: 4, ropeScaling: undefined }],
    ] as const;
    for (const [label, variant] of variants) {
      const checkpoint = randomLlamaCheckpoint({ seed: 21, vocabSize, hidden: 32, layers: 2, heads: 4, intermediate: 48, ropeTheta: 500, ...variant });
      const input = { config: checkpoint.config, weights: weightSourceOf(checkpoint.tensors), tokenizerJson, tokenizerConfig };
      const f32 = join(dir, `${label}-f32.gguf`);
      const f16 = join(dir, `${label}-f16.gguf`);
      exportLlamaGguf(f32, input, { type: 'F32' });
      exportLlamaGguf(f16, input, { type: 'F16' });
      models[label] = { f32, f16, checkpoint };
    }
  });

  after(async () => {
    await peer.dispose();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  test('llama.cpp loads our F32 and F16 exports and gives a full, normalised next-token distribution', async () => {
    for (const model of Object.values(models)) {
      for (const path of [model.f32, model.f16]) {
        const logprobs = await peer.nextTokenLogprobs(path, ids, { threads: 1 });
        assert.equal(logprobs.length, ids.length);
        for (const [position, row] of logprobs.entries()) {
          assert.equal(row.length, vocabSize);
          assert.ok(row.every(Number.isFinite), `${path} position ${position}: non-finite log-prob`);
          const total = row.reduce((s, v) => s + Math.exp(v), 0);
          // A top-k/top-p stage would keep a subset (the peer refuses a map smaller
          // than the vocabulary) or mask entries to -Infinity (not finite).
          assert.ok(Math.abs(total - 1) < 1e-4, `${path} position ${position}: probabilities sum to ${total}`);
        }
      }
      // F16 storage moves log-probs a little, never a lot.
      const f32 = await peer.nextTokenLogprobs(model.f32, ids);
      const f16 = await peer.nextTokenLogprobs(model.f16, ids);
      for (let i = 0; i < ids.length; i++) assert.ok(maxAbsDifference(f32[i], f16[i]) < 0.05, `position ${i}: F16 differs by ${maxAbsDifference(f32[i], f16[i])}`);
    }
  });

  test('llama.cpp on the F32 export matches an independent float64 Hugging Face forward', async () => {
    for (const [label, model] of Object.entries(models)) {
      const expected = referenceLogprobs(model.checkpoint, ids);
      const actual = await peer.nextTokenLogprobs(model.f32, ids);
      for (let i = 0; i < ids.length; i++) {
        const difference = maxAbsDifference(actual[i], expected[i]);
        assert.ok(difference < 1e-4, `${label} position ${i}: max |log p difference| ${difference}`);
      }
    }
  });

  test('every position is computed with its whole prefix in the KV cache, the last one included', async () => {
    const full = await peer.nextTokenLogprobs(models.untied.f32, ids);
    for (const length of [1, 3, ids.length - 1]) {
      const prefix = await peer.nextTokenLogprobs(models.untied.f32, ids.slice(0, length));
      const difference = maxAbsDifference(prefix[length - 1], full[length - 1]);
      assert.ok(difference < 1e-5, `prefix of ${length}: last position differs by ${difference}`);
    }
    await assert.rejects(peer.nextTokenLogprobs(models.untied.f32, [1, vocabSize]), (e: Error) => e instanceof RangeError && new RegExp(`token id ${vocabSize}`).test(e.message));
  });

  test('llama.cpp tokenizes like our Hugging Face tokenizer', async () => {
    const hf = new Tokenizer(tokenizerJson, tokenizerConfig);
    const texts = [
      'hello world',
      'The theory of the thing is what it is.',
      '  multiple   spaces\n\n and\ttabs  \n',
      'héllo wörld — 東京 🙂 ünïcödé',
      "it's 1234 o'clock, isn't it?",
      'special <|bos|> text<|eos|>',
      '',
    ];
    for (const text of texts) {
      const expected = hf.encode(text, { add_special_tokens: false }).ids;
      assert.deepEqual(await peer.tokenize(models.tied.f32, text), expected, JSON.stringify(text));
    }
    const bos = hf.token_to_id('<|bos|>');
    assert.ok(bos !== undefined && (await peer.tokenize(models.tied.f32, 'a <|bos|>')).includes(bos));
    assert.ok(!(await peer.tokenize(models.tied.f32, 'a <|bos|>', { parseSpecial: false })).includes(bos), 'parseSpecial false keeps special text as characters');
  });

  test('benchmark times one prefill batch and greedy decode steps', async () => {
    const result = await peer.benchmark(models.untied.f16, { promptTokens: 12, decodeTokens: 5, threads: 1 });
    assert.ok(result.prefill_tokens_per_s > 0 && Number.isFinite(result.prefill_tokens_per_s), `prefill ${result.prefill_tokens_per_s}`);
    assert.ok(result.decode_tokens_per_s > 0 && Number.isFinite(result.decode_tokens_per_s), `decode ${result.decode_tokens_per_s}`);
    assert.equal(result.decode_step_ms.length, 5);
    assert.ok(result.decode_step_ms.every((ms) => ms > 0));
    await assert.rejects(peer.benchmark(models.untied.f16, { promptTokens: 0, decodeTokens: 1, threads: 1 }), /promptTokens must be an integer >= 1/);
  });
});
