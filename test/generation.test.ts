import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TextTokenizer } from '../src/io/tokenizer.js';
import { generateFromIds, generateText } from '../src/model/generate.js';
import { sampleToken } from '../src/model/sampling.js';
import { StopStringMatcher } from '../src/model/stopStrings.js';
import { Random } from '../src/tensor/index.js';
import { randomModel } from './support/randomModels.js';
import { tinyByteLevelTokenizer, tinyTokenizerSize } from './support/tinyLlama.js';

// Sampling, stop strings, seeds and streaming.

describe('sampleToken', () => {
  const logits = Float32Array.from([1, 3, 2, 0.5, 3]);

  test('temperature 0 is argmax, lowest id on ties', () => {
    assert.equal(sampleToken(logits, { temperature: 0 }, new Random(1)), 1);
  });

  test('temperature sampling follows softmax(logits / T)', () => {
    const rng = new Random(7);
    const counts = new Array(5).fill(0);
    const draws = 40000;
    for (let i = 0; i < draws; i++) counts[sampleToken(logits, { temperature: 2 }, rng)]++;
    const weights = Array.from(logits, (l) => Math.exp(l / 2));
    const z = weights.reduce((a, b) => a + b, 0);
    counts.forEach((c, i) => assert.ok(Math.abs(c / draws - weights[i] / z) < 0.01, `token ${i}: ${c / draws} vs ${weights[i] / z}`));
  });

  test('top-k keeps only the k most likely; top-p the smallest set reaching p', () => {
    const rng = new Random(8);
    const seenK = new Set<number>();
    for (let i = 0; i < 2000; i++) seenK.add(sampleToken(logits, { temperature: 1, topK: 2 }, rng));
    assert.deepEqual([...seenK].sort(), [1, 4]);
    // softmax: p(1) = p(4) ~ 0.35, p(2) ~ 0.13 ... top-p 0.6 keeps tokens 1 and 4 only.
    const seenP = new Set<number>();
    for (let i = 0; i < 2000; i++) seenP.add(sampleToken(logits, { temperature: 1, topP: 0.6 }, rng));
    assert.deepEqual([...seenP].sort(), [1, 4]);
    const seenWide = new Set<number>();
    for (let i = 0; i < 4000; i++) seenWide.add(sampleToken(logits, { temperature: 1, topP: 0.99 }, rng));
    assert.equal(seenWide.size, 5);
  });

  test('NaN logits are refused, not sampled', () => {
    assert.throws(() => sampleToken(Float32Array.from([0, NaN]), { temperature: 1 }, new Random(1)), /logit 1 is NaN/);
  });
});

describe('StopStringMatcher', () => {
  test('holds back a possible stop prefix, releases it when the match fails, and cuts at the stop', () => {
    const m = new StopStringMatcher(['<END>', '\n\n']);
    assert.deepEqual(m.push('hello <'), { emit: 'hello ', stopped: false });
    assert.deepEqual(m.push('b'), { emit: '<b', stopped: false });
    assert.deepEqual(m.push(' x\n'), { emit: ' x', stopped: false });
    assert.deepEqual(m.push('\nmore'), { emit: '', stopped: true });
    assert.equal(m.flush(), '');
  });

  test('a stop string split over many pieces is still found', () => {
    const m = new StopStringMatcher(['STOP']);
    const out = ['ab', 'cS', 'T', 'O', 'Pzz'].map((piece) => m.push(piece));
    assert.equal(out.map((o) => o.emit).join(''), 'abc');
    assert.equal(out[4].stopped, true);
  });
});

describe('generation', () => {
  const { tokenizerJson, tokenizerConfig } = tinyByteLevelTokenizer();
  const tokenizer = TextTokenizer.fromJson(tokenizerJson, tokenizerConfig);
  const config = {
    model_type: 'llama', vocab_size: tinyTokenizerSize(), hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256, tie_word_embeddings: true,
    bos_token_id: tokenizer.bosTokenId, eos_token_id: tokenizer.eosTokenId,
  };
  const { model } = randomModel(config, 17);

  test('a seed fixes sampled output; different seeds differ; the seed used is reported', async () => {
    const options = { maxTokens: 24, temperature: 1.2, topK: 50, topP: 0.95, stopTokenIds: [] };
    const a = await generateText(model, tokenizer, 'the', { ...options, seed: 11 });
    const b = await generateText(model, tokenizer, 'the', { ...options, seed: 11 });
    const c = await generateText(model, tokenizer, 'the', { ...options, seed: 12 });
    assert.deepEqual(a.results[0].tokenIds, b.results[0].tokenIds);
    assert.notDeepEqual(a.results[0].tokenIds, c.results[0].tokenIds);
    assert.equal(a.seed, 11);
    const unseeded = await generateText(model, tokenizer, 'the', options);
    assert.ok(Number.isInteger(unseeded.seed));
  });

  test('streamed pieces add up to the final text, which decodes the generated ids', async () => {
    const pieces: string[] = [];
    const run = await generateText(model, tokenizer, 'then the', { maxTokens: 30, temperature: 0.8, seed: 3, stopTokenIds: [], onText: (d) => pieces.push(d) });
    const result = run.results[0];
    assert.equal(pieces.join(''), result.text);
    assert.equal(result.text, tokenizer.decode(result.tokenIds, { skipSpecialTokens: true }));
    assert.equal(result.finishReason, 'length');
    assert.equal(result.tokenIds.length, 30);
  });

  test('a stop string ends generation before it, and is never streamed', async () => {
    const free = await generateText(model, tokenizer, 'the', { maxTokens: 40, temperature: 0, stopTokenIds: [] });
    const text = free.results[0].text;
    assert.ok(text.length > 6, 'the model must produce some text');
    const stop = text.slice(3, 5);
    const pieces: string[] = [];
    const stopped = await generateText(model, tokenizer, 'the', { maxTokens: 40, temperature: 0, stopTokenIds: [], stop: [stop], onText: (d) => pieces.push(d) });
    assert.equal(stopped.results[0].finishReason, 'stop');
    assert.equal(stopped.results[0].text, text.slice(0, text.indexOf(stop)));
    assert.equal(pieces.join(''), stopped.results[0].text);
  });

  test('an end-of-sequence token ends a row and is not part of the output', async () => {
    const greedy = await generateFromIds(model, [[tokenizer.bosTokenId!, 40, 41]], { maxTokens: 8, temperature: 0, stopTokenIds: [] });
    const ids = greedy.results[0].tokenIds;
    const stopAt = ids[3];
    const ended = await generateFromIds(model, [[tokenizer.bosTokenId!, 40, 41]], { maxTokens: 8, temperature: 0, stopTokenIds: [stopAt] });
    assert.equal(ended.results[0].finishReason, 'eos');
    assert.deepEqual(ended.results[0].tokenIds, ids.slice(0, ids.indexOf(stopAt)));
  });

  test('generation stops at the context length instead of allocating past it', async () => {
    const run = await generateFromIds(model, [[5, 6, 7]], { maxTokens: 1_000_000_000, temperature: 0, stopTokenIds: [] });
    assert.equal(run.results[0].tokenIds.length, 256 - 3);
    assert.equal(run.results[0].finishReason, 'length');
    await assert.rejects(generateFromIds(model, [new Array(256).fill(5)], { maxTokens: 4 }), /leaves no room in the model's context of 256 positions/);
  });

  test('bad options fail clearly', async () => {
    await assert.rejects(generateText(model, tokenizer, 'x', { maxTokens: 0 }), /maxTokens must be a positive integer/);
    await assert.rejects(generateText(model, tokenizer, 'x', { maxTokens: 3, topP: 0 }), /topP must be in \(0, 1\]/);
    await assert.rejects(generateText(model, tokenizer, 'x', { maxTokens: 3, temperature: -1 }), /temperature must be/);
    await assert.rejects(generateFromIds(model, [[1, 2]], { maxTokens: 3, stop: ['x'] }), /stop strings need a tokenizer/);
    await assert.rejects(generateFromIds(model, [[5], []], { maxTokens: 3 }), /sequence 1 is empty/);
  });
});
