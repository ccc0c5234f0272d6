import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Experience, OnlineLearner, type Policy, contextDistillationLoss, encodeExperience, sampleReply } from '../src/learn/index.js';
import { Random, Tape } from '../src/tensor/index.js';
import { TOKEN, sameValues, snapshot, tinySetup } from './support/learnFixtures.js';

// The learner: a non-finite loss skips the step and leaves the adapter and the
// optimiser as they were; what every step logs; replay and background KL; and
// a short run whose distillation loss falls.

const background = [[TOKEN.bos, 20, 21, 22, 23, 24], [TOKEN.bos, 30, 31, 32]];

describe('non-finite values', () => {
  test('a NaN loss skips the step with a logged error, the adapter unchanged, and the next good step trains', () => {
    const setup = tinySetup({ seed: 21 });
    const learner = new OnlineLearner({ model: setup.model, adapters: setup.adapters, encoding: setup.encoding, background, config: { sampleTokens: 8 } });
    // 'z' appears in the reply only: a NaN in its (untied) input embedding row makes the SFT and KTO losses NaN.
    const [zId] = setup.encoding.reply('z');
    const embedding = setup.model.tokenEmbedding;
    const row = embedding.data.subarray(zId * 16, (zId + 1) * 16);
    const saved = Float32Array.from(row);
    row.fill(Number.NaN);
    const experience: Experience = { prompt: 'aaa', reply: 'zz', reaction: { kind: 'thumbs', up: true } };
    const before = snapshot(setup.adapters.parameters());
    const log = learner.step(experience);
    assert.equal(log.trained, false);
    assert.equal(log.skipped, 'non-finite');
    assert.match(log.error!, /^step 1 skipped, adapter unchanged: crossEntropy: loss over logits \[\d+, 61\]; the row \[\d+\] has a non-finite value \(NaN\)/);
    assert.ok(sameValues(snapshot(setup.adapters.parameters()), before));
    assert.equal(learner.optimiser.stepCount, 0, 'the optimiser did not step');
    assert.equal(learner.history[0].trained, false);
    assert.match(learner.history[0].error!, /non-finite/);
    row.set(saved);
    const next = learner.step(experience);
    assert.equal(next.trained, true, JSON.stringify(next.experiences[0]?.gate));
    assert.ok(!sameValues(snapshot(setup.adapters.parameters()), before));
  });

  test('an update that leaves a non-finite parameter is undone, optimiser moments included', () => {
    const setup = tinySetup({ seed: 22 });
    const learner = new OnlineLearner({ model: setup.model, adapters: setup.adapters, encoding: setup.encoding, background, config: { sampleTokens: 8 } });
    const experience: Experience = { prompt: 'lights', reply: 'ok', reaction: { kind: 'thumbs', up: true }, context: { profile: 'brief' } };
    learner.step(experience);
    const params = setup.adapters.parameters();
    const before = snapshot(params);
    const moments = snapshot(params.flatMap((p) => [learner.optimiser.state(p).m, learner.optimiser.state(p).v]));
    learner.optimiser.groups[0].lr = Number.POSITIVE_INFINITY;
    const log = learner.step(experience);
    assert.equal(log.skipped, 'non-finite');
    assert.match(log.error!, /learner update: parameter .* after the optimiser step .* non-finite/);
    assert.ok(sameValues(snapshot(params), before));
    assert.ok(sameValues(snapshot(params.flatMap((p) => [learner.optimiser.state(p).m, learner.optimiser.state(p).v])), moments));
    assert.equal(learner.optimiser.stepCount, 1);
  });
});

describe('steps', () => {
  test('every step logs wall time, each loss term, the gate weight and its signals, and the adapter norm per feature', () => {
    const setup = tinySetup({ seed: 23 });
    const logs: unknown[] = [];
    const learner = new OnlineLearner({
      model: setup.model, adapters: setup.adapters, encoding: setup.encoding, background, config: { sampleTokens: 8, seed: 3 }, onLog: (l) => logs.push(l),
    });
    const base = snapshot(setup.model.parameters());
    const log = learner.step({ prompt: 'tea?', reply: 'yes', reaction: { kind: 'thumbs', up: true }, context: { memory: ['brief'] } });
    assert.equal(logs[0], log);
    assert.ok(log.trained);
    assert.ok(log.wallMs > 0 && log.timings.sample > 0 && log.timings.backward > 0);
    const e = log.experiences[0];
    assert.deepEqual(Object.keys(e.terms).sort(), ['distill', 'kto', 'sft']);
    assert.ok(Math.abs(e.terms.kto - 0.5) < 1e-6, 'KTO starts at σ(0)');
    assert.ok(e.terms.distill > 0 && e.terms.sft > 0);
    assert.ok(e.sample !== null && e.sample.tokens >= 1 && e.sample.tokens <= 8);
    assert.ok(e.signals.agreement !== null && e.signals.teacherKl !== null);
    assert.ok(e.signals.subspaceFraction! > 0 && e.signals.subspaceFraction! <= 1);
    assert.ok(Math.abs(e.signals.subspaceChance! - Math.sqrt(4 / 16)) < 1e-12);
    assert.ok(e.gate.weight > 0 && e.gate.weight <= 1);
    assert.equal(log.loss.background, 0, 'the adapter was zero before this step, so the background KL was too');
    assert.equal(log.loss.replay, null, 'nothing to replay yet');
    assert.deepEqual(Object.keys(log.adapterNorm.byFeature).sort(), ['f0', 'f1', 'f2', 'f3']);
    assert.ok(log.adapterNorm.total > 0);
    assert.ok(sameValues(snapshot(setup.model.parameters()), base), 'the base model is untouched');
    assert.equal(learner.replay.size, 1, 'the accepted reply is kept for replay');
    const second = learner.step({ prompt: 'tea?', reply: 'yes', reaction: { kind: 'none' }, context: { memory: ['brief'] } });
    assert.ok(second.loss.replay !== null && second.loss.replay > 0);
    assert.ok(second.loss.background !== null && second.loss.background > 0, 'the adapted model has moved from the base');
  });

  test('a small batch is one step: gated-out experiences are stored, the rest train together', () => {
    const setup = tinySetup({ seed: 25 });
    const learner = new OnlineLearner({ model: setup.model, adapters: setup.adapters, encoding: setup.encoding, background, config: { sampleTokens: 6 } });
    const before = snapshot(setup.adapters.parameters());
    const log = learner.step([
      { prompt: 'tea?', reply: 'yes', reaction: { kind: 'thumbs', up: true }, trust: 0.05 },
      { prompt: 'oven?', reply: 'on', reaction: { kind: 'thumbs', up: true } },
    ]);
    assert.equal(log.experiences.length, 2);
    assert.deepEqual(log.experiences.map((e) => e.gate.trained), [false, true]);
    assert.ok(log.trained);
    assert.equal(learner.optimiser.stepCount, 1, 'one optimiser step for the batch');
    assert.deepEqual(learner.history.map((r) => r.trained), [false, true]);
    assert.ok(!sameValues(snapshot(setup.adapters.parameters()), before));
    assert.equal(learner.replay.size, 1, 'only the trained experience is replayed');
  });

  test('a short run on one user context lowers the distillation loss on fixed samples', () => {
    const setup = tinySetup({ seed: 24, features: 8 });
    const experience: Experience = { prompt: 'hi', reply: 'hello there', reaction: { kind: 'none' }, context: { profile: 'short' } };
    const encoded = encodeExperience(setup.encoding, experience, 64, 10);
    const policy: Policy = { model: setup.model, student: setup.adapters.forwardOptions() };
    const rng = new Random(5);
    const samples = Array.from({ length: 6 }, () => sampleReply(setup.model, encoded.student, { maxTokens: 10, temperature: 1, rng, stopTokenIds: [TOKEN.end] }).tokens);
    const evaluate = () => {
      const tape = new Tape({ grad: false });
      const value = samples.reduce((s, sample) => s + contextDistillationLoss(tape, policy, encoded.student, encoded.teacher!, sample).loss.item(), 0) / samples.length;
      tape.release();
      return value;
    };
    const before = evaluate();
    const learner = new OnlineLearner({
      model: setup.model, adapters: setup.adapters, encoding: setup.encoding, background,
      config: { sampleTokens: 10, lr: 1e-2, seed: 2, gate: { threshold: 0 } },
    });
    const losses: number[] = [];
    for (let i = 0; i < 25; i++) losses.push(learner.step(experience).experiences[0].terms.distill);
    const after = evaluate();
    assert.ok(before > 0.05, `the context changes the base model's predictions (${before})`);
    assert.ok(after < 0.8 * before, `distillation loss on fixed samples: ${before} → ${after}; per step ${losses.map((l) => l.toFixed(3))}`);
  });
});
