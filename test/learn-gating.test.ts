import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { featureSpaceFromDirections } from '../src/adapt/index.js';
import type { TextTokenizer } from '../src/io/tokenizer.js';
import {
  type Experience, GradientProbe, OnlineLearner, type QualityDetector, buildQualityDetector, defaultGateConfig, gateDecision,
  garbageTexts, loadOrBuildQualityDetector, qualityOfIds, sftLoss, subspaceFraction, textIds,
} from '../src/learn/index.js';
import type { CausalLm } from '../src/model/causalLm.js';
import { ResidualHooks } from '../src/model/hooks.js';
import { withInferenceTape } from '../src/model/inference.js';
import { tinyConfig } from '../src/pretrain/config.js';
import { pretrain } from '../src/pretrain/trainer.js';
import { Random, Tape, Tensor, add, createReferenceBackend, withBackend } from '../src/tensor/index.js';
import { generateHomeDialogue } from '../src/world/home/dialogue.js';
import { randomiseAdapters, sameValues, snapshot, tinySetup } from './support/learnFixtures.js';

// The gate's signals: the subspace fraction (exact on constructed gradients, and
// the probe that reads ∂L/∂h checked against finite differences), the quality
// detector on a tiny pretrained model, and an experience below the threshold
// being stored but not trained on.

describe('subspace fraction', () => {
  const d = 10;
  const space = featureSpaceFromDirections({
    name: 's', hookPoint: 'blocks.0.post', width: d, ids: ['a', 'b', 'c'],
    directions: Float32Array.from({ length: 3 * d }, (_, i) => Math.sin(i * 1.7) + (i % d === Math.floor(i / d) ? 1 : 0)),
  });
  const { u, rank } = space.basis;
  const rng = new Random(3);
  const inside = new Float64Array(4 * d);
  const outside = new Float64Array(4 * d);
  for (let p = 0; p < 4; p++) {
    const c = [rng.normal(), rng.normal(), rng.normal()];
    const g = Array.from({ length: d }, () => rng.normal());
    for (let i = 0; i < d; i++) inside[p * d + i] = c.reduce((s, cj, j) => s + u[i * rank + j] * cj, 0);
    // g − U Uᵀ g
    const coefficients = Array.from({ length: rank }, (_, j) => g.reduce((s, gi, i) => s + u[i * rank + j] * gi, 0));
    for (let i = 0; i < d; i++) outside[p * d + i] = g[i] - coefficients.reduce((s, cj, j) => s + u[i * rank + j] * cj, 0);
  }

  test('is 1 for a gradient built inside span(U) and ~0 for one orthogonal to it', () => {
    assert.ok(Math.abs(subspaceFraction(inside, space.basis).fraction! - 1) < 1e-6);
    assert.ok(subspaceFraction(outside, space.basis).fraction! < 1e-6);
    const mixed = inside.map((v, i) => v + outside[i]);
    const expected = subspaceFraction(inside, space.basis).norm / subspaceFraction(mixed, space.basis).norm;
    assert.ok(Math.abs(subspaceFraction(mixed, space.basis).fraction! - expected) < 1e-6, 'the parts add in quadrature');
    assert.equal(subspaceFraction(new Float64Array(d), space.basis).fraction, null, 'no gradient, no fraction');
    assert.ok(Math.abs(subspaceFraction(inside, space.basis).chance - Math.sqrt(3 / 10)) < 1e-12);
  });

  test('the probe reads ∂L/∂h at the hook point (finite differences, float64)', () => {
    withBackend(createReferenceBackend('float64'), () => {
      const setup = tinySetup({ seed: 9 });
      randomiseAdapters(setup.adapters, 2, 0.2);
      const prompt = setup.encoding.prompt([{ role: 'user', content: 'dim the lights' }]);
      const reply = setup.encoding.reply('done');
      const probe = new GradientProbe('blocks.1.post');
      const hooks = new ResidualHooks(setup.model.spec.layers);
      probe.attach(hooks);
      const tape = new Tape();
      const loss = sftLoss(tape, { model: setup.model, student: { linearHook: setup.adapters.linearHook, hooks } }, prompt, reply);
      tape.backward(loss);
      const g = probe.gradients();
      tape.release();
      probe.release();
      const seq = prompt.length + reply.length - 1;
      assert.equal(g.length, seq * 16);
      const lossWith = (position: number, direction: number[], epsilon: number) => {
        const nudge = new ResidualHooks(setup.model.spec.layers);
        nudge.on('blocks.1.post', (hidden, context) => {
          const delta = Tensor.zeros(hidden.shape);
          for (let i = 0; i < 16; i++) delta.data[position * 16 + i] = epsilon * direction[i];
          return add(context.tape, hidden, delta);
        });
        return withInferenceTape((t) => sftLoss(t, { model: setup.model, student: { linearHook: setup.adapters.linearHook, hooks: nudge } }, prompt, reply).item());
      };
      for (const position of [seq - 1, prompt.length, 2]) {
        const direction = Array.from({ length: 16 }, (_, i) => Math.cos(i + position));
        const numeric = (lossWith(position, direction, 1e-5) - lossWith(position, direction, -1e-5)) / 2e-5;
        const analytic = direction.reduce((s, v, i) => s + v * g[position * 16 + i], 0);
        assert.ok(Math.abs(numeric - analytic) < 1e-6 * Math.max(1, Math.abs(numeric)), `position ${position}: ${analytic} vs ${numeric}`);
      }
    });
  });
});

describe('gate decision', () => {
  const signals = { trust: 0.9, trustSource: 'reaction kind' as const, quality: 0.64, qualityTexts: [], agreement: 0.81, teacherKl: 0.1, subspaceFraction: 0.3, subspaceChance: 0.25 };

  test('the weight is trust · quality^γq · agreement^γa · min(1, f / (saturation · chance))^γs', () => {
    const config = { ...defaultGateConfig, exponents: { quality: 1, agreement: 0.5, subspace: 0.5 }, subspaceSaturation: 2 };
    const gate = gateDecision(signals, config);
    const expected = 0.9 * 0.64 * Math.sqrt(0.81) * Math.sqrt(0.3 / 0.5);
    assert.ok(Math.abs(gate.weight - expected) < 1e-12);
    assert.equal(gate.trained, expected >= config.threshold);
    const logged = gateDecision(signals, { ...config, exponents: { quality: 0, agreement: 0, subspace: 0 } });
    assert.ok(Math.abs(logged.weight - 0.9) < 1e-12, 'exponent 0 logs a signal without gating on it');
    const unmeasured = gateDecision({ ...signals, quality: null, agreement: null, subspaceFraction: null, subspaceChance: null }, config);
    assert.equal(unmeasured.weight, 0.9, 'a signal that could not be measured counts 1');
    const blocked = gateDecision({ ...signals, quality: 0.05 }, config);
    assert.equal(blocked.trained, false);
    assert.match(blocked.reason!, /lowest factor: quality 0\.050/);
  });
});

describe('quality detector and the threshold', () => {
  let dir: string;
  let model: CausalLm;
  let tokenizer: TextTokenizer;
  let detector: QualityDetector;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'imprint-learn-gate-'));
    ({ model, tokenizer } = pretrain({ ...tinyConfig, steps: 3, evalEvery: 3 }, { runDir: join(dir, 'run'), resume: false }));
    detector = buildQualityDetector(model, tokenizer, 'blocks.1.post', { perSource: 12, seed: 4 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('garbage reply text scores lower than a world reply', () => {
    const rng = new Random(77);
    const replies = Array.from({ length: 8 }, () => generateHomeDialogue(rng, { stated: false, feedback: false }).turns.find((t) => t.role === 'assistant')!.content);
    // Fresh garbage of the lengths of these replies, from a seed the detector never saw.
    const garbage = garbageTexts(replies, tokenizer, 99);
    const score = (text: string) => qualityOfIds(model, detector, textIds(model, tokenizer, text)).score;
    const world = replies.map(score);
    const bad = garbage.map(score);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(detector.coherentMean > detector.garbageMean);
    assert.ok(mean(world) > mean(bad) + 0.3, `world ${mean(world)} vs garbage ${mean(bad)}`);
    // Probability that a world reply outscores a garbage text (AUC).
    const auc = world.reduce((n, w) => n + bad.filter((b) => w > b).length, 0) / (world.length * bad.length);
    assert.ok(auc >= 0.8, `AUC ${auc}: world ${world.map((x) => x.toFixed(2))} garbage ${bad.map((x) => x.toFixed(2))}`);
  });

  test('the detector is cached (in a folder created on first use): a second call reads the file instead of rebuilding', () => {
    const path = join(dir, 'new-folder', 'quality.json');
    const first = loadOrBuildQualityDetector(path, model, tokenizer, 'blocks.1.post', { perSource: 3 });
    // A rebuild would write the file again; a cached read leaves it as it is.
    const written = readFileSync(path, 'utf8');
    const marked = JSON.parse(written) as QualityDetector & { note?: string };
    marked.note = 'read from the cache';
    writeFileSync(path, JSON.stringify(marked));
    const second = loadOrBuildQualityDetector(path, model, tokenizer, 'blocks.1.post', { perSource: 3 }) as QualityDetector & { note?: string };
    assert.equal(second.note, 'read from the cache');
    assert.deepEqual(second.direction, first.direction);
  });

  test('an experience below the threshold is stored but not trained on: the adapter is unchanged', () => {
    const setup = tinySetup({ seed: 11 });
    const learner = new OnlineLearner({
      model: setup.model, adapters: setup.adapters, encoding: setup.encoding, background: [[0, 9, 9, 9]],
      config: { sampleTokens: 8, seed: 1 },
    });
    const before = snapshot(setup.adapters.parameters());
    const experience: Experience = { prompt: 'lights', reply: 'ok', reaction: { kind: 'thumbs', up: true }, context: { profile: 'brief' }, trust: 0.1 };
    const log = learner.step(experience);
    assert.equal(log.trained, false);
    assert.equal(log.skipped, 'gate');
    assert.match(log.experiences[0].gate.reason!, /gate weight 0\.100 < threshold 0\.25 \(lowest factor: trust 0\.100\)/);
    assert.ok(sameValues(snapshot(setup.adapters.parameters()), before), 'the adapter is unchanged');
    assert.equal(learner.optimiser.stepCount, 0);
    assert.equal(learner.history.length, 1, 'stored');
    assert.equal(learner.history[0].experience, experience);
    assert.equal(learner.history[0].trained, false);
    // The same experience, trusted, trains: the check above can fail.
    const trusted = learner.step({ ...experience, trust: 1 });
    assert.equal(trusted.trained, true, JSON.stringify(trusted.experiences[0].gate));
    assert.ok(!sameValues(snapshot(setup.adapters.parameters()), before));
    assert.equal(learner.history[1].trained, true);
  });
});
