import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Random, Tensor, add } from '../src/tensor/index.js';
import type { CausalLm } from '../src/model/causalLm.js';
import { generateFromIds } from '../src/model/generate.js';
import { ResidualHooks } from '../src/model/hooks.js';
import { withInferenceTape } from '../src/model/inference.js';
import { argmax } from '../src/model/sampling.js';
import { type Bundle, featureDirection, modelFingerprint } from '../src/features/bundles/index.js';
import { parseSteerSpec, parseSteerSpecs, steeringHooksFor } from '../src/features/steering/index.js';
import { randomModel, tinyConfigs } from './support/randomModels.js';

// Steering specs and steering hooks: a bundle's feature, scaled, added to the
// residual stream at the bundle's hook point, exactly as a hand-written hook
// adding the same vector would.

describe('parseSteerSpec', () => {
  test('bundle:feature=scale, with the feature by id or by a label holding spaces, ":" or "="', () => {
    assert.deepEqual(parseSteerSpec('tone:casual=4'), { bundle: 'tone', feature: 'casual', scale: 4 });
    assert.deepEqual(parseSteerSpec(' tone : casual tone = -1.5 '), { bundle: 'tone', feature: 'casual tone', scale: -1.5 });
    assert.deepEqual(parseSteerSpec('code.v2:a:b=c=2e-1'), { bundle: 'code.v2', feature: 'a:b=c', scale: 0.2 });
    assert.deepEqual(parseSteerSpecs(['a:x=1', 'b:y=0']).map((s) => s.scale), [1, 0]);
  });

  const bad: Array<[string, RegExp]> = [
    ['tonecasual=4', /no ":" between the bundle name and the feature/],
    [':casual=4', /the bundle name before ":" is empty/],
    ['my tone:casual=4', /bundle name "my tone" may only hold letters/],
    ['tone:casual', /no "=scale" after the feature/],
    ['tone: =4', /the feature between ":" and "=" is empty/],
    ['tone:casual=', /the scale after "=" is empty/],
    ['tone:casual=strong', /scale "strong" is not a finite number/],
    ['tone:casual=Infinity', /scale "Infinity" is not a finite number/],
  ];
  for (const [text, expected] of bad) {
    test(`rejects ${JSON.stringify(text)}, naming the bad part`, () => {
      assert.throws(() => parseSteerSpec(text), (error: Error) => {
        assert.match(error.message, expected);
        assert.ok(error.message.startsWith(`steering spec ${JSON.stringify(text)}: `), error.message);
        assert.ok(error.message.includes('expected bundle:feature=scale'));
        return true;
      });
    });
  }
});

function fixture(seed = 11) {
  const { model } = randomModel(tinyConfigs.llama, seed);
  const d = model.spec.hiddenSize;
  const rng = new Random(seed);
  const vectors = new Map(['casual', 'warm'].map((name) => [name, Float32Array.from({ length: d }, () => rng.normal() * 3)]));
  const provenance = { method: 'manual' as const, data: 'test vectors', created: '2025-03-01' };
  const bundle: Bundle = {
    format: 'imprint.bundle', version: 1, name: 'tone', description: '', model: modelFingerprint('tiny', model.spec),
    hookPoint: 'blocks.0.post', layer: 0,
    features: [
      { kind: 'vector', id: 'casual', tensor: 'casual', label: 'casual tone', provenance },
      { kind: 'vector', id: 'warm', tensor: 'warm', label: 'warmth', provenance },
    ],
  };
  return { model, bundle, vectors };
}

const ids = [3, 9, 27, 4, 12, 40];

function logits(model: CausalLm, hooks?: ResidualHooks): Float32Array {
  return withInferenceTape((tape) => Float32Array.from(model.forward(tape, Int32Array.from(ids), 1, ids.length, { hooks }).logits!.data));
}

/** The reference: a hand-written hook adding `vector` at `point`. */
function manualHooks(model: CausalLm, point: string, vector: Float32Array): ResidualHooks {
  const hooks = new ResidualHooks(model.spec.layers);
  hooks.on(point, (h, ctx) => add(ctx.tape, h, Tensor.fromArray(vector)));
  return hooks;
}

describe('steeringHooksFor', () => {
  test('changes the logits exactly as adding scale x unit direction to the residual stream does', () => {
    const { model, bundle, vectors } = fixture();
    const direction = featureDirection(bundle, bundle.features[0], vectors);
    const scale = 2.5;
    const steered = logits(model, steeringHooksFor(model, bundle, vectors, [parseSteerSpec('tone:casual=2.5')]));
    const expected = logits(model, manualHooks(model, 'blocks.0.post', Float32Array.from(direction, (v) => scale * v)));
    assert.deepEqual(steered, expected);
    const plain = logits(model);
    const moved = Math.max(...steered.map((v, i) => Math.abs(v - plain[i])));
    assert.ok(moved > 1e-2, `steering must change the output (max change ${moved})`);
  });

  test('scale 0 changes nothing, bit for bit', () => {
    const { model, bundle, vectors } = fixture();
    assert.deepEqual(logits(model, steeringHooksFor(model, bundle, vectors, [parseSteerSpec('tone:casual=0')])), logits(model));
    assert.deepEqual(logits(model, steeringHooksFor(model, bundle, vectors, [])), logits(model));
  });

  test('several features add up; a label names its feature', () => {
    const { model, bundle, vectors } = fixture();
    const a = featureDirection(bundle, bundle.features[0], vectors);
    const b = featureDirection(bundle, bundle.features[1], vectors);
    const steered = logits(model, steeringHooksFor(model, bundle, vectors, parseSteerSpecs(['tone:casual=1.5', 'tone:Warmth=-2'])));
    const expected = logits(model, manualHooks(model, 'blocks.0.post', Float32Array.from(a, (v, i) => 1.5 * v - 2 * b[i])));
    for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(steered[i] - expected[i]) < 1e-5, `logit ${i}: ${steered[i]} vs ${expected[i]}`);
  });

  test('the hooks drive generation: the first greedy token is the argmax of the steered logits', async () => {
    const { model, bundle, vectors } = fixture();
    const hooks = steeringHooksFor(model, bundle, vectors, [parseSteerSpec('tone:casual=6')]);
    const vocab = model.spec.vocabSize;
    const steeredLast = logits(model, hooks).subarray((ids.length - 1) * vocab);
    const run = await generateFromIds(model, [ids], { maxTokens: 3, temperature: 0, hooks, stopTokenIds: [] });
    assert.equal(run.results[0].tokenIds[0], argmax(steeredLast));
    const unsteered = await generateFromIds(model, [ids], { maxTokens: 3, temperature: 0, hooks: steeringHooksFor(model, bundle, vectors, [parseSteerSpec('tone:casual=0')]), stopTokenIds: [] });
    const plain = await generateFromIds(model, [ids], { maxTokens: 3, temperature: 0, stopTokenIds: [] });
    assert.deepEqual(unsteered.results[0].tokenIds, plain.results[0].tokenIds);
  });

  test('adds to given hooks, so several bundles can steer at once', () => {
    const { model, bundle, vectors } = fixture();
    const hooks = new ResidualHooks(model.spec.layers);
    hooks.on('blocks.1.pre', () => undefined);
    assert.equal(steeringHooksFor(model, bundle, vectors, [parseSteerSpec('tone:warm=1')], { hooks }), hooks);
    assert.equal(hooks.size, 2);
  });

  test('refuses a model of another shape, a spec for another bundle, an unknown feature and a feature given twice', () => {
    const { model, bundle, vectors } = fixture();
    const other = randomModel(tinyConfigs.qwen2, 3).model;
    assert.throws(() => steeringHooksFor(other, bundle, vectors, [parseSteerSpec('tone:casual=1')]), /bundle "tone" was made for tiny \(llama, hidden 16, 2 layers\), but this model has model_type qwen2/);
    assert.throws(() => steeringHooksFor(model, bundle, vectors, [parseSteerSpec('code:casual=1')]), /steering spec for bundle "code" \(feature "casual"\) was given to bundle "tone"/);
    assert.throws(() => steeringHooksFor(model, bundle, vectors, [parseSteerSpec('tone:cold=1')]), /no feature with id or label "cold"/);
    assert.throws(() => steeringHooksFor(model, bundle, vectors, parseSteerSpecs(['tone:casual=1', 'tone:casual tone=2'])), /feature "casual" is steered twice \(as "casual" and "casual tone"\)/);
  });
});
