import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AdapterSet, type AdapterSetConfig, type FeatureSpace, featureSpaceFromBundle, featureSpaceFromDirections } from '../src/adapt/index.js';
import { type Bundle, type BundleFeature, modelFingerprint } from '../src/features/bundles/index.js';
import { type SaeArchitecture, SparseAutoencoder } from '../src/features/sae/index.js';
import type { CausalLm } from '../src/model/causalLm.js';
import { type HookPointName, ResidualHooks } from '../src/model/hooks.js';
import { Random, type Tensor, createReferenceBackend, withBackend } from '../src/tensor/index.js';
import { randomModel, tinyConfigs } from './support/randomModels.js';
import { checkGradients, logitsOf, randomize, tokens, trainOnRandomProbe } from './support/adaptTestKit.js';

// The residual-site kinds: the LoReFT-style representation edit and the feature
// gain over a bundle's SAE latents and vectors. Forwards against hand-written
// hooks, gradients (also through f(h) into an adapter upstream), zero init,
// and the refusals (merge, SAE at another hook).

const float64Backend = createReferenceBackend('float64');
const provenance = { method: 'manual' as const, data: 'test', created: '2025-01-01' };
const D = 16;
const SAE_WIDTH = 12;

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance * Math.max(1, scale), `${what}: element ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

/** A hook that replaces each row h of the stream by edit(h), written in plain loops. */
function rowHook(point: HookPointName, layers: number, edit: (h: number[]) => number[]): ResidualHooks {
  const hooks = new ResidualHooks(layers);
  hooks.on(point, (hidden, context) => {
    const values = hidden.toArray();
    const out = context.tape.allocate(hidden.shape);
    for (let r = 0; r < values.length / D; r++) out.data.set(edit(values.slice(r * D, (r + 1) * D)), r * D);
    return out;
  });
  return hooks;
}

function randomSae(architecture: SaeArchitecture, seed: number): SparseAutoencoder {
  const rng = new Random(seed);
  const values = (n: number, std: number) => Float32Array.from({ length: n }, () => rng.normal() * std);
  return new SparseAutoencoder({ architecture, dIn: D, dSae: SAE_WIDTH, hookName: 'blocks.0.post', ...(architecture === 'topk' ? { k: 3 } : {}) }, {
    encoderWeight: values(D * SAE_WIDTH, 0.5), encoderBias: values(SAE_WIDTH, 0.3), decoderWeight: values(SAE_WIDTH * D, 0.5), decoderBias: values(D, 0.2),
  });
}

/** Hand-computed latents of `sae` for one row. */
function latents(sae: SparseAutoencoder, h: number[]): number[] {
  const wEnc = sae.encoderWeight.toArray();
  const bEnc = sae.encoderBias.toArray();
  const bDec = sae.decoderBias.toArray();
  const pre = Array.from({ length: SAE_WIDTH }, (_, j) => {
    let v = bEnc[j];
    for (let i = 0; i < D; i++) v += (h[i] - bDec[i]) * wEnc[i * SAE_WIDTH + j];
    return v;
  });
  if (sae.config.architecture === 'relu') return pre.map((v) => Math.max(0, v));
  const kept = new Set([...pre.keys()].sort((a, b) => pre[b] - pre[a]).slice(0, sae.config.k!));
  return pre.map((v, j) => (kept.has(j) ? Math.max(0, v) : 0));
}

function styleBundle(spec: CausalLm['spec'], vector: Float32Array): { bundle: Bundle; vectors: Map<string, Float32Array> } {
  const features: BundleFeature[] = [
    { kind: 'sae', id: 'brief', label: 'brief', sae: 'sae0', index: 3, provenance },
    { kind: 'vector', id: 'warm', label: 'warm', tensor: 'warm', provenance },
    { kind: 'sae', id: 'formal', label: 'formal', sae: 'sae0', index: 7, provenance },
  ];
  return {
    bundle: { format: 'imprint.bundle', version: 1, name: 'style', description: '', model: modelFingerprint('tiny', spec), hookPoint: 'blocks.0.post', layer: 0, features },
    vectors: new Map([['warm', vector]]),
  };
}

function fixture(architecture: SaeArchitecture, seed: number): { model: CausalLm; space: FeatureSpace; sae: SparseAutoencoder; warm: number[] } {
  const { model } = randomModel(tinyConfigs.llama, seed);
  for (const p of model.parameters()) p.requiresGrad = false;
  const sae = randomSae(architecture, seed + 1);
  const rng = new Random(seed + 2);
  const vector = Float32Array.from({ length: D }, () => rng.normal() * 4);
  const { bundle, vectors } = styleBundle(model.spec, vector);
  const space = featureSpaceFromBundle(bundle, vectors, { sae: (name) => { assert.equal(name, 'sae0'); return sae; } });
  const length = Math.hypot(...vector);
  return { model, space, sae, warm: Array.from(vector, (v) => v / length) };
}

describe('representation edit (LoReFT style)', () => {
  test('h + U(Dh + b) at the hook point, against a hand-written hook; zero init is the identity', () => {
    const { model } = randomModel(tinyConfigs.llama, 3);
    const rng = new Random(4);
    const space = featureSpaceFromDirections({ name: 'tone', hookPoint: 'blocks.0.post', width: D, ids: ['a', 'b', 'c'], directions: Float32Array.from({ length: 3 * D }, () => rng.normal()) });
    const set = AdapterSet.create(model, { adapters: [{ kind: 'reft' }] }, space);
    const ids = tokens(10, model.spec.vocabSize, 5);
    assert.deepEqual(logitsOf(model, ids, 2, set.forwardOptions()), logitsOf(model, ids, 2), 'zero init');
    randomize(set.parameters(), 6, 0.5);
    const edit = set.residualSites[0];
    assert.equal(edit.kind, 'reft');
    const [Dm, b] = edit.parameters().map((t) => t.toArray());
    const { u, rank } = space.basis;
    const reference = rowHook('blocks.0.post', 2, (h) => {
      const coordinates = Array.from({ length: rank }, (_, j) => b[j] + h.reduce((s, v, i) => s + Dm[j * D + i] * v, 0));
      return h.map((v, i) => v + coordinates.reduce((s, c, j) => s + u[i * rank + j] * c, 0));
    });
    const hooked = logitsOf(model, ids, 2, set.forwardOptions());
    assertClose(hooked, logitsOf(model, ids, 2, { hooks: reference }), 2e-5, 'reft');
    const base = logitsOf(model, ids, 2);
    assert.ok(hooked.some((v, i) => Math.abs(v - base[i]) > 1e-2));
  });

  test('gradients of D and b match finite differences (float64); with projection, D reads only span(U)', () => {
    withBackend(float64Backend, () => {
      const { model, space } = fixture('relu', 7);
      const set = AdapterSet.create(model, { adapters: [{ kind: 'reft' }] }, space);
      randomize(set.parameters(), 1, 0.3);
      checkGradients(model, set, tokens(6, model.spec.vocabSize, 2), 2);
    });
    const { model, space } = fixture('relu', 7);
    const trainedD = (project: boolean) => {
      const set = AdapterSet.create(model, { adapters: [{ kind: 'reft', projectGradients: project }] }, space);
      trainOnRandomProbe(model, set, 4, 3);
      return set.residualSites[0].parameters()[0].toArray();
    };
    const { u, rank } = space.basis;
    const outside = (Dm: number[]) => {
      let rest = 0;
      let all = 0;
      for (let j = 0; j < rank; j++) {
        const row = Dm.slice(j * D, (j + 1) * D);
        const projected = new Array<number>(D).fill(0);
        for (let c = 0; c < rank; c++) {
          const dot = row.reduce((s, v, i) => s + v * u[i * rank + c], 0);
          for (let i = 0; i < D; i++) projected[i] += dot * u[i * rank + c];
        }
        row.forEach((v, i) => { rest += (v - projected[i]) ** 2; all += v * v; });
      }
      assert.ok(all > 1e-6, 'training moved D');
      return Math.sqrt(rest / all);
    };
    assert.ok(outside(trainedD(true)) < 1e-6);
    assert.ok(outside(trainedD(false)) > 0.3);
  });
});

describe('feature gain', () => {
  for (const architecture of ['relu', 'topk'] as const) {
    test(`${architecture} SAE features and a vector feature: h + Σ_j w_j (g_j f_j(h) + β_j), against a hand-written hook`, () => {
      const { model, space, sae, warm } = fixture(architecture, 11);
      const set = AdapterSet.create(model, { adapters: [{ kind: 'gain' }] }, space);
      const ids = tokens(12, model.spec.vocabSize, 3);
      assert.deepEqual(logitsOf(model, ids, 2, set.forwardOptions()), logitsOf(model, ids, 2), 'zero init');
      randomize(set.parameters(), 12, 0.8);
      const [g, beta] = set.residualSites[0].parameters().map((t) => t.toArray());
      assert.equal(g.length, 3);
      const decoder = sae.decoderWeight.toArray();
      const columns = [decoder.slice(3 * D, 4 * D), warm, decoder.slice(7 * D, 8 * D)];
      let active = 0;
      const reference = rowHook('blocks.0.post', 2, (h) => {
        const z = latents(sae, h);
        const f = [z[3], warm.reduce((s, v, i) => s + v * h[i], 0), z[7]];
        active += Number(f[0] !== 0) + Number(f[2] !== 0);
        return h.map((v, i) => v + columns.reduce((s, col, j) => s + col[i] * (g[j] * f[j] + beta[j]), 0));
      });
      const expected = logitsOf(model, ids, 2, { hooks: reference });
      assert.ok(active > 0, 'some SAE feature fires, so the gain is exercised');
      assertClose(logitsOf(model, ids, 2, set.forwardOptions()), expected, 2e-5, architecture);
    });
  }

  test('gradients of g and β, and through f(h) into a LoRA upstream, match finite differences (float64)', () => {
    withBackend(float64Backend, () => {
      const { model, space } = fixture('relu', 13);
      const set = AdapterSet.create(model, {
        adapters: [{ kind: 'gain' }, { kind: 'lora', target: { modules: ['o_proj'], layers: [0] }, rank: 2 }],
      }, space);
      randomize(set.parameters(), 1, 0.5);
      checkGradients(model, set, tokens(6, model.spec.vocabSize, 2), 2);
    });
  });

  test('an SAE that reads another hook point is not the bundle\'s, and SAE features need a loader', () => {
    const { model } = randomModel(tinyConfigs.llama, 3);
    const { bundle, vectors } = styleBundle(model.spec, Float32Array.from({ length: D }, (_, i) => i + 1));
    const elsewhere = new SparseAutoencoder({ architecture: 'relu', dIn: D, dSae: SAE_WIDTH, hookName: 'blocks.1.hook_resid_post' }, randomSae('relu', 1).weights());
    assert.throws(() => featureSpaceFromBundle(bundle, vectors, { sae: () => elsewhere }), /bundle "style" lives at blocks\.0\.post, but its SAE "sae0" reads blocks\.1\.hook_resid_post/);
    assert.throws(() => featureSpaceFromBundle(bundle, vectors), /has features of SAE "sae0": pass an SAE loader/);
    const { model: gpt2 } = randomModel(tinyConfigs.gpt2, 1);
    assert.throws(() => featureSpaceFromBundle(bundle, vectors, { sae: () => randomSae('relu', 1), model: gpt2.spec }), /bundle "style" was made for tiny \(llama, hidden 16, 2 layers\)/);
  });
});

describe('SAE features elsewhere', () => {
  test('read-constrained with read: \'encoder\' reads the SAE\'s encoder directions (a vector feature its own), through the norm', () => {
    const { model, space, sae, warm } = fixture('relu', 19);
    const set = AdapterSet.create(model, { adapters: [{ kind: 'read', target: { modules: ['up_proj'], layers: [1] }, read: 'encoder' }] }, space);
    const e = set.linear[0].factors.find((f) => f.name === 'fc_E')!.tensor.toArray();
    const gamma = model.params.get('model.layers.1.post_attention_layernorm.weight')!.toArray();
    const wEnc = sae.encoderWeight.toArray();
    const column = (index: number) => {
      const c = Array.from({ length: D }, (_, i) => wEnc[i * SAE_WIDTH + index]);
      const n = Math.hypot(...c);
      return c.map((v) => v / n);
    };
    const expected = [column(3), warm, column(7)].flatMap((row) => row.map((v, i) => v / gamma[i]));
    assertClose(e, expected, 1e-6, 'E');
  });

  test('a saved feature gain over SAE latents loads with its SAE, and not without one', () => {
    const { model, space, sae } = fixture('topk', 23);
    const set = AdapterSet.create(model, { adapters: [{ kind: 'gain' }] }, space);
    randomize(set.parameters(), 3, 0.8);
    const ids = tokens(12, model.spec.vocabSize, 4);
    const state = set.toState();
    assert.deepEqual(state.config.residualSites[0].encoders, [{ kind: 'sae', sae: 'sae0', index: 3 }, { kind: 'projection' }, { kind: 'sae', sae: 'sae0', index: 7 }]);
    const loaded = AdapterSet.fromState(model, state, { sae: () => sae });
    assert.deepEqual(logitsOf(model, ids, 2, loaded.forwardOptions()), logitsOf(model, ids, 2, set.forwardOptions()));
    assert.throws(() => AdapterSet.fromState(model, state), /feature gain blocks\.0\.post\.gain reads latents of SAE "sae0": pass an SAE loader/);
  });
});

describe('residual-site kinds and linear-layer operations', () => {
  test('merge is refused with the reason; materialise lists them as not expressible', () => {
    const { model, space } = fixture('relu', 17);
    for (const kind of ['reft', 'gain'] as const) {
      const set = AdapterSet.create(model, { adapters: [{ kind }, { kind: 'lora', target: { modules: ['q_proj'] }, rank: 1 }] }, space);
      const before = model.params.get('model.layers.0.self_attn.q_proj.weight')!.toArray();
      assert.throws(() => set.merge(), new RegExp(`cannot merge blocks\\.0\\.post\\.${kind}: .*not a weight change|cannot merge blocks\\.0\\.post\\.${kind}: .*no weight change`));
      assert.equal(set.merged, false);
      assert.deepEqual(model.params.get('model.layers.0.self_attn.q_proj.weight')!.toArray(), before, 'nothing was merged');
      const { layers, notMaterialised } = set.materialise();
      assert.equal(layers.length, 2);
      assert.deepEqual(notMaterialised.map((n) => n.kind), [kind]);
      assert.ok(notMaterialised[0].reason.length > 20);
    }
  });

  test('a residual adapter beside a residual-site kind needs its own target', () => {
    const { model, space } = fixture('relu', 17);
    const config = { adapters: [{ kind: 'gain', residual: { rank: 1 } }] } as AdapterSetConfig;
    assert.throws(() => AdapterSet.create(model, config, space), /adapters\[0\]\.residual\.target: a 'gain' adapter has no linear layers of its own/);
    const set = AdapterSet.create(model, { adapters: [{ kind: 'gain', residual: { rank: 2, target: { modules: ['down_proj'], layers: [1] } } }] }, space);
    assert.deepEqual(set.linear.map((a) => [a.name, a.role, a.rank]), [['model.layers.1.mlp.down_proj.residual', 'residual', 2]]);
  });
});


