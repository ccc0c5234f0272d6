import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Policy, addConstant, contextDistillationLoss, dpoLoss, implicitReward, ktoLoss, negativeLogSigmoid, sftLoss, sigmoidOf,
} from '../src/learn/index.js';
import { nextTokenLogprobs, scoreContinuations } from '../src/model/score.js';
import { SGD, Tape, Tensor, klDivergence } from '../src/tensor/index.js';
import { randomiseAdapters, snapshot, tinySetup } from './support/learnFixtures.js';

// The learner's objectives: reverse KL against a hand computation (on raw logits
// and through the model, where the teacher's longer prompt must line up with the
// student's), gradients that reach only the adapter, SFT's prompt mask, and the
// preference losses at initialisation and after a step.

function logSoftmax(row: readonly number[]): number[] {
  const max = Math.max(...row);
  const z = Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0)) + max;
  return row.map((v) => v - z);
}

function reverseKlByHand(student: number[][], teacher: number[][]): number {
  let total = 0;
  student.forEach((row, r) => {
    const ls = logSoftmax(row);
    const lt = logSoftmax(teacher[r]);
    total += ls.reduce((s, l, i) => s + Math.exp(l) * (l - lt[i]), 0);
  });
  return total / student.length;
}

function policyOf(setup: ReturnType<typeof tinySetup>): Policy {
  return { model: setup.model, student: setup.adapters.forwardOptions() };
}

describe('reverse KL', () => {
  test('klDivergence(reverse) on tiny logits equals Σ p_s (log p_s − log p_t), averaged over rows', () => {
    const student = [[1, 2, 0.5], [-1, 0, 3]];
    const teacher = [[0.2, 2.5, -1], [0, 0, 0]];
    const tape = new Tape();
    const s = Tensor.fromArray(student.flat(), [2, 3]);
    const t = Tensor.fromArray(teacher.flat(), [2, 3]);
    const value = klDivergence(tape, s, t, { direction: 'reverse' }).item();
    // By hand: row 1, p_s = softmax(1, 2, 0.5) = (0.23122, 0.62853, 0.14024), p_t = softmax(0.2, 2.5, −1)
    // = (0.08869, 0.88460, 0.02671), Σ p_s ln(p_s / p_t) = 0.23933; row 2, p_t uniform: 0.82430.
    assert.ok(Math.abs(value - (0.23933 + 0.8243) / 2) < 1e-5, `${value}`);
    assert.ok(Math.abs(reverseKlByHand(student, teacher) - value) < 1e-6, `${value}`);
    const forward = klDivergence(tape, s, t, { direction: 'forward' }).item();
    assert.ok(Math.abs(forward - value) > 1e-3, 'reverse and forward KL differ on these logits, so the direction is tested');
    tape.release();
  });

  test('the distillation loss aligns student and teacher on the sampled tokens, not on the prompt', () => {
    const setup = tinySetup();
    randomiseAdapters(setup.adapters, 5);
    const studentPrompt = setup.encoding.prompt([{ role: 'user', content: 'lamp on?' }]);
    const teacherPrompt = setup.encoding.prompt([{ role: 'system', content: 'be brief' }, { role: 'user', content: 'lamp on?' }]);
    const sample = [9, 17, 23, 1];
    const tape = new Tape();
    const result = contextDistillationLoss(tape, policyOf(setup), studentPrompt, teacherPrompt, sample);
    const loss = result.loss.item();
    tape.release();
    // By hand: row P−1+t of each side's own log-probabilities predicts sample[t].
    const studentRows = nextTokenLogprobs(setup.model, [...studentPrompt, ...sample], setup.adapters.forwardOptions());
    const teacherRows = nextTokenLogprobs(setup.model, [...teacherPrompt, ...sample]);
    let expected = 0;
    sample.forEach((_, t) => {
      const ls = studentRows[studentPrompt.length - 1 + t];
      const lt = teacherRows[teacherPrompt.length - 1 + t];
      expected += ls.reduce((s, l, i) => s + Math.exp(l) * (l - lt[i]), 0);
    });
    expected /= sample.length;
    assert.equal(result.positions, 4);
    assert.ok(expected > 0.01, `the student and teacher differ (${expected})`);
    assert.ok(Math.abs(loss - expected) < 1e-4 * Math.max(1, expected), `loss ${loss} vs hand ${expected}`);
    // Misaligned by one row (reading the teacher as if its prompt were the student's) gives another value.
    let shifted = 0;
    sample.forEach((_, t) => {
      const ls = studentRows[studentPrompt.length - 1 + t];
      const lt = teacherRows[studentPrompt.length - 1 + t];
      shifted += ls.reduce((s, l, i) => s + Math.exp(l) * (l - lt[i]), 0);
    });
    assert.ok(Math.abs(shifted / sample.length - loss) > 1e-3);
  });

  test('zero, with zero gradient, when the student is the teacher (adapter zero, no context)', () => {
    const setup = tinySetup();
    const prompt = setup.encoding.prompt([{ role: 'user', content: 'what time?' }]);
    const tape = new Tape();
    const { loss, tokenAgreement } = contextDistillationLoss(tape, policyOf(setup), prompt, prompt, [12, 30, 7]);
    assert.ok(Math.abs(loss.item()) < 1e-6, `${loss.item()}`);
    assert.equal(tokenAgreement, 1);
    tape.backward(loss);
    for (const p of setup.adapters.parameters()) {
      if (p.grad === null) continue;
      assert.ok(p.grad.data.every((g) => Math.abs(g) < 1e-6), `${p.name} has gradient at the minimum`);
    }
    tape.release();
  });

  test('its gradient reaches the adapter only: base parameters get none and are unchanged by a step', () => {
    const setup = tinySetup();
    randomiseAdapters(setup.adapters, 6, 0.1);
    const base = setup.model.parameters();
    const before = snapshot(base);
    const adapterBefore = snapshot(setup.adapters.parameters());
    const optimiser = new SGD(setup.adapters.parameters(), { lr: 0.1 });
    const tape = new Tape();
    const studentPrompt = setup.encoding.prompt([{ role: 'user', content: 'hello' }]);
    const teacherPrompt = setup.encoding.prompt([{ role: 'system', content: 'warm' }, { role: 'user', content: 'hello' }]);
    const { loss } = contextDistillationLoss(tape, policyOf(setup), studentPrompt, teacherPrompt, [20, 21, 22, 1]);
    tape.backward(loss);
    for (const p of base) assert.equal(p.grad, null, `${p.name} got a gradient`);
    const withGradient = setup.adapters.parameters().filter((p) => p.grad !== null && p.grad.data.some((g) => g !== 0));
    assert.equal(withGradient.length, setup.adapters.parameters().length, 'every adapter factor gets a gradient');
    optimiser.step();
    tape.release();
    assert.deepEqual(snapshot(base), before, 'the base weights are unchanged');
    assert.notDeepEqual(snapshot(setup.adapters.parameters()), adapterBefore, 'the adapter moved');
  });
});

describe('SFT', () => {
  test('scores the reply tokens only: the mean −log p of the continuation, whatever the prompt holds', () => {
    const setup = tinySetup();
    randomiseAdapters(setup.adapters, 7, 0.1);
    const prompt = setup.encoding.prompt([{ role: 'user', content: 'add milk to the list' }]);
    const reply = setup.encoding.reply('done');
    const tape = new Tape();
    const loss = sftLoss(tape, policyOf(setup), prompt, reply).item();
    tape.release();
    const [scored] = scoreContinuations(setup.model, [{ context: prompt, continuation: reply }], setup.adapters.forwardOptions());
    assert.ok(Math.abs(loss + scored.total / reply.length) < 1e-5, `${loss} vs ${-scored.total / reply.length}`);
    // The loss over the whole sequence (prompt tokens as targets too) is another number.
    const all = nextTokenLogprobs(setup.model, [...prompt, ...reply], setup.adapters.forwardOptions());
    const ids = [...prompt, ...reply];
    const everything = -ids.slice(1).reduce((s, id, i) => s + all[i][id], 0) / (ids.length - 1);
    assert.ok(Math.abs(everything - loss) > 1e-3);
  });
});

describe('preference', () => {
  const setup = tinySetup({ seed: 3 });
  const policy = policyOf(setup);
  const prompt = setup.encoding.prompt([{ role: 'user', content: 'set a timer' }]);
  const chosen = setup.encoding.reply('ok, 5 min');
  const rejected = setup.encoding.reply('hmm, maybe');

  test('DPO at initialisation is −log σ(0) = log 2, and a step raises the chosen reply over the rejected one', () => {
    const optimiser = new SGD(setup.adapters.parameters(), { lr: 0.5 });
    const margin = () => {
      const tape = new Tape({ grad: false });
      const m = implicitReward(tape, policy, prompt, chosen).reward.item() - implicitReward(tape, policy, prompt, rejected).reward.item();
      tape.release();
      return m;
    };
    assert.ok(Math.abs(margin()) < 1e-6, 'the adapter starts at zero: both rewards are 0');
    for (let step = 0; step < 3; step++) {
      const tape = new Tape();
      const loss = dpoLoss(tape, implicitReward(tape, policy, prompt, chosen).reward, implicitReward(tape, policy, prompt, rejected).reward, 0.5);
      if (step === 0) assert.ok(Math.abs(loss.item() - Math.log(2)) < 1e-6, `${loss.item()}`);
      optimiser.zeroGrad();
      tape.backward(loss);
      optimiser.step();
      tape.release();
    }
    assert.ok(margin() > 1e-3, `r(chosen) − r(rejected) = ${margin()} after three steps`);
  });

  test('KTO: an undesirable reply starts at λ_U σ(0) = 0.5 and a step lowers its reward', () => {
    const fresh = tinySetup({ seed: 4 });
    const p = policyOf(fresh);
    const optimiser = new SGD(fresh.adapters.parameters(), { lr: 0.5 });
    let tape = new Tape();
    const loss = ktoLoss(tape, implicitReward(tape, p, prompt, rejected).reward, false, { beta: 0.5 });
    assert.ok(Math.abs(loss.item() - 0.5) < 1e-6);
    tape.backward(loss);
    optimiser.step();
    tape.release();
    tape = new Tape({ grad: false });
    assert.ok(implicitReward(tape, p, prompt, rejected).reward.item() < -1e-4);
    tape.release();
  });

  test('the scalar ops match their finite differences', () => {
    for (const [op, f] of [[negativeLogSigmoid, (x: number) => Math.log1p(Math.exp(-x))], [sigmoidOf, (x: number) => 1 / (1 + Math.exp(-x))]] as const) {
      for (const x0 of [-3, -0.2, 0, 1.7, 40]) {
        const tape = new Tape();
        const x = Tensor.fromArray([x0], [1]);
        x.requiresGrad = true;
        const y = op(tape, addConstant(tape, x, 0));
        assert.ok(Math.abs(y.item() - f(x0)) < 1e-6);
        tape.backward(y);
        const numeric = (f(x0 + 1e-4) - f(x0 - 1e-4)) / 2e-4;
        assert.ok(Math.abs(x.grad!.data[0] - numeric) < 1e-4, `${op.name} at ${x0}: ${x.grad!.data[0]} vs ${numeric}`);
        tape.release();
      }
    }
  });
});
