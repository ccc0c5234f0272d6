import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AdapterSet, featureSpaceFromDirections } from '../src/adapt/index.js';
import { lossShiftAtLevel, reactionFromFeedback, simulateLearning, wantedScore } from '../src/learn/index.js';
import { tinyConfig } from '../src/pretrain/config.js';
import { pretrain } from '../src/pretrain/trainer.js';
import { Random } from '../src/tensor/index.js';
import { sameValues, snapshot } from './support/learnFixtures.js';

// The simulated learning run end to end on a tiny pretrained model (a smoke run:
// too weak a model to learn a style in three interactions, so only the
// bookkeeping is checked), and the small pure pieces of the proof run.

test('a simulated run measures before and after, steps once per interaction, and leaves the base untouched', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-learn-sim-'));
  try {
    const { model, tokenizer } = pretrain({ ...tinyConfig, steps: 3, evalEvery: 3 }, { runDir: join(dir, 'run'), resume: false });
    const d = model.spec.hiddenSize;
    const rng = new Random(1);
    const directions = new Float32Array(4 * d);
    rng.fillNormal(directions);
    const space = featureSpaceFromDirections({ name: 'sim', hookPoint: 'blocks.1.post', width: d, ids: ['a', 'b', 'c', 'e'], directions });
    const adapters = AdapterSet.create(model, { seed: 1, adapters: [{ kind: 'write', rank: 2, target: { modules: ['o_proj', 'down_proj'] } }] }, space);
    const base = snapshot(model.parameters());
    const points: number[] = [];
    const result = await simulateLearning({
      model, tokenizer, adapters, user: { id: 'u', preferences: { detail: 'brief' }, statesPreferenceRate: 0.5 },
      interactions: 3, evaluateAt: [0, 3], heldOutPrompts: 3, generalPassages: 2, replyMaxTokens: 12, seed: 4,
      learner: { sampleTokens: 12 }, onPoint: (p) => points.push(p.interactions),
    });
    assert.deepEqual(result.target, { axis: 'detail', wanted: 'brief' });
    assert.deepEqual(points, [0, 3]);
    assert.equal(Object.values(result.reactions).reduce((a, b) => a + b, 0), 3);
    assert.equal(result.steps.trained + result.steps.skippedByGate + result.steps.nonFinite, 3);
    assert.equal(result.trace.length, 3);
    for (const p of result.points) {
      assert.ok(p.judge.meanScore >= 0 && p.judge.meanScore <= 1);
      assert.equal(p.judge.scores.length, 3);
      assert.ok(Number.isFinite(p.generalLoss) && p.generalLoss > 0);
      assert.ok(p.teacherGap >= 0 && Number.isFinite(p.teacherGap));
    }
    assert.ok(sameValues(snapshot(model.parameters()), base), 'the base weights are unchanged');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('world feedback maps onto reactions, and the judge score is taken for the wanted side', () => {
  assert.deepEqual(reactionFromFeedback(null), { kind: 'none' });
  assert.deepEqual(reactionFromFeedback({ kind: 'thumbs', up: false }), { kind: 'thumbs', up: false });
  assert.deepEqual(reactionFromFeedback({ kind: 'correction', text: 'shorter' }), { kind: 'correction', text: 'shorter' });
  const hedged = 'Hmm, let me think. I believe it might be at 6 pm, perhaps.';
  assert.ok(wantedScore(hedged, { axis: 'directness', wanted: 'direct' }) < 0.1);
  assert.ok(Math.abs(wantedScore(hedged, { axis: 'directness', wanted: 'direct' }) + wantedScore(hedged, { axis: 'directness', wanted: 'hedging' }) - 1) < 1e-12);
});

test('the loss shift at a level interpolates where the trajectory first reaches it', () => {
  const point = (generalLoss: number) => ({ interactions: 0, judge: { meanScore: 0, rate: 0, scores: [], examples: [] }, generalLoss, teacherGap: 0 });
  const points = [point(3), point(3.01), point(3.05), point(3.02)];
  assert.ok(Math.abs(lossShiftAtLevel(points, [0, 0.2, 0.6, 0.6], 0.4) - 0.03) < 1e-12, 'halfway between 0.01 and 0.05');
  assert.ok(Math.abs(lossShiftAtLevel(points, [0, 0.2, 0.6, 0.6], 0.2) - 0.01) < 1e-12);
  assert.ok(Math.abs(lossShiftAtLevel(points, [0, 0.2, 0.3, 0.35], 0.9) - 0.02) < 1e-12, 'never reached: the last shift');
});

test('deferred adapters are built from the first window of interactions, the base model replying until then, and every buffered interaction is stepped in order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-learn-sim-'));
  try {
    const { model, tokenizer } = pretrain({ ...tinyConfig, steps: 3, evalEvery: 3 }, { runDir: join(dir, 'run'), resume: false });
    const d = model.spec.hiddenSize;
    const directions = new Float32Array(3 * d);
    new Random(2).fillNormal(directions);
    const space = featureSpaceFromDirections({ name: 'sim', hookPoint: 'blocks.1.post', width: d, ids: ['a', 'b', 'c'], directions });
    const built: number[] = [];
    const stepped: number[] = [];
    const result = await simulateLearning({
      model, tokenizer, user: { id: 'u', preferences: { directness: 'direct' }, statesPreferenceRate: 0.5 },
      adapters: {
        window: 2,
        build: (experiences) => {
          built.push(experiences.length);
          assert.ok(experiences.every((e) => e.context !== undefined), 'every simulated interaction carries the user\'s context');
          return AdapterSet.create(model, { seed: 1, adapters: [{ kind: 'write', rank: 2, target: { modules: ['o_proj'] } }] }, space);
        },
      },
      interactions: 3, evaluateAt: [0, 1, 3], heldOutPrompts: 2, generalPassages: 2, replyMaxTokens: 8, seed: 5,
      learner: { sampleTokens: 8 }, onStep: (_, i) => stepped.push(i),
    });
    assert.deepEqual(built, [2], 'built once, after the window');
    assert.deepEqual(stepped, [1, 2, 3]);
    assert.deepEqual(result.trace.map((t) => t.interaction), [1, 2, 3]);
    const [p0, p1] = result.points;
    assert.equal(p1.generalLoss, p0.generalLoss, 'after one interaction there is no adapter yet: the base model is measured');
    assert.deepEqual(p1.judge.scores, p0.judge.scores);
    await assert.rejects(simulateLearning({
      model, tokenizer, user: { id: 'u', preferences: { directness: 'direct' }, statesPreferenceRate: 0.5 },
      adapters: { window: 0, build: () => { throw new Error('not reached'); } }, interactions: 1, heldOutPrompts: 1, generalPassages: 1,
    }), /window must be an integer >= 1, got 0/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
