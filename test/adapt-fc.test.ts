import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AdapterSet, AdapterSpaceError, type AdapterSetConfig, type FeatureSpace, featureSpaceFromDirections, layersWritingBefore } from '../src/adapt/index.js';
import { CausalLm } from '../src/model/causalLm.js';
import type { HookPointName } from '../src/model/hooks.js';
import { Random, Tensor, createReferenceBackend, withBackend } from '../src/tensor/index.js';
import { randomModel, tinyConfigs } from './support/randomModels.js';
import { checkGradients, logitsOf, randomize, tokens, trainOnRandomProbe } from './support/adaptTestKit.js';

// Write- and read-constrained FC-LoRA, the residual adapter beside them and
// gradient projection: forwards against ΔW multiplied out by hand, the subspace
// guarantees after training, gradients, and the space rules' refusals.

const float64Backend = createReferenceBackend('float64');

function modelWithDeltas(model: CausalLm, deltas: Map<string, Float64Array>): CausalLm {
  const params = new Map<string, Tensor>();
  for (const [name, t] of model.params) params.set(name, Tensor.fromArray(t.data, t.shape));
  for (const [module, delta] of deltas) {
    const w = params.get(`${module}.weight`)!;
    for (let i = 0; i < delta.length; i++) w.data[i] += delta[i];
  }
  return new CausalLm(model.spec, params);
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance * Math.max(1, scale), `${what}: element ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

/** Plain-loop product of row-major matrices [m, k] · [k, n]. */
function product(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let v = 0;
    for (let p = 0; p < k; p++) v += a[i * k + p] * b[p * n + j];
    out[i * n + j] = v;
  }
  return out;
}

function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/** Orthonormal rows spanning the given rows (classical Gram-Schmidt, twice). */
function orthonormalRows(rows: number[][]): number[][] {
  const out: number[][] = [];
  for (const row of rows) {
    const v = [...row];
    for (let pass = 0; pass < 2; pass++) for (const q of out) {
      const c = q.reduce((s, x, i) => s + x * v[i], 0);
      for (let i = 0; i < v.length; i++) v[i] -= c * q[i];
    }
    const n = norm(v);
    if (n > 1e-9) out.push(v.map((x) => x / n));
  }
  return out;
}

/** ‖(I − Q Qᵀ) M‖ / ‖M‖ for the columns of M [rows, cols] against orthonormal vectors q (length rows). */
function columnsOutside(m: ArrayLike<number>, rows: number, cols: number, q: number[][]): number {
  const rest = Float64Array.from(m);
  for (let c = 0; c < cols; c++) for (const u of q) {
    let dot = 0;
    for (let r = 0; r < rows; r++) dot += u[r] * m[r * cols + c];
    for (let r = 0; r < rows; r++) rest[r * cols + c] -= dot * u[r];
  }
  return norm(rest) / norm(m);
}

/** ‖M (I − Q Qᵀ)‖ / ‖M‖ for the rows of M [rows, cols] against orthonormal vectors q (length cols). */
function rowsOutside(m: ArrayLike<number>, rows: number, cols: number, q: number[][]): number {
  const rest = Float64Array.from(m);
  for (let r = 0; r < rows; r++) for (const u of q) {
    let dot = 0;
    for (let c = 0; c < cols; c++) dot += u[c] * m[r * cols + c];
    for (let c = 0; c < cols; c++) rest[r * cols + c] -= dot * u[c];
  }
  return norm(rest) / norm(m);
}

function randomSpace(width: number, hookPoint: HookPointName, k: number, seed: number): FeatureSpace {
  const rng = new Random(seed);
  return featureSpaceFromDirections({
    name: 'tone', hookPoint, width, ids: Array.from({ length: k }, (_, j) => `f${j}`),
    directions: Float32Array.from({ length: k * width }, () => rng.normal()),
  });
}

/** Basis column j of U as a plain array. */
function basisVectors(space: FeatureSpace): number[][] {
  const { width, rank, u } = space.basis;
  return Array.from({ length: rank }, (_, j) => Array.from({ length: width }, (_, i) => u[i * rank + j]));
}

/** The stream directions as the layer behind `normWeight` reads them: u_j / γ. */
function readRows(space: FeatureSpace, gamma: ArrayLike<number>): number[][] {
  return basisVectors(space).map((u) => u.map((v, i) => v / gamma[i]));
}

function adapterNamed(set: AdapterSet, name: string) {
  const a = set.linear.find((l) => l.name === name);
  assert.ok(a !== undefined, `no adapter ${name} (have ${set.linear.map((l) => l.name).join(', ')})`);
  return a;
}

function factor(set: AdapterSet, adapter: string, name: string): number[] {
  return adapterNamed(set, adapter).factors.find((f) => f.name === name)!.tensor.toArray();
}


function frozenModel(arch: keyof typeof tinyConfigs, seed: number): CausalLm {
  const { model } = randomModel(tinyConfigs[arch], seed);
  for (const p of model.parameters()) p.requiresGrad = false;
  return model;
}

describe('write- and read-constrained FC-LoRA', () => {
  const fcConfig = (arch: 'llama' | 'gpt2'): AdapterSetConfig => arch === 'llama'
    ? {
      seed: 3, adapters: [
        { kind: 'write', target: { modules: ['o_proj', 'down_proj'], layers: [0] }, rank: 2, alpha: 4 },
        { kind: 'read', target: { modules: ['q_proj', 'v_proj', 'up_proj'], layers: [1] }, alpha: 1.5 },
      ],
    }
    : {
      seed: 3, adapters: [
        { kind: 'write', target: { modules: ['c_proj'], layers: [0] }, rank: 2, alpha: 4 },
        { kind: 'read', target: { modules: ['c_attn', 'c_fc'], layers: [1] }, alpha: 1.5 },
      ],
    };

  for (const arch of ['llama', 'gpt2'] as const) {
    test(`${arch}: forwards equal W + s·U·C·A and W + s·B·(E / γ), multiplied out by hand`, () => {
      const { model } = randomModel(tinyConfigs[arch], 5);
      const d = model.spec.hiddenSize;
      const space = randomSpace(d, 'blocks.0.post', 3, 7);
      const set = AdapterSet.create(model, fcConfig(arch), space);
      randomize(set.parameters(), 8, 0.4);
      const k = space.basis.rank;
      assert.equal(k, 3);
      const uColumns = basisVectors(space);
      const u = new Float64Array(d * k);
      uColumns.forEach((col, j) => col.forEach((v, i) => { u[i * k + j] = v; }));
      const deltas = new Map<string, Float64Array>();
      for (const adapter of set.linear) {
        const { outFeatures: out, inFeatures: inn, name: module } = adapter.site;
        if (adapter.kind === 'write') {
          const c = factor(set, adapter.name, 'fc_C');
          const a = factor(set, adapter.name, 'fc_A');
          const delta = product(product(u, c, out, k, 2), a, out, 2, inn).map((v) => v * (4 / 2));
          deltas.set(module, delta);
        } else {
          // The norm in front of the layer, found by name, not through the site.
          const normName = module.includes('attn') ? module.replace(/(self_)?attn\.\w+$/, arch === 'llama' ? 'input_layernorm' : 'ln_1')
            : module.replace(/mlp\.\w+$/, arch === 'llama' ? 'post_attention_layernorm' : 'ln_2');
          const gamma = model.params.get(`${normName}.weight`)!.toArray();
          const e = readRows(space, gamma).flat();
          const b = factor(set, adapter.name, 'fc_B');
          deltas.set(module, product(b, e, out, k, inn).map((v) => v * (1.5 / k)));
        }
      }
      assert.equal(deltas.size, arch === 'llama' ? 5 : 4);
      for (const adapter of set.linear) assertClose(adapter.deltaWeight(), deltas.get(adapter.site.name)!, 1e-6, `${adapter.name} ΔW`);
      const ids = tokens(12, model.spec.vocabSize, 9);
      const hooked = logitsOf(model, ids, 2, set.forwardOptions());
      assertClose(hooked, logitsOf(modelWithDeltas(model, deltas), ids, 2), 2e-5, arch);
      const base = logitsOf(model, ids, 2);
      assert.ok(hooked.some((v, i) => Math.abs(v - base[i]) > 1e-2), 'the adapters change the output');
    });
  }

  test('zero init (C = 0, B = 0, residual B = 0): the base model\'s logits bit for bit', () => {
    const { model } = randomModel(tinyConfigs.llama, 5);
    const space = randomSpace(16, 'blocks.0.post', 3, 7);
    const config = fcConfig('llama');
    config.adapters.forEach((a) => { if (a.kind === 'write' || a.kind === 'read') a.residual = { rank: 2 }; });
    const set = AdapterSet.create(model, config, space);
    assert.equal(set.linear.filter((a) => a.role === 'residual').length, 5);
    const ids = tokens(12, model.spec.vocabSize, 9);
    assert.deepEqual(logitsOf(model, ids, 2, set.forwardOptions()), logitsOf(model, ids, 2));
  });

  test('after training, write-constrained ΔW lies in span(U) and read-constrained ΔW reads only span(E / γ); the residual adapter does not', () => {
    const model = frozenModel('llama', 6);
    const space = randomSpace(16, 'blocks.0.post', 3, 11);
    const set = AdapterSet.create(model, {
      seed: 1, adapters: [
        { kind: 'write', target: { modules: ['o_proj'], layers: [0] }, rank: 2, residual: { rank: 1 } },
        { kind: 'read', target: { modules: ['q_proj'], layers: [1] } },
      ],
    }, space);
    trainOnRandomProbe(model, set, 5, 2, 0.01);
    const u = basisVectors(space);
    const write = adapterNamed(set, 'model.layers.0.self_attn.o_proj.fc_write').deltaWeight();
    assert.ok(norm(write) > 1e-3, 'training moved the write-constrained adapter');
    assert.ok(columnsOutside(write, 16, 16, u) < 1e-6, `(I − UUᵀ)ΔW: ${columnsOutside(write, 16, 16, u)}`);
    const residual = adapterNamed(set, 'model.layers.0.self_attn.o_proj.residual').deltaWeight();
    assert.ok(norm(residual) > 1e-3);
    assert.ok(columnsOutside(residual, 16, 16, u) > 0.3, 'the residual adapter is unconstrained');
    const gamma = model.params.get('model.layers.1.input_layernorm.weight')!.toArray();
    const readSpan = orthonormalRows(readRows(space, gamma));
    const read = adapterNamed(set, 'model.layers.1.self_attn.q_proj.fc_read').deltaWeight();
    assert.ok(norm(read) > 1e-3);
    assert.ok(rowsOutside(read, 16, 16, readSpan) < 1e-6, `ΔW (I − P_E): ${rowsOutside(read, 16, 16, readSpan)}`);
    // Against the raw directions (not divided by γ) the rows are not in the span: the norm map matters.
    assert.ok(rowsOutside(read, 16, 16, orthonormalRows(u)) > 1e-3);
  });

  test('gradient projection keeps a plain LoRA in the subspace (B on a writing layer, A on a reading one); without it, it leaves', () => {
    const trained = (project: boolean) => {
      const model = frozenModel('llama', 6);
      const space = randomSpace(16, 'blocks.0.post', 2, 12);
      const set = AdapterSet.create(model, {
        seed: 4, adapters: [{ kind: 'lora', target: { modules: String.raw`model\.layers\.0\.self_attn\.o_proj|model\.layers\.1\.mlp\.gate_proj` }, rank: 3, projectGradients: project }],
      }, space);
      trainOnRandomProbe(model, set, 4, 3, 0.01);
      const gamma = model.params.get('model.layers.1.post_attention_layernorm.weight')!.toArray();
      const o = adapterNamed(set, 'model.layers.0.self_attn.o_proj.lora').deltaWeight();
      const gate = adapterNamed(set, 'model.layers.1.mlp.gate_proj.lora').deltaWeight();
      assert.ok(norm(o) > 1e-3 && norm(gate) > 1e-3);
      return { write: columnsOutside(o, 16, 16, basisVectors(space)), read: rowsOutside(gate, 24, 16, orthonormalRows(readRows(space, gamma))) };
    };
    const projected = trained(true);
    assert.ok(projected.write < 1e-6, `o_proj: (I − UUᵀ)ΔW = ${projected.write}`);
    assert.ok(projected.read < 1e-6, `gate_proj: ΔW (I − P) = ${projected.read}`);
    const free = trained(false);
    assert.ok(free.write > 0.3 && free.read > 0.3, `without projection: ${JSON.stringify(free)}`);
  });

  test('gradients of C, A (write), B (read) and the residual adapter match finite differences (float64)', () => {
    withBackend(float64Backend, () => {
      const model = frozenModel('llama', 10);
      const space = randomSpace(16, 'blocks.0.post', 3, 13);
      const set = AdapterSet.create(model, {
        adapters: [
          { kind: 'write', target: { modules: ['down_proj'], layers: [0] }, rank: 2, alpha: 3, residual: { rank: 1 } },
          { kind: 'read', target: { modules: ['k_proj', 'up_proj'], layers: [1] }, read: 'features' },
        ],
      }, space);
      randomize(set.parameters(), 2, 0.4);
      checkGradients(model, set, tokens(6, model.spec.vocabSize, 4), 2);
    });
  });

  test('read directions: the basis (default), the features\' unit directions, always divided by the norm weight', () => {
    const { model } = randomModel(tinyConfigs.llama, 5);
    const space = randomSpace(16, 'blocks.0.post', 3, 7);
    const gamma = model.params.get('model.layers.1.input_layernorm.weight')!.toArray();
    const e = (read: 'basis' | 'features') => factor(AdapterSet.create(model, { adapters: [{ kind: 'read', target: { modules: ['q_proj'], layers: [1] }, read }] }, space), 'model.layers.1.self_attn.q_proj.fc_read', 'fc_E');
    assertClose(e('basis'), readRows(space, gamma).flat(), 1e-6, 'basis rows');
    const features = Array.from({ length: 3 }, (_, j) => Array.from(space.directions.subarray(j * 16, (j + 1) * 16), (v, i) => v / gamma[i]));
    assertClose(e('features'), features.flat(), 1e-6, 'feature rows');
  });
});

describe('space rules', () => {
  const { model } = randomModel(tinyConfigs.llama, 5);
  const space = randomSpace(16, 'blocks.0.post', 2, 7);
  const refuse = (config: AdapterSetConfig, pattern: RegExp, features: FeatureSpace | null = space, on: CausalLm = model) => {
    assert.throws(() => AdapterSet.create(on, config, features), (error: Error) => {
      assert.match(error.message, pattern);
      return true;
    });
  };

  test('the layers a write may go on are those landing at or before the hook point, and each of them is accepted', () => {
    assert.deepEqual(layersWritingBefore('blocks.5.post', 6), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(layersWritingBefore('blocks.3.pre', 6), [0, 1, 2]);
    assert.deepEqual(layersWritingBefore('blocks.0.pre', 6), []);
    assert.throws(() => layersWritingBefore('blocks.6.post', 6), /names layer 6, but the model has 6 layers/);
    const layers = layersWritingBefore('blocks.0.post', model.spec.layers);
    assert.deepEqual(layers, [0]);
    assert.doesNotThrow(() => AdapterSet.create(model, { adapters: [{ kind: 'write', target: { modules: ['o_proj', 'down_proj'], layers }, rank: 2 }] }, space));
    refuse({ adapters: [{ kind: 'write', target: { modules: ['o_proj'], layers: [1] }, rank: 2 }] }, /before|after|hook point/);
  });

  test('write-constrained on a layer that does not write the stream: refused, naming its spaces', () => {
    refuse({ adapters: [{ kind: 'write', target: { modules: ['q_proj'], layers: [1] }, rank: 2 }] },
      /write-constrained FC-LoRA cannot go on model\.layers\.1\.self_attn\.q_proj reads the residual stream normalised by model\.layers\.1\.input_layernorm \[16\] and writes attention queries \[16\]; it needs a layer that writes the residual stream/);
    assert.throws(() => AdapterSet.create(model, { adapters: [{ kind: 'write', target: { modules: ['up_proj'], layers: [0] }, rank: 2 }] }, space), AdapterSpaceError);
  });

  test('read-constrained on a layer that does not read the stream: refused', () => {
    refuse({ adapters: [{ kind: 'read', target: { modules: ['o_proj'], layers: [1] } }] },
      /read-constrained FC-LoRA cannot go on model\.layers\.1\.self_attn\.o_proj reads the attention heads' outputs \[16\] and writes the residual stream \[16\]; it needs a layer that reads the residual stream/);
    refuse({ adapters: [{ kind: 'read', target: { modules: ['down_proj'], layers: [1] } }] }, /down_proj reads the MLP's hidden activations \[24\]/);
  });

  test('a write must land at or before the hook point, a read must be at or after it', () => {
    refuse({ adapters: [{ kind: 'write', target: { modules: ['o_proj'], layers: [1] }, rank: 2 }] },
      /cannot go on model\.layers\.1\.self_attn\.o_proj: its write lands at .* after bundle "tone"'s hook point blocks\.0\.post.*\(for this module: layers 0\.\.0\)/);
    refuse({ adapters: [{ kind: 'read', target: { modules: ['gate_proj'], layers: [0] } }] },
      /cannot go on model\.layers\.0\.mlp\.gate_proj: it reads .* before bundle "tone"'s hook point blocks\.0\.post.*\(for this module: layers 1\.\.1\)/);
    // At blocks.1.pre (= blocks.0.post) the same; at blocks.1.post layer 1 writes are fine and nothing reads after.
    const late = randomSpace(16, 'blocks.1.post', 2, 7);
    assert.equal(AdapterSet.create(model, { adapters: [{ kind: 'write', target: { modules: ['o_proj', 'down_proj'] }, rank: 1 }] }, late).linear.length, 4);
    refuse({ adapters: [{ kind: 'read', target: { modules: ['v_proj'], layers: [1] } }] }, /before bundle "tone"'s hook point blocks\.1\.post.*\(for this module: no layer\)/, late);
    const early = randomSpace(16, 'blocks.0.pre', 2, 7);
    refuse({ adapters: [{ kind: 'write', target: { modules: ['down_proj'], layers: [0] }, rank: 1 }] }, /for this module: no layer/, early);
    assert.equal(AdapterSet.create(model, { adapters: [{ kind: 'read', target: { modules: ['q_proj', 'gate_proj'], layers: [0] } }] }, early).linear.length, 2);
  });

  test('post-norm blocks (OLMo-2): o_proj and down_proj do not write the stream as it is, so writes are refused', () => {
    const olmo = randomModel(tinyConfigs.olmo2, 2).model;
    refuse({ adapters: [{ kind: 'write', target: { modules: ['o_proj'], layers: [0] }, rank: 2 }] },
      /o_proj reads the attention heads' outputs \[16\] and writes the attention branch \[16\], normalised by model\.layers\.0\.post_attention_layernorm before it is added to the residual stream/, space, olmo);
    refuse({ adapters: [{ kind: 'lora', target: { modules: ['down_proj'], layers: [0] }, rank: 2, projectGradients: true }] },
      /gradient projection cannot go on model\.layers\.0\.mlp\.down_proj/, space, olmo);
    // Reads of the raw stream are fine there (no input norm): E' = E.
    const set = AdapterSet.create(olmo, { adapters: [{ kind: 'read', target: { modules: ['q_proj'], layers: [1] } }] }, space);
    assertClose(factor(set, 'model.layers.1.self_attn.q_proj.fc_read', 'fc_E'), basisVectors(space).flat(), 1e-7, 'E');
  });

  test('mismatched widths, a norm that erases coordinates, and FC kinds without a bundle are errors', () => {
    refuse({ adapters: [{ kind: 'write', target: { modules: ['o_proj'], layers: [0] }, rank: 2 }] },
      /bundle "tone" has directions of width 8, the model's hidden size is 16/, randomSpace(8, 'blocks.0.post', 2, 1));
    refuse({ adapters: [{ kind: 'write', target: { modules: ['o_proj'], layers: [0] }, rank: 2 }] }, /needs a bundle's features/, null);
    const { model: erased } = randomModel(tinyConfigs.llama, 5);
    erased.params.get('model.layers.1.input_layernorm.weight')!.data[3] = 0;
    refuse({ adapters: [{ kind: 'read', target: { modules: ['q_proj'], layers: [1] } }] },
      /input norm model\.layers\.1\.input_layernorm has weight ≈ 0 in coordinates 3/, space, erased);
  });
});

