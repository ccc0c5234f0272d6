import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TextTokenizer } from '../src/io/tokenizer.js';
import { ActivationCapture } from '../src/model/activationCapture.js';
import { ResidualHooks } from '../src/model/hooks.js';
import { withInferenceTape } from '../src/model/inference.js';
import { Random } from '../src/tensor/index.js';
import {
  FiringCounts, differenceOfMeans, firstPrincipalComponent, meanActivations, rankFeaturesByDifference, tfidfFeatures,
} from '../src/features/discovery/index.js';
import { randomModel } from './support/randomModels.js';
import { tinyByteLevelTokenizer, tinyTokenizerSize } from './support/tinyLlama.js';

// Discovery: contrastive directions recover a planted direction with the right
// sign, SAE features are ranked by how they separate two sets, and TF-IDF favours
// a user's own features over globally common ones.

function unit(v: Float32Array): Float32Array {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0; let na = 0; let nb = 0;
  for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] ** 2; nb += b[i] ** 2; }
  return dot / Math.sqrt(na * nb);
}

/**
 * n pairs in d dimensions: pos_i = c_i + (s * strength / 2) u + noise, neg_i = c_i - (s * strength / 2) u + noise,
 * with shared per-pair content c_i, plus a nuisance direction w on which pairs differ by a random ±1.
 */
function plantedPairs(seed: number, sign: 1 | -1, n = 40, d = 32, strength = 2) {
  const rng = new Random(seed);
  const randomUnit = () => { const v = new Float32Array(d); rng.fillNormal(v); return unit(v); };
  const u = randomUnit();
  const w = randomUnit();
  const pos = new Float32Array(n * d);
  const neg = new Float32Array(n * d);
  for (let r = 0; r < n; r++) {
    const nuisance = rng.uniform() < 0.5 ? -0.5 : 0.5;
    for (let i = 0; i < d; i++) {
      const content = rng.normal();
      const shift = (sign * strength / 2) * u[i] + nuisance * w[i];
      pos[r * d + i] = content + shift + 0.2 * rng.normal();
      neg[r * d + i] = content - shift + 0.2 * rng.normal();
    }
  }
  return { u, pos, neg, d };
}

describe('contrastive directions', () => {
  for (const sign of [1, -1] as const) {
    test(`difference of means finds the planted direction (planted ${sign > 0 ? 'as is' : 'negated'})`, () => {
      const { u, pos, neg, d } = plantedPairs(3, sign);
      const { direction, diagnostics } = differenceOfMeans(pos, neg, d);
      assert.ok(Math.abs(Math.hypot(...direction) - 1) < 1e-5, 'unit length');
      assert.ok(cosine(direction, u) * sign > 0.95, `cosine with the planted direction ${cosine(direction, u)}`);
      assert.ok(diagnostics.gap > 0 && diagnostics.meanPos > diagnostics.meanNeg);
      assert.ok(diagnostics.separation > 1.5, `separation ${diagnostics.separation}`);
      assert.ok(diagnostics.accuracy > 0.8, `accuracy ${diagnostics.accuracy}`);
      assert.ok(Math.abs(diagnostics.midpoint - (diagnostics.meanPos + diagnostics.meanNeg) / 2) < 1e-12);
    });

    test(`first principal component of paired differences finds it, oriented by projection (planted ${sign > 0 ? 'as is' : 'negated'})`, () => {
      const { u, pos, neg, d } = plantedPairs(4, sign);
      const result = firstPrincipalComponent(pos, neg, d, { seed: 9 });
      assert.ok(result.converged, `converged after ${result.iterations} iterations`);
      assert.ok(cosine(result.direction, u) * sign > 0.95, `cosine with the planted direction ${cosine(result.direction, u)}`);
      assert.ok(result.diagnostics.meanPos > result.diagnostics.meanNeg, 'positives project higher');
      assert.equal(result.pairAccuracy, 1);
      assert.ok(result.explainedVariance > 0.5 && result.explainedVariance <= 1, `explained ${result.explainedVariance}`);
      // Pairing removes the shared content, so the paired direction separates pairs better than the raw sets.
      assert.ok(result.diagnostics.separation > 1.5);
      // Why the default is uncentred: every pair differs by about the same vector, which centring removes.
      const centred = firstPrincipalComponent(pos, neg, d, { seed: 9, center: true });
      assert.ok(Math.abs(cosine(centred.direction, u)) < 0.5, `centred cosine ${cosine(centred.direction, u)}`);
    });
  }

  test('the power iteration is seeded and agrees with the exact top eigenvector', () => {
    const { pos, neg, d } = plantedPairs(5, 1, 12, 4);
    const a = firstPrincipalComponent(pos, neg, d, { seed: 1 });
    assert.deepEqual(firstPrincipalComponent(pos, neg, d, { seed: 1 }).direction, a.direction);
    // M v = λ v for the second-moment matrix of the differences.
    const n = pos.length / d;
    const mv = new Float64Array(d);
    for (let r = 0; r < n; r++) {
      let p = 0;
      for (let i = 0; i < d; i++) p += (pos[r * d + i] - neg[r * d + i]) * a.direction[i];
      for (let i = 0; i < d; i++) mv[i] += ((pos[r * d + i] - neg[r * d + i]) * p) / n;
    }
    for (let i = 0; i < d; i++) assert.ok(Math.abs(mv[i] - a.eigenvalue * a.direction[i]) < 1e-4, `(Mv)[${i}] ${mv[i]} vs λv ${a.eigenvalue * a.direction[i]}`);
  });

  test('bad inputs fail with what was expected', () => {
    assert.throws(() => differenceOfMeans(new Float32Array(5), new Float32Array(4), 2), /pos: 5 values are not a whole number of rows of width 2/);
    assert.throws(() => differenceOfMeans(Float32Array.of(1, 2), Float32Array.of(1, 2), 2), /the two sets have the same mean/);
    assert.throws(() => firstPrincipalComponent(new Float32Array(4), new Float32Array(6), 2), /pos has 2 rows and neg 3; the rows must be pairs/);
    assert.throws(() => firstPrincipalComponent(Float32Array.of(1, 1), Float32Array.of(1, 1), 2), /every paired difference is zero/);
  });
});

describe('meanActivations', () => {
  const { tokenizerJson, tokenizerConfig } = tinyByteLevelTokenizer();
  const tokenizer = TextTokenizer.fromJson(tokenizerJson, tokenizerConfig);
  const { model } = randomModel({
    model_type: 'llama', vocab_size: tinyTokenizerSize(), hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, tie_word_embeddings: true,
  }, 12);
  const d = model.spec.hiddenSize;
  const texts = ['the cat sat', 'what is it?', 'a rather longer sentence than the others'];

  test("'last' is the last token's row and 'all' the mean of the rows, as when each text runs alone", () => {
    const last = meanActivations(model, tokenizer, texts, 'blocks.0.post', { positions: 'last', batchSize: 2 });
    const all = meanActivations(model, tokenizer, texts, 'blocks.0.post', { positions: 'all', batchSize: 2 });
    assert.equal(last.length, texts.length * d);
    texts.forEach((text, t) => {
      const ids = tokenizer.encode(text);
      const capture = new ActivationCapture(['blocks.0.post']);
      const hooks = new ResidualHooks(model.spec.layers);
      capture.install(hooks);
      withInferenceTape((tape) => model.forward(tape, Int32Array.from(ids), 1, ids.length, { hooks, logits: 'none' }));
      const rows = capture.collect('blocks.0.post');
      for (let i = 0; i < d; i++) {
        const mean = ids.reduce((s, _, r) => s + rows[r * d + i], 0) / ids.length;
        assert.ok(Math.abs(last[t * d + i] - rows[(ids.length - 1) * d + i]) < 1e-4, `text ${t} last[${i}]`);
        assert.ok(Math.abs(all[t * d + i] - mean) < 1e-4, `text ${t} mean[${i}]`);
      }
    });
    assert.throws(() => meanActivations(model, tokenizer, [''], 'blocks.0.post', { positions: 'all' }), /text 0 \(""\) encodes to no tokens/);
  });
});

describe('rankFeaturesByDifference', () => {
  // Rows are the latents themselves (d = dSae), the encoder a ReLU: only the ranking is under test.
  const dSae = 12;
  const relu: (rows: Float32Array, n: number) => Float32Array = (rows) => rows.map((v) => Math.max(0, v));
  function latentSet(seed: number, n: number, rates: Record<number, number>): Float32Array {
    const rng = new Random(seed);
    const out = new Float32Array(n * dSae);
    for (let r = 0; r < n; r++) {
      for (let f = 0; f < dSae; f++) {
        const rate = rates[f] ?? 0.2; // background features fire at the same rate in both sets
        out[r * dSae + f] = rng.uniform() < rate ? 1 + rng.uniform() : 0;
      }
    }
    return out;
  }
  const pos = latentSet(1, 60, { 3: 0.8, 7: 0.05 });
  const neg = latentSet(2, 50, { 3: 0.05, 7: 0.7 });

  test('features planted on one side come first on that side', () => {
    const ranked = rankFeaturesByDifference(relu, dSae, pos, neg, dSae);
    assert.equal(ranked.length, dSae);
    assert.equal(ranked[0].feature, 3);
    assert.ok(ranked[0].firingPos > 0.6 && ranked[0].firingNeg < 0.2, `firing ${ranked[0].firingPos} vs ${ranked[0].firingNeg}`);
    assert.ok(ranked[0].meanPos > ranked[0].meanNeg);
    assert.ok(ranked[0].score > ranked[1].score + 0.5, 'the planted feature stands clear of the background');
    assert.equal(ranked[ranked.length - 1].feature, 7);
    assert.equal(rankFeaturesByDifference(relu, dSae, pos, neg, dSae, { order: 'negative' })[0].feature, 7);
    const both = rankFeaturesByDifference(relu, dSae, pos, neg, dSae, { order: 'both' }).slice(0, 2).map((x) => x.feature).sort();
    assert.deepEqual(both, [3, 7]);
  });

  test('chunked encoding gives the same statistics; a wrong-sized encoder output fails', () => {
    const whole = rankFeaturesByDifference(relu, dSae, pos, neg, dSae, { chunkRows: 1000 });
    const chunked = rankFeaturesByDifference(relu, dSae, pos, neg, dSae, { chunkRows: 7 });
    assert.deepEqual(chunked.map((x) => x.feature), whole.map((x) => x.feature));
    chunked.forEach((x, i) => assert.ok(Math.abs(x.score - whole[i].score) < 1e-9));
    assert.throws(() => rankFeaturesByDifference(() => new Float32Array(3), dSae, pos, neg, dSae), /encode returned 3 values for 60 rows; expected 60 x dSae 12 = 720/);
  });
});

describe('tfidfFeatures', () => {
  const dSae = 8;
  const COMMON = 2;
  const USER = 5;
  function latentsFiring(seed: number, rows: number, rates: Record<number, number>): Float32Array {
    const rng = new Random(seed);
    const out = new Float32Array(rows * dSae);
    for (let r = 0; r < rows; r++) for (let f = 0; f < dSae; f++) if (rng.uniform() < (rates[f] ?? 0.1)) out[r * dSae + f] = 0.5 + rng.uniform();
    return out;
  }

  test('a user-specific feature outranks a globally common one that fires more often for the user', () => {
    // Background: 200 documents of 10 tokens; the common feature fires nearly everywhere, the user's almost nowhere.
    const background = new FiringCounts(dSae);
    for (let doc = 0; doc < 200; doc++) background.addDocument(latentsFiring(100 + doc, 10, { [COMMON]: 0.5, [USER]: 0.0005 }), 10);
    assert.equal(background.units, 200);
    assert.ok(background.counts[COMMON] > 190 && background.counts[USER] < 10, `df common ${background.counts[COMMON]}, user ${background.counts[USER]}`);

    const userTokens = 50;
    const user = latentsFiring(7, userTokens, { [COMMON]: 0.6, [USER]: 0.3 });
    const ranked = tfidfFeatures({ latents: user }, userTokens, background.counts, background.units);
    const rank = (f: number) => ranked.findIndex((x) => x.feature === f);
    assert.equal(ranked[0].feature, USER);
    assert.ok(rank(USER) < rank(COMMON));
    const common = ranked[rank(COMMON)];
    const mine = ranked[0];
    assert.ok(common.tf > mine.tf, 'the common feature fires on more of the user\'s tokens');
    // The documented formula, exactly.
    assert.equal(mine.tf, mine.count / userTokens);
    assert.equal(mine.idf, Math.log((1 + 200) / (1 + mine.docFreq)) + 1);
    assert.equal(mine.score, mine.tf * mine.idf);

    // Counts and latents give the same ranking.
    const counts = new FiringCounts(dSae).addRows(user, userTokens).counts;
    assert.deepEqual(tfidfFeatures(counts, userTokens, background.counts, background.units), ranked);
  });

  test('FiringCounts counts rows or documents; bad counts fail', () => {
    const latents = Float32Array.of(1, 0, 1, 0, 0, 0); // 3 rows of dSae 2: feature 0 fires on rows 0 and 1
    assert.deepEqual([...new FiringCounts(2).addRows(latents, 3).counts], [2, 0]);
    assert.deepEqual([...new FiringCounts(2).addDocument(latents, 3).counts], [1, 0]);
    assert.deepEqual(tfidfFeatures(Float32Array.of(0, 3), 4, Float32Array.of(1, 1), 2, { minCount: 1 }).map((x) => x.feature), [1]);
    assert.throws(() => tfidfFeatures(Float32Array.of(1, 2, 3), 4, Float32Array.of(1, 1), 2), /3 user counts for 2 features/);
    assert.throws(() => tfidfFeatures(Float32Array.of(5, 0), 4, Float32Array.of(1, 1), 2), /fired on 5 user tokens, more than the 4/);
    assert.throws(() => new FiringCounts(2).addRows(latents, 2), /6 latents do not form 2 rows of dSae 2/);
  });
});
