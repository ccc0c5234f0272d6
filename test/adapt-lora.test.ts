import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AdapterSet, type AdapterSetConfig } from '../src/adapt/index.js';
import { CausalLm } from '../src/model/causalLm.js';
import { Tape, Tensor, createReferenceBackend, withBackend } from '../src/tensor/index.js';
import { randomModel, tinyConfigs } from './support/randomModels.js';
import { checkGradients, logitsOf, randomize, tokens } from './support/adaptTestKit.js';

// Plain LoRA: forward against W + s·B·A multiplied out by hand, scaling rules,
// initialisation, dropout and gradients against finite differences.

const float64Backend = createReferenceBackend('float64');

/** A second model whose weights are W + ΔW, ΔW given per module. */
function modelWithDeltas(model: CausalLm, deltas: Map<string, Float64Array>): CausalLm {
  const params = new Map<string, Tensor>();
  for (const [name, t] of model.params) params.set(name, Tensor.fromArray(t.data, t.shape));
  for (const [module, delta] of deltas) {
    const w = params.get(`${module}.weight`)!;
    assert.equal(w.size, delta.length, module);
    for (let i = 0; i < delta.length; i++) w.data[i] += delta[i];
  }
  return new CausalLm(model.spec, params);
}

/** s · B · A by explicit loops. */
function loraDelta(b: Tensor, a: Tensor, s: number): Float64Array {
  const [out, r] = b.shape;
  const inn = a.shape[1];
  const B = b.toArray();
  const A = a.toArray();
  const delta = new Float64Array(out * inn);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inn; i++) {
      let v = 0;
      for (let k = 0; k < r; k++) v += B[o * r + k] * A[k * inn + i];
      delta[o * inn + i] = s * v;
    }
  }
  return delta;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: lengths`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance * Math.max(1, scale), `${what}: element ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

function factor(set: AdapterSet, adapter: string, name: string): Tensor {
  const a = set.linear.find((l) => l.name === adapter);
  assert.ok(a !== undefined, `no adapter ${adapter} (have ${set.linear.map((l) => l.name).join(', ')})`);
  return a.factors.find((f) => f.name === name)!.tensor;
}

describe('LoRA', () => {
  test('starts as the identity: B = 0 gives the base model\'s logits bit for bit', () => {
    const { model } = randomModel(tinyConfigs.llama, 3);
    const ids = tokens(10, model.spec.vocabSize, 1);
    const set = AdapterSet.create(model, { adapters: [{ kind: 'lora', target: { modules: 'all-linear' }, rank: 2 }] });
    assert.equal(set.linear.length, 14);
    assert.deepEqual(logitsOf(model, ids, 2, set.forwardOptions()), logitsOf(model, ids, 2));
  });

  for (const arch of ['llama', 'gpt2'] as const) {
    test(`${arch}: the hooked forward equals a model whose weights are W + (alpha/r)·B·A, multiplied out by hand`, () => {
      const { model } = randomModel(tinyConfigs[arch], 4);
      const ids = tokens(12, model.spec.vocabSize, 2);
      const rank = 3;
      const alpha = 6;
      const set = AdapterSet.create(model, { seed: 5, adapters: [{ kind: 'lora', target: { modules: 'all-linear' }, rank, alpha }] });
      randomize(set.parameters(), 6, 0.3);
      const deltas = new Map(set.linear.map((a) => [a.site.name, loraDelta(factor(set, a.name, 'lora_B'), factor(set, a.name, 'lora_A'), alpha / rank)]));
      const reference = logitsOf(modelWithDeltas(model, deltas), ids, 2);
      const hooked = logitsOf(model, ids, 2, set.forwardOptions());
      assertClose(hooked, reference, 2e-5, `${arch} LoRA`);
      // The adapter does change the output (the comparison is not vacuous).
      const base = logitsOf(model, ids, 2);
      assert.ok(hooked.some((v, i) => Math.abs(v - base[i]) > 1e-2));
    });
  }

  test('scaling is alpha / r, or alpha / sqrt(r) with rsLoRA; alpha defaults to r', () => {
    const { model } = randomModel(tinyConfigs.llama, 3);
    const scalingOf = (config: AdapterSetConfig) => AdapterSet.create(model, config).linear[0].scaling;
    const target = { modules: ['o_proj'], layers: [0] };
    assert.equal(scalingOf({ adapters: [{ kind: 'lora', target, rank: 4, alpha: 16 }] }), 4);
    assert.equal(scalingOf({ adapters: [{ kind: 'lora', target, rank: 4, alpha: 16, rsLora: true }] }), 8);
    assert.equal(scalingOf({ adapters: [{ kind: 'lora', target, rank: 4 }] }), 1);
  });

  test('A is Kaiming-uniform within ±1/sqrt(in), B is zero, and both follow the seed', () => {
    const { model } = randomModel(tinyConfigs.llama, 3);
    const config = (seed: number): AdapterSetConfig => ({ seed, adapters: [{ kind: 'lora', target: { modules: ['down_proj'] }, rank: 4 }] });
    const first = AdapterSet.create(model, config(1));
    const again = AdapterSet.create(model, config(1));
    const other = AdapterSet.create(model, config(2));
    const name = 'model.layers.0.mlp.down_proj.lora';
    const a = factor(first, name, 'lora_A').toArray();
    const bound = 1 / Math.sqrt(model.spec.intermediateSize);
    assert.ok(a.every((v) => Math.abs(v) <= bound));
    assert.ok(Math.max(...a.map(Math.abs)) > 0.8 * bound, 'the values fill the range');
    assert.ok(factor(first, name, 'lora_B').toArray().every((v) => v === 0));
    assert.deepEqual(factor(again, name, 'lora_A').toArray(), a);
    assert.notDeepEqual(factor(other, name, 'lora_A').toArray(), a);
    // Each layer gets its own initialisation.
    assert.notDeepEqual(factor(first, 'model.layers.1.mlp.down_proj.lora', 'lora_A').toArray(), a);
  });

  test('dropout acts only while training on a tape that records gradients, with seeded masks', () => {
    const { model } = randomModel(tinyConfigs.llama, 3);
    const ids = tokens(8, model.spec.vocabSize, 3);
    const config: AdapterSetConfig = { seed: 9, adapters: [{ kind: 'lora', target: { modules: ['q_proj', 'v_proj'] }, rank: 2, dropout: 0.5 }] };
    const trainingLogits = (set: AdapterSet) => {
      const tape = new Tape();
      try {
        return Float64Array.from(model.forward(tape, ids, 1, 8, set.forwardOptions()).logits!.data);
      } finally {
        tape.release();
      }
    };
    const make = () => {
      const set = AdapterSet.create(model, config);
      randomize(set.parameters(), 1, 0.5);
      return set;
    };
    const set = make();
    const evaluation = logitsOf(model, ids, 1, set.forwardOptions());
    assert.deepEqual(trainingLogits(set), evaluation, 'not in training mode: no dropout');
    set.training = true;
    assert.deepEqual(logitsOf(model, ids, 1, set.forwardOptions()), evaluation, 'inference tape: no dropout');
    const dropped = trainingLogits(set);
    assert.ok(dropped.some((v, i) => Math.abs(v - evaluation[i]) > 1e-4), 'training: dropout changes the output');
    assert.notDeepEqual(trainingLogits(set), dropped, 'a new mask each step');
    const twin = make();
    twin.training = true;
    assert.deepEqual(trainingLogits(twin), dropped, 'same seed, same masks');
  });

  test('gradients of A and B match finite differences (float64)', () => {
    withBackend(float64Backend, () => {
      const { model } = randomModel(tinyConfigs.llama, 8);
      for (const p of model.parameters()) p.requiresGrad = false;
      const set = AdapterSet.create(model, { adapters: [{ kind: 'lora', target: { modules: ['q_proj', 'o_proj', 'up_proj'], layers: [1] }, rank: 2, alpha: 3 }] });
      randomize(set.parameters(), 2, 0.4);
      checkGradients(model, set, tokens(6, model.spec.vocabSize, 4), 2);
    });
  });
});

/** Compares the set's parameter gradients of a random linear functional of the logits with central differences. */
