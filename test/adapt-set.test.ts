import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AdapterSet, type AdapterSetConfig, type AdapterSetState, type FeatureSpace, featureSpaceFromDirections, validateAdapterSetConfig } from '../src/adapt/index.js';
import type { CausalLm } from '../src/model/causalLm.js';
import { Random, Tape, type Tensor } from '../src/tensor/index.js';
import { randomModel, tinyConfigs } from './support/randomModels.js';
import { logitsOf, randomize, tokens } from './support/adaptTestKit.js';
import { frobenius, matmul64, orthonormalColumns, transpose64 } from '../src/adapt/matrices.js';
import { featureProbe } from '../src/adapt/spaces.js';

// The adapter set: materialise (every linear kind as an ordinary B·A pair),
// merge and exact unmerge, many sets on one base, saving and loading its state,
// the per-feature norm report, and config validation.

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance * Math.max(1, scale), `${what}: element ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

function snapshot(model: CausalLm): Map<string, Uint8Array> {
  return new Map([...model.params].map(([name, t]) => [name, new Uint8Array(Float32Array.from(t.data).buffer)]));
}

function space(seed: number): FeatureSpace {
  const rng = new Random(seed);
  return featureSpaceFromDirections({ name: 'tone', hookPoint: 'blocks.0.post', width: 16, ids: ['formal', 'warm', 'brief'], directions: Float32Array.from({ length: 48 }, () => rng.normal()) });
}

/** Every linear kind, a residual adapter beside one, on a tiny Llama with the bundle at blocks.0.post. */
const linearKinds: AdapterSetConfig = {
  seed: 2,
  adapters: [
    { kind: 'write', target: { modules: ['o_proj', 'down_proj'], layers: [0] }, rank: 2, alpha: 4, residual: { rank: 1, alpha: 2 } },
    { kind: 'read', target: { modules: ['q_proj', 'gate_proj'], layers: [1] }, alpha: 2 },
    { kind: 'lora', target: { modules: ['v_proj', 'up_proj'] }, rank: 2, rsLora: true, alpha: 3 },
  ],
};

describe('materialise', () => {
  test('every linear kind becomes one (B, A, scaling) per module with scaling·B·A = ΔW, residual adapters stacked in', () => {
    const { model } = randomModel(tinyConfigs.llama, 1);
    const set = AdapterSet.create(model, linearKinds, space(3));
    randomize(set.parameters(), 4, 0.5);
    const { layers, notMaterialised } = set.materialise();
    assert.deepEqual(notMaterialised, []);
    assert.equal(layers.length, 2 + 2 + 4);
    for (const layer of layers) {
      const parts = set.linear.filter((a) => a.site.name === layer.module);
      assert.deepEqual(layer.adapters, parts.map((a) => a.name));
      const expected = new Float64Array(layer.outFeatures * layer.inFeatures);
      for (const part of parts) part.deltaWeight().forEach((v, i) => { expected[i] += v; });
      const actual = new Float64Array(expected.length);
      for (let o = 0; o < layer.outFeatures; o++) for (let i = 0; i < layer.inFeatures; i++) {
        let v = 0;
        for (let r = 0; r < layer.rank; r++) v += layer.b[o * layer.rank + r] * layer.a[r * layer.inFeatures + i];
        actual[o * layer.inFeatures + i] = layer.scaling * v;
      }
      assertClose(actual, expected, 1e-6, layer.module);
      assert.ok(expected.some((v) => Math.abs(v) > 1e-3), `${layer.module}: a non-trivial ΔW`);
    }
    const o = layers.find((l) => l.module === 'model.layers.0.self_attn.o_proj')!;
    assert.equal(o.rank, 3, 'write rank 2 + residual rank 1');
    assert.equal(o.scaling, 1);
    const q = layers.find((l) => l.module === 'model.layers.1.self_attn.q_proj')!;
    assert.equal(q.rank, 3, 'read-constrained: rank = the basis size');
    assert.equal(q.scaling, 2 / 3);
    const v = layers.find((l) => l.module === 'model.layers.0.self_attn.v_proj')!;
    assert.equal(v.scaling, 3 / Math.sqrt(2));
  });
});

describe('merge and unmerge', () => {
  test('merged weights give the hooked logits; unmerge restores every weight bit for bit', () => {
    const { model } = randomModel(tinyConfigs.llama, 1);
    const set = AdapterSet.create(model, linearKinds, space(3));
    randomize(set.parameters(), 5, 0.5);
    const ids = tokens(12, model.spec.vocabSize, 6);
    const base = logitsOf(model, ids, 2);
    const hooked = logitsOf(model, ids, 2, set.forwardOptions());
    const before = snapshot(model);
    set.merge();
    assert.equal(set.merged, true);
    assertClose(logitsOf(model, ids, 2), hooked, 2e-5, 'merged, no hooks');
    assertClose(logitsOf(model, ids, 2, set.forwardOptions()), hooked, 2e-5, 'merged: the hook skips merged adapters');
    assert.notDeepEqual(snapshot(model).get('model.layers.0.self_attn.o_proj.weight'), before.get('model.layers.0.self_attn.o_proj.weight'));
    assert.throws(() => set.merge(), /already merged/);
    set.unmerge();
    assert.deepEqual(snapshot(model), before);
    assert.deepEqual(logitsOf(model, ids, 2), base);
    assert.throws(() => set.unmerge(), /not merged/);
  });

  test('unmerge refuses when something else changed a merged weight, and training while merged is refused', () => {
    const { model } = randomModel(tinyConfigs.llama, 1);
    const set = AdapterSet.create(model, { adapters: [{ kind: 'lora', target: { modules: ['o_proj'] }, rank: 1 }] }, null);
    randomize(set.parameters(), 5, 0.5);
    set.merge();
    const tape = new Tape();
    try {
      assert.throws(() => model.forward(tape, new Int32Array(2), 1, 2, set.forwardOptions()), /merged into the base weights, so they cannot be trained; unmerge\(\) first/);
    } finally {
      tape.release();
    }
    model.params.get('model.layers.1.self_attn.o_proj.weight')!.data[0] += 1;
    assert.throws(() => set.unmerge(), /the weight of model\.layers\.1\.self_attn\.o_proj changed after the merge/);
  });
});

describe('many sets on one base', () => {
  test('two sets give different outputs, each reproducible, and the base is untouched', () => {
    const { model } = randomModel(tinyConfigs.llama, 1);
    const ids = tokens(12, model.spec.vocabSize, 7);
    const before = snapshot(model);
    const base = logitsOf(model, ids, 2);
    const alice = AdapterSet.create(model, { seed: 1, adapters: [{ kind: 'write', target: { modules: ['o_proj'], layers: [0] }, rank: 2 }] }, space(3));
    const bob = AdapterSet.create(model, { seed: 2, adapters: [{ kind: 'reft' }, { kind: 'lora', target: { modules: ['q_proj'] }, rank: 2 }] }, space(4));
    randomize(alice.parameters(), 10, 0.5);
    randomize(bob.parameters(), 11, 0.5);
    const a = logitsOf(model, ids, 2, alice.forwardOptions());
    const b = logitsOf(model, ids, 2, bob.forwardOptions());
    const distance = (x: Float64Array, y: Float64Array) => Math.max(...x.map((v, i) => Math.abs(v - y[i])));
    assert.ok(distance(a, b) > 1e-2 && distance(a, base) > 1e-2 && distance(b, base) > 1e-2);
    // Interleaved requests: each set still gives its own output.
    assert.deepEqual(logitsOf(model, ids, 2, alice.forwardOptions()), a);
    assert.deepEqual(logitsOf(model, ids, 2, bob.forwardOptions()), b);
    assert.deepEqual(logitsOf(model, ids, 2), base);
    assert.deepEqual(snapshot(model), before);
  });

  test('a set refuses a model it was not built on', () => {
    const { model } = randomModel(tinyConfigs.llama, 1);
    const { model: other } = randomModel(tinyConfigs.llama, 2);
    const set = AdapterSet.create(model, { adapters: [{ kind: 'lora', target: { modules: ['o_proj'] }, rank: 1 }] });
    assert.throws(() => logitsOf(other, new Int32Array(4), 1, set.forwardOptions()), /model\.layers\.0\.self_attn\.o_proj is not the layer this set was built on/);
  });
});

describe('state', () => {
  test('toState is plain data; fromState computes the same logits, also after a JSON round trip of the config', () => {
    const { model } = randomModel(tinyConfigs.llama, 1);
    const config: AdapterSetConfig = { ...linearKinds, adapters: [...linearKinds.adapters, { kind: 'reft', projectGradients: true }, { kind: 'gain' }, { kind: 'lora', target: { modules: ['k_proj'], layers: [1] }, rank: 1, projectGradients: true }] };
    const set = AdapterSet.create(model, config, space(3));
    randomize(set.parameters(), 6, 0.5);
    const ids = tokens(12, model.spec.vocabSize, 8);
    const expected = logitsOf(model, ids, 2, set.forwardOptions());
    const state = set.toState();
    const copied: AdapterSetState = { config: JSON.parse(JSON.stringify(state.config)), tensors: new Map([...state.tensors].map(([k, v]) => [k, Float32Array.from(v)])) };
    const loaded = AdapterSet.fromState(model, copied);
    assert.deepEqual(logitsOf(model, ids, 2, loaded.forwardOptions()), expected);
    assert.deepEqual(loaded.parameters().map((p) => p.name), set.parameters().map((p) => p.name));
    assert.deepEqual(loaded.featureNorms(), set.featureNorms());
    assert.ok(state.tensors.has('model.layers.0.self_attn.o_proj.fc_write.fc_U'), 'fixed matrices are saved too');
    assert.ok(state.tensors.has('model.layers.1.self_attn.k_proj.lora.projection'));
    // The loaded set trains like the original: its projection survives.
    assert.equal(loaded.linear.find((a) => a.name === 'model.layers.1.self_attn.k_proj.lora')!.projection?.side, 'in');
  });

  test('a state for another model, or with a missing tensor, is refused', () => {
    const { model } = randomModel(tinyConfigs.llama, 1);
    const state = AdapterSet.create(model, { adapters: [{ kind: 'lora', target: { modules: ['o_proj'] }, rank: 1 }] }).toState();
    const { model: gpt2 } = randomModel(tinyConfigs.gpt2, 1);
    assert.throws(() => AdapterSet.fromState(gpt2, state), /made for a llama model with hidden size 16 and 2 layers; this is a gpt2 model/);
    state.tensors.delete('model.layers.1.self_attn.o_proj.lora.lora_B');
    assert.throws(() => AdapterSet.fromState(model, state), /tensor model\.layers\.1\.self_attn\.o_proj\.lora\.lora_B is missing/);
  });
});

describe('featureNorms', () => {
  test('computed from the factors, they equal the same norms of the materialised ΔW on writing and reading layers', () => {
    const { model } = randomModel(tinyConfigs.llama, 2);
    const features = space(5);
    const set = AdapterSet.create(model, {
      adapters: [
        { kind: 'write', target: { modules: ['o_proj'], layers: [0] }, rank: 3 },
        { kind: 'read', target: { modules: ['q_proj', 'gate_proj'], layers: [1] } },
        { kind: 'lora', target: { modules: ['down_proj', 'up_proj'], layers: [1] }, rank: 4 },
      ],
    }, features);
    randomize(set.parameters(), 11, 0.5);
    const report = set.featureNorms();
    const { rank: r, keptIds } = features.basis;
    let checked = 0;
    for (const adapter of set.linear) {
      const { outFeatures: out, inFeatures: inn } = adapter.site;
      const delta = adapter.deltaWeight();
      const got = report.adapters.find((a) => a.name === adapter.name)!;
      const close = (x: number, y: number, what: string) => assert.ok(Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(y)), `${adapter.name} ${what}: ${x} against ${y}`);
      close(got.total, frobenius(delta), 'total');
      const probe = featureProbe(adapter.site, features);
      if (probe === null) continue;
      // The reference: form ΔW, then Uᵀ ΔW (writing) or ΔW P (reading), column by column.
      const reference: number[] = [];
      if (probe.side === 'out') {
        for (let j = 0; j < r; j++) reference.push(frobenius(Float64Array.from({ length: inn }, (_, i) => { let v = 0; for (let o = 0; o < out; o++) v += probe.columns[o * r + j] * delta[o * inn + i]; return v; })));
      } else {
        for (let j = 0; j < r; j++) reference.push(frobenius(Float64Array.from({ length: out }, (_, o) => { let v = 0; for (let i = 0; i < inn; i++) v += delta[o * inn + i] * probe.columns[i * r + j]; return v; })));
      }
      keptIds.forEach((id, j) => close(got.perFeature[id], reference[j], id));
      const q = probe.side === 'out' ? probe.columns : orthonormalColumns(transpose64(probe.columns, inn, r), r, inn);
      const width = probe.side === 'out' ? r : q.length / inn;
      const projected = probe.side === 'out' ? matmul64(transpose64(q, out, width), delta, width, out, inn) : matmul64(delta, q, out, inn, width);
      close(got.inSubspace!, frobenius(projected) / frobenius(delta), 'inSubspace');
      checked++;
    }
    assert.ok(checked >= 4, `${checked} adapters had a feature probe`);
  });

  test('per basis direction: ‖u_jᵀ ΔW‖ on a writing layer; an FC kind lies wholly in the subspace, a plain LoRA does not', () => {
    const { model } = randomModel(tinyConfigs.llama, 1);
    const features = space(3);
    const set = AdapterSet.create(model, {
      adapters: [
        { kind: 'write', target: { modules: ['o_proj'], layers: [0] }, rank: 2 },
        { kind: 'lora', target: { modules: ['down_proj'], layers: [0] }, rank: 2 },
        { kind: 'gain' },
      ],
    }, features);
    randomize(set.parameters(), 7, 0.5);
    const report = set.featureNorms();
    const write = report.adapters.find((a) => a.name === 'model.layers.0.self_attn.o_proj.fc_write')!;
    const delta = set.linear[0].deltaWeight();
    const { u, rank, keptIds } = features.basis;
    keptIds.forEach((id, j) => {
      let s = 0;
      for (let i = 0; i < 16; i++) {
        let along = 0;
        for (let o = 0; o < 16; o++) along += u[o * rank + j] * delta[o * 16 + i];
        s += along * along;
      }
      assert.ok(Math.abs(write.perFeature[id] - Math.sqrt(s)) < 1e-9 * Math.max(1, Math.sqrt(s)), id);
    });
    assert.ok(Math.abs(write.inSubspace! - 1) < 1e-6);
    const lora = report.adapters.find((a) => a.kind === 'lora')!;
    assert.ok(lora.inSubspace! < 0.9);
    const gain = report.adapters.find((a) => a.kind === 'gain')!;
    const [g, beta] = set.residualSites[0].parameters().map((t) => t.toArray());
    assert.ok(Math.abs(gain.perFeature.warm - Math.hypot(g[1], beta[1])) < 1e-6);
    const expectedFormal = Math.sqrt(write.perFeature.formal ** 2 + lora.perFeature.formal ** 2 + gain.perFeature.formal ** 2);
    assert.ok(Math.abs(report.byFeature.formal - expectedFormal) < 1e-9);
  });
});

describe('validateAdapterSetConfig', () => {
  const bad: Array<[unknown, RegExp]> = [
    [{ adapters: [] }, /adapters: must be a non-empty list/],
    [{ adapters: [{ kind: 'dora', target: { modules: ['o_proj'] } }] }, /adapters\[0\]\.kind: must be one of lora, write, read, reft, gain/],
    [{ adapters: [{ kind: 'lora', target: { modules: ['o_proj'] }, rank: 0 }] }, /adapters\[0\]\.rank: must be an integer/],
    [{ adapters: [{ kind: 'lora', target: { modules: ['o_proj'] }, rank: 2, dropout: 1 }] }, /adapters\[0\]\.dropout: must be in \[0, 1\)/],
    [{ adapters: [{ kind: 'lora', rank: 2 }] }, /adapters\[0\]\.target: must be/],
    [{ adapters: [{ kind: 'write', target: { modules: ['o_proj'] }, rank: 2, residual: { rank: 4 } }] }, /residual\.rank: must be 1 or 2/],
    [{ adapters: [{ kind: 'lora', target: { modules: ['o_proj'] }, rank: 2, residual: { rank: 1 } }] }, /a plain LoRA is unconstrained already/],
    [{ adapters: [{ kind: 'reft', target: { modules: ['o_proj'] } }] }, /sits at the bundle's hook point/],
    [{ adapters: [{ kind: 'read', target: { modules: ['q_proj'] }, read: 'decoder' }] }, /adapters\[0\]\.read: must be 'basis', 'features' or 'encoder'/],
  ];
  for (const [config, pattern] of bad) {
    test(`refuses ${JSON.stringify(config)}`, () => assert.throws(() => validateAdapterSetConfig(config), pattern));
  }

  test('the same place twice is an error', () => {
    const { model } = randomModel(tinyConfigs.llama, 1);
    assert.throws(() => AdapterSet.create(model, { adapters: [{ kind: 'lora', target: { modules: ['o_proj'] }, rank: 1 }, { kind: 'lora', target: { modules: ['self_attn.o_proj'], layers: [1] }, rank: 2 }] }),
      /model\.layers\.1\.self_attn\.o_proj\.lora is created twice/);
  });
});
