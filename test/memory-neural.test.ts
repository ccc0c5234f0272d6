import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Experience, encodeExperience } from '../src/learn/index.js';
import type { CausalLm, ForwardOptions } from '../src/model/causalLm.js';
import { withInferenceTape } from '../src/model/inference.js';
import {
  type AssociativePairs, NeuralMemory, type NeuralMemoryState, associativeLoss, experiencePairs,
} from '../src/memory/neuralMemory.js';
import { Random, Tape, Tensor, createReferenceBackend, withBackend } from '../src/tensor/index.js';
import { sameValues, snapshot, tinySetup } from './support/learnFixtures.js';

// The Titans-style neural memory baseline (src/memory/neuralMemory.ts) on the
// tiny random Llama of the learner's tests (hidden 16, 2 layers). The memory sits
// at blocks.1.post, the last block's output: there the stream feeds only the
// final norm and the head, so what the memory learns to add shows up directly in
// the next-token distribution.

const POINT = 'blocks.1.post';

// Short: the tiny model has 64 positions and the encoding is one token per character.
const direct: Experience = { prompt: 'shop hours?', reply: 'At nine.', reaction: { kind: 'none' }, context: { profile: 'Be direct.' } };
const other: Experience = { prompt: 'my evening?', reply: 'A walk.', reaction: { kind: 'none' }, context: { memory: ['short', 'no chat'] } };

function logits(model: CausalLm, ids: readonly number[], options: ForwardOptions = {}): Float32Array {
  return withInferenceTape((tape) => Float32Array.from(model.forward(tape, Int32Array.from(ids), 1, ids.length, options).logits!.data));
}

function pairsOf(setup: ReturnType<typeof tinySetup>, experience: Experience): AssociativePairs {
  const pairs = experiencePairs(setup.model, setup.encoding, experience, POINT);
  assert.ok(pairs !== null);
  return pairs;
}

function sameState(a: NeuralMemoryState, b: NeuralMemoryState): boolean {
  return sameValues([a.w1, a.w2, a.s1, a.s2], [b.w1, b.w2, b.s1, b.s2]);
}

/** Mean over the paired positions (last prompt token, each reply token) of KL(teacher ‖ student), in float64. */
function teacherStudentKl(setup: ReturnType<typeof tinySetup>, experience: Experience, memory: NeuralMemory | null): number {
  const { model, encoding } = setup;
  const encoded = encodeExperience(encoding, experience, model.spec.maxPositions, 64);
  const vocab = model.spec.vocabSize;
  const n = encoded.reply.length + 1;
  const teacher = logits(model, [...encoded.teacher!, ...encoded.reply]);
  const student = logits(model, [...encoded.student, ...encoded.reply], memory === null ? {} : memory.forwardOptions());
  const logSoftmax = (row: Float32Array): number[] => {
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
    return Array.from(row, (v) => v - lse);
  };
  let total = 0;
  for (let t = 0; t < n; t++) {
    const tr = teacher.length / vocab - n + t;
    const sr = student.length / vocab - n + t;
    const p = logSoftmax(teacher.subarray(tr * vocab, (tr + 1) * vocab));
    const q = logSoftmax(student.subarray(sr * vocab, (sr + 1) * vocab));
    for (let v = 0; v < vocab; v++) total += Math.exp(p[v]) * (p[v] - q[v]);
  }
  return total / n;
}

test('a fresh memory reads zero: logits are exactly the base model\'s', () => {
  const setup = tinySetup();
  const memory = new NeuralMemory(setup.model, { point: POINT, seed: 3 });
  const ids = [...setup.encoding.prompt([{ role: 'user', content: 'hello there' }]), ...setup.encoding.reply('hi')];
  const base = logits(setup.model, ids);
  const withMemory = logits(setup.model, ids, memory.forwardOptions());
  assert.equal(withMemory.length, base.length);
  assert.ok(base.every((v, i) => v === withMemory[i]), 'a fresh memory must leave every logit bit-identical');
  assert.equal(memory.parameterCount(), 2 * 16 * 32);
  assert.equal(memory.bytes(), 4 * 2 * memory.parameterCount());
});

for (const keyNorm of ['rms', 'none'] as const) {
  test(`the memory reads W2·silu(W1·n(x)), keyNorm ${keyNorm} (a float64 loop as reference)`, () => {
    const setup = tinySetup();
    const memory = new NeuralMemory(setup.model, { point: POINT, seed: 5, keyNorm, lr: 0.003 });
    memory.write(pairsOf(setup, direct));
    const { w1, w2, config: { width: d, hidden: h } } = memory.toState();
    const rng = new Random(9);
    const rows = 3;
    const keys = new Float32Array(rows * d);
    rng.fillNormal(keys, 3);
    const out = memory.read(keys, rows);
    for (let r = 0; r < rows; r++) {
      let squares = 0;
      for (let i = 0; i < d; i++) squares += keys[r * d + i] ** 2;
      const n = keyNorm === 'rms' ? 1 / Math.sqrt(squares / d + 1e-6) : 1;
      const a = new Array<number>(h).fill(0);
      for (let j = 0; j < h; j++) {
        let z = 0;
        for (let i = 0; i < d; i++) z += w1[j * d + i] * keys[r * d + i] * n;
        a[j] = z / (1 + Math.exp(-z));
      }
      for (let i = 0; i < d; i++) {
        let y = 0;
        for (let j = 0; j < h; j++) y += w2[i * h + j] * a[j];
        assert.ok(Math.abs(out[r * d + i] - y) <= 1e-5 * (1 + Math.abs(y)), `M(k)[${r}, ${i}] = ${out[r * d + i]}, reference ${y}`);
      }
    }
  });
}

for (const keyNorm of ['rms', 'none'] as const) test(`the associative loss's gradient matches central differences, keyNorm ${keyNorm} (float64)`, () => {
  withBackend(createReferenceBackend('float64'), () => {
    const d = 5;
    const h = 7;
    const rows = 4;
    const rng = new Random(21);
    const w1 = Tensor.parameter(Tensor.randn([h, d], rng, 0.5));
    const w2 = Tensor.parameter(Tensor.randn([d, h], rng, 0.5));
    const keys = Tensor.randn([rows, d], rng);
    const values = Tensor.randn([rows, d], rng);
    const lossAt = (): number => {
      const tape = new Tape({ grad: false });
      try {
        return associativeLoss(tape, w1, w2, keys, values, keyNorm).item();
      } finally {
        tape.release();
      }
    };
    const tape = new Tape();
    tape.backward(associativeLoss(tape, w1, w2, keys, values, keyNorm));
    tape.release();
    const eps = 1e-6;
    for (const [name, w] of [['W1', w1], ['W2', w2]] as const) {
      const grad = Float64Array.from(w.grad!.data);
      for (const index of [0, 3, w.size - 1, Math.floor(w.size / 2)]) {
        const saved = w.data[index];
        w.data[index] = saved + eps;
        const up = lossAt();
        w.data[index] = saved - eps;
        const down = lossAt();
        w.data[index] = saved;
        const numeric = (up - down) / (2 * eps);
        assert.ok(Math.abs(grad[index] - numeric) <= 1e-7 * (1 + Math.abs(numeric)), `∂ℓ/∂${name}[${index}]: tape ${grad[index]}, central difference ${numeric}`);
      }
    }
  });
});

test('the write\'s gradient norm is the reference gradient\'s at the same weights', () => {
  const setup = tinySetup();
  const memory = new NeuralMemory(setup.model, { point: POINT, seed: 2 });
  const pairs = pairsOf(setup, direct);
  memory.write(pairs);
  const before = memory.toState();
  const log = memory.write(pairs);
  const { width: d, hidden: h } = before.config;
  const reference = withBackend(createReferenceBackend('float64'), () => {
    const w1 = Tensor.parameter(Tensor.fromArray(before.w1, [h, d]));
    const w2 = Tensor.parameter(Tensor.fromArray(before.w2, [d, h]));
    const tape = new Tape();
    const loss = associativeLoss(tape, w1, w2, Tensor.fromArray(pairs.keys, [pairs.rows, d]), Tensor.fromArray(pairs.values, [pairs.rows, d]), before.config.keyNorm);
    const value = loss.item();
    tape.backward(loss);
    tape.release();
    let squares = 0;
    for (const w of [w1, w2]) for (const g of w.grad!.data) squares += g * g;
    return { loss: value, gradNorm: Math.sqrt(squares) };
  });
  assert.ok(Math.abs(log.loss - reference.loss) <= 1e-4 * reference.loss, `loss ${log.loss}, reference ${reference.loss}`);
  assert.ok(Math.abs(log.gradNorm - reference.gradNorm) <= 1e-4 * reference.gradNorm, `gradient norm ${log.gradNorm}, reference ${reference.gradNorm}`);
});

test('repeated writes of one interaction reduce the associative loss; the base model is never written', () => {
  const setup = tinySetup();
  const params = snapshot(setup.model.parameters());
  const memory = new NeuralMemory(setup.model, { point: POINT, seed: 1 });
  const pairs = pairsOf(setup, direct);
  const lr = memory.config.lr;
  assert.equal(lr, 1 / 32, 'the default θ is 1 / hidden');
  const start = memory.loss(pairs);
  const logs = Array.from({ length: 8 }, () => memory.write(pairs));
  const end = memory.loss(pairs);
  assert.ok(logs.every((l) => !l.skipped && l.reason === null && l.wallMs >= 0 && l.rows === pairs.rows));
  assert.equal(logs[0].loss, start);
  assert.equal(logs[0].theta, lr, 'the first write steps with the full θ');
  assert.ok(logs.slice(1).every((l) => l.theta > 0 && l.theta <= lr), 'gated steps stay within (0, θ]');
  assert.ok(logs[1].theta < lr, 'a less surprising second write steps less');
  assert.ok(end < 0.5 * start, `loss ${start} → ${end}`);
  assert.equal(memory.writes, 8);
  assert.ok(sameValues(params, snapshot(setup.model.parameters())), 'the base model\'s parameters must not change');

  const ungated = new NeuralMemory(setup.model, { point: POINT, seed: 1, surpriseGate: false });
  ungated.write(pairs);
  assert.equal(ungated.write(pairs).theta, lr);
});

test('a write that would make the memory read far more than it stores is refused, and the memory is left as it was', () => {
  const setup = tinySetup();
  const pairs = pairsOf(setup, direct);
  // A step a thousand times the default: the first write already overshoots by orders of magnitude.
  const memory = new NeuralMemory(setup.model, { point: POINT, seed: 1, lr: 30 });
  const before = memory.toState();
  const log = memory.write(pairs);
  assert.equal(log.skipped, true);
  assert.match(log.reason ?? '', /the update diverges: the memory would read (\d+×|non-finite values,) the size of the values it stores \(limit 10×\)/);
  assert.ok(sameState(before, memory.toState()), 'a refused write leaves the memory bit-identical');
  assert.equal(memory.writes, 0);
  // The default step is within the limit.
  assert.equal(new NeuralMemory(setup.model, { point: POINT, seed: 1 }).write(pairs).skipped, false);
});

test('forget = 1 drops the old memory (M becomes the surprise alone); momentum carries surprise over', () => {
  const setup = tinySetup();
  const pairs = pairsOf(setup, direct);
  const wiped = new NeuralMemory(setup.model, { point: POINT, seed: 1, forget: 1 });
  for (let i = 0; i < 3; i++) wiped.write(pairs);
  const state = wiped.toState();
  assert.ok(sameValues([state.w1, state.w2], [state.s1, state.s2]), 'with α = 1 the weights must equal S exactly');
  // The seeded W1 is gone after the first write: W1 = S1 = −θ∇W1, and ∇W1 = 0 while W2 = 0.
  const first = new NeuralMemory(setup.model, { point: POINT, seed: 1, forget: 1 });
  first.write(pairs);
  assert.ok(first.toState().w1.every((v) => v === 0));

  const withMomentum = new NeuralMemory(setup.model, { point: POINT, seed: 1, momentum: 0.9 });
  const without = new NeuralMemory(setup.model, { point: POINT, seed: 1, momentum: 0 });
  withMomentum.write(pairs);
  without.write(pairs);
  assert.ok(sameState(withMomentum.toState(), without.toState()), 'from S = 0 the first update does not depend on η');
  withMomentum.write(pairs);
  without.write(pairs);
  assert.ok(!sameValues([withMomentum.toState().w2], [without.toState().w2]), 'the second update must carry η·S');
});

test('after writes of one interaction the student with memory is closer to the teacher', () => {
  const setup = tinySetup();
  const memory = new NeuralMemory(setup.model, { point: POINT, seed: 1 });
  const pairs = pairsOf(setup, direct);
  const base = teacherStudentKl(setup, direct, null);
  const fresh = teacherStudentKl(setup, direct, memory);
  assert.equal(fresh, base);
  for (let i = 0; i < 8; i++) memory.write(pairs);
  const after = teacherStudentKl(setup, direct, memory);
  console.log(`KL(teacher ‖ student) over ${pairs.rows} positions: base ${base.toFixed(5)}, with memory after 8 writes ${after.toFixed(5)} (associative loss ${memory.loss(pairs).toFixed(4)})`);
  assert.ok(after < 0.75 * base, `KL with memory ${after} must be well below the base student's ${base}`);
});

test('non-finite keys, values or loss skip the write and leave the memory bit-identical', () => {
  const setup = tinySetup();
  const memory = new NeuralMemory(setup.model, { point: POINT, seed: 1 });
  const pairs = pairsOf(setup, direct);
  memory.write(pairs);
  const before = memory.toState();
  const d = before.config.width;

  const nanValues = { ...pairs, values: Float32Array.from(pairs.values) };
  nanValues.values[2 * d + 5] = NaN;
  const log = memory.write(nanValues);
  assert.equal(log.skipped, true);
  assert.equal(log.theta, 0);
  assert.match(log.reason!, /values have a non-finite entry at \[2, 5\] = NaN/);

  const infKeys = { ...pairs, keys: Float32Array.from(pairs.keys) };
  infKeys.keys[0] = Infinity;
  assert.match(memory.write(infKeys).reason!, /keys have a non-finite entry at \[0, 0\] = Infinity/);

  // Finite inputs whose squared error overflows float32: the loss check catches it.
  const huge = { ...pairs, values: new Float32Array(pairs.values.length).fill(1e30) };
  const overflow = memory.write(huge);
  assert.equal(overflow.skipped, true);
  assert.match(overflow.reason!, /associative loss is Infinity/);

  const after = memory.toState();
  assert.ok(sameState(before, after), 'a skipped write must leave weights and surprise bit-identical');
  assert.equal(after.reference, before.reference);
  assert.equal(after.writes, 1);

  const noContext = memory.writeExperience(setup.encoding, { prompt: 'hi', reply: 'Hello.', reaction: { kind: 'none' } });
  assert.equal(noContext.skipped, true);
  assert.match(noContext.reason!, /no context/);
  assert.throws(() => memory.write({ ...pairs, rows: pairs.rows + 1 }), /keys have \d+ values, expected rows × width/);
});

test('state round trip is exact; malformed state is refused naming the field', () => {
  const setup = tinySetup();
  const memory = new NeuralMemory(setup.model, { point: POINT, seed: 4, hidden: 24, lr: 0.02, forget: 0.05 });
  memory.writeExperience(setup.encoding, direct);
  memory.writeExperience(setup.encoding, other);
  const state = memory.toState();
  const restored = NeuralMemory.fromState(setup.model, state);
  assert.deepEqual(restored.toState(), state);
  // The restored memory reads and writes exactly like the original.
  const ids = [...setup.encoding.prompt([{ role: 'user', content: 'shop hours?' }]), 7, 8];
  assert.deepEqual(logits(setup.model, ids, restored.forwardOptions()), logits(setup.model, ids, memory.forwardOptions()));
  const pairs = pairsOf(setup, direct);
  assert.deepEqual({ ...restored.write(pairs), wallMs: 0 }, { ...memory.write(pairs), wallMs: 0 });
  assert.ok(sameState(restored.toState(), memory.toState()));

  const bad = (change: (s: NeuralMemoryState) => unknown, pattern: RegExp) => {
    const s = structuredClone(state) as unknown as NeuralMemoryState;
    change(s);
    assert.throws(() => NeuralMemory.fromState(setup.model, s), pattern);
  };
  bad((s) => { (s as { format: string }).format = 'other'; }, /format is "other", expected "imprint.neural-memory"/);
  bad((s) => { (s as { version: number }).version = 2; }, /version 2 is not supported/);
  bad((s) => { s.w1 = new Float32Array(5); }, /w1 has 5 values, its shape \[24, 16\] needs 384/);
  bad((s) => { (s as { s2: unknown }).s2 = Array.from(s.s2); }, /s2 must be a Float32Array, got Array/);
  bad((s) => { s.w2[3] = NaN; }, /w2 has a non-finite entry at \[0, 3\]/);
  bad((s) => { s.config.lr = -1; }, /lr must be a finite number > 0, got -1/);
  bad((s) => { s.config.momentum = 1; }, /momentum must be in \[0, 1\)/);
  bad((s) => { s.config.width = 8; }, /config.width is 8, but the model's hidden size is 16/);
  bad((s) => { (s.config as { point: string }).point = 'blocks.5.post'; }, /config.point: hook point "blocks.5.post" names layer 5/);
  bad((s) => { s.writes = -1; }, /writes must be an integer >= 0/);
  bad((s) => { s.reference = NaN; }, /reference must be null or a finite number/);
  assert.throws(() => new NeuralMemory(setup.model, { point: 'layer3' }), /hook point "layer3" is not of the form/);
  assert.throws(() => new NeuralMemory(setup.model, { point: POINT, forget: 2 }), /forget must be in \[0, 1\], got 2/);
});
