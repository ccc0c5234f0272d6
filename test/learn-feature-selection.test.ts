import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdapterSet, featureSpaceFromDirections, featureSubspace } from '../src/adapt/index.js';
import { captureResidualRows } from '../src/features/activations/captureRows.js';
import {
  type Experience, type FeatureRanking, encodeExperience, rankFeaturesByContextShift, selectUserFeatures, selectedFeatureIds,
} from '../src/learn/index.js';
import { Random } from '../src/tensor/index.js';
import { tinySetup } from './support/learnFixtures.js';

// Per-user feature selection (src/learn/featureSelection.ts) against a plain
// reference: each sequence's residual stream read on its own (no batching, no
// padding), the projections and their statistics in float64 loops.

const experiences: Experience[] = [
  // Short: the tiny model has 64 positions and the encoding is one token per character.
  { prompt: 'shop hours?', reply: 'At nine.', reaction: { kind: 'none' }, context: { profile: 'Be direct.' } },
  { prompt: 'my evening?', reply: 'A walk.', reaction: { kind: 'thumbs', up: true }, context: { memory: ['short', 'no chat'] } },
  { prompt: 'no context', reply: 'Sure.', reaction: { kind: 'none' } },
];

/** The reference: per experience with context, the last prompt token and every reply token of both prompts, read one sequence at a time. */
function referenceStatistics(setup: ReturnType<typeof tinySetup>, directions: Float32Array, k: number) {
  const { model, encoding, space } = setup;
  const d = space.width;
  const shifts: number[][] = Array.from({ length: k }, () => []);
  const students: number[][] = Array.from({ length: k }, () => []);
  for (const e of experiences) {
    const encoded = encodeExperience(encoding, e, model.spec.maxPositions, 64);
    if (encoded.teacher === null) continue;
    const read = (prompt: number[]) => captureResidualRows(model, [[...prompt, ...encoded.reply]], [space.hookPoint]).get(space.hookPoint)!;
    const s = read(encoded.student);
    const t = read(encoded.teacher);
    const n = encoded.reply.length + 1;
    for (let p = 0; p < n; p++) {
      const sRow = s.length / d - n + p;
      const tRow = t.length / d - n + p;
      for (let f = 0; f < k; f++) {
        let norm = 0;
        for (let i = 0; i < d; i++) norm += directions[f * d + i] ** 2;
        norm = Math.sqrt(norm);
        let ps = 0;
        let pt = 0;
        for (let i = 0; i < d; i++) {
          ps += (s[sRow * d + i] * directions[f * d + i]) / norm;
          pt += (t[tRow * d + i] * directions[f * d + i]) / norm;
        }
        shifts[f].push(pt - ps);
        students[f].push(ps);
      }
    }
  }
  return shifts.map((diffs, f) => {
    const n = diffs.length;
    const shift = diffs.reduce((a, b) => a + b, 0) / n;
    const mean = students[f].reduce((a, b) => a + b, 0) / n;
    const spread = Math.sqrt(students[f].reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
    return { shift, spread, score: Math.abs(shift) / spread, positions: n };
  });
}

test('features are ranked by how far the context moves them, as the one-sequence-at-a-time reference computes it', () => {
  const setup = tinySetup({ features: 3 });
  const { model, encoding, space } = setup;
  const d = space.width;
  // Feature "moved" is the mean (teacher − student) difference itself, so it must lead; the others are random.
  const probe = referenceStatistics(setup, Float32Array.from({ length: d * d }, (_, i) => (i % (d + 1) === 0 ? 1 : 0)), d);
  const directions = new Float32Array(3 * d);
  new Random(7).fillNormal(directions);
  for (let i = 0; i < d; i++) directions[i] = probe[i].shift;
  const ranked = featureSpaceFromDirections({ name: 'style', hookPoint: space.hookPoint, width: d, ids: ['moved', 'r1', 'r2'], directions });
  const ranking = rankFeaturesByContextShift(model, encoding, ranked, experiences);
  const reference = referenceStatistics(setup, directions, 3);
  assert.equal(ranking.experiences, 2, 'the experience without context says nothing about the user and is skipped');
  assert.equal(ranking.positions, reference[0].positions);
  assert.equal(ranking.features[0].id, 'moved');
  for (const f of ranking.features) {
    const r = reference[['moved', 'r1', 'r2'].indexOf(f.id)];
    assert.ok(Math.abs(f.shift - r.shift) < 1e-4 * (1 + Math.abs(r.shift)), `${f.id} shift ${f.shift} vs ${r.shift}`);
    assert.ok(Math.abs(f.spread - r.spread) < 1e-4 * (1 + r.spread), `${f.id} spread ${f.spread} vs ${r.spread}`);
    assert.ok(Math.abs(f.score - r.score) < 1e-3 * (1 + r.score), `${f.id} score ${f.score} vs ${r.score}`);
  }
  assert.ok(ranking.features[0].shift > 0, 'the context moves the mean difference along itself');
  for (let i = 1; i < ranking.features.length; i++) assert.ok(ranking.features[i - 1].score >= ranking.features[i].score);
});

test('the kept features: at least one, at most keep, each within minShare of the best; no context at all is refused', () => {
  const ranking = (scores: number[]): FeatureRanking => ({ experiences: 2, positions: 10, features: scores.map((score, i) => ({ id: `f${i}`, shift: score, spread: 1, score })) });
  assert.deepEqual(selectedFeatureIds(ranking([0.4, 0.3, 0.19, 0.1]), { keep: 4, minShare: 0.5 }), ['f0', 'f1']);
  assert.deepEqual(selectedFeatureIds(ranking([0.4, 0.3, 0.25, 0.2]), { keep: 2, minShare: 0.5 }), ['f0', 'f1']);
  assert.deepEqual(selectedFeatureIds(ranking([0.4, 0.01]), { keep: 4, minShare: 1 }), ['f0']);
  assert.throws(() => selectedFeatureIds({ experiences: 0, positions: 0, features: [] }), /none of the experiences has context/);
  assert.throws(() => selectedFeatureIds(ranking([0, 0])), /moved no feature/);
  assert.throws(() => selectedFeatureIds(ranking([1]), { keep: 0, minShare: 0.5 }), /keep must be an integer >= 1, got 0/);
  assert.throws(() => selectedFeatureIds(ranking([1]), { keep: 1, minShare: 1.5 }), /minShare must be in \[0, 1\], got 1.5/);
});

test('a subspace keeps the named features in the space\'s order with their directions, and an adapter built on it writes only there', () => {
  const { model, space, encoding } = tinySetup({ features: 4 });
  const sub = featureSubspace(space, ['f2', 'f0']);
  assert.deepEqual(sub.ids, ['f0', 'f2']);
  assert.equal(sub.name, space.name, 'the bundle\'s name stays, so a stored adapter names its bundle');
  assert.deepEqual([...sub.directions.subarray(sub.width, 2 * sub.width)], [...space.directions.subarray(2 * space.width, 3 * space.width)]);
  assert.equal(sub.basis.rank, 2);
  assert.throws(() => featureSubspace(space, ['f9']), /has no feature "f9" \(it has f0, f1, f2, f3\)/);
  assert.throws(() => featureSubspace(space, []), /name at least one feature/);

  const chosen = selectUserFeatures(model, encoding, space, experiences, { keep: 2, minShare: 0 });
  assert.deepEqual(chosen.kept, chosen.ranking.features.slice(0, 2).map((f) => f.id));
  assert.deepEqual([...chosen.space.ids].sort(), [...chosen.kept].sort());
  const adapters = AdapterSet.create(model, { seed: 1, adapters: [{ kind: 'write', rank: 2, target: { modules: ['o_proj'] } }] }, chosen.space);
  assert.deepEqual(adapters.features?.ids, chosen.space.ids);
});
