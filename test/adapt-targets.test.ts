import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type TargetSpec, linearSites, selectTargets } from '../src/adapt/index.js';
import { randomModel, tinyConfigs } from './support/randomModels.js';

// Target selection as PEFT does it (suffixes, a full-match regex, "all-linear",
// layer indices), and what each linear layer reads and writes, per architecture.

describe('selectTargets', () => {
  const { model } = randomModel(tinyConfigs.llama, 1);
  const sites = linearSites(model);
  const names = (target: TargetSpec) => selectTargets(sites, target, model.spec.layers).map((s) => s.name);

  test('list entries match a name or its trailing components, as PEFT target_modules lists do', () => {
    assert.deepEqual(names({ modules: ['o_proj', 'down_proj'] }), [
      'model.layers.0.self_attn.o_proj', 'model.layers.0.mlp.down_proj', 'model.layers.1.self_attn.o_proj', 'model.layers.1.mlp.down_proj',
    ]);
    assert.deepEqual(names({ modules: ['self_attn.q_proj'], layers: [1] }), ['model.layers.1.self_attn.q_proj']);
    assert.deepEqual(names({ modules: ['model.layers.0.mlp.up_proj'] }), ['model.layers.0.mlp.up_proj']);
    // "proj" is not a trailing component of any name ("o_proj" is).
    assert.throws(() => names({ modules: ['proj'] }), /target module "proj" matches no linear layer/);
  });

  test('a string is a regular expression over the whole name; "all-linear" is every linear layer of the blocks', () => {
    assert.deepEqual(names({ modules: String.raw`.*\.(q|v)_proj`, layers: [0] }), ['model.layers.0.self_attn.q_proj', 'model.layers.0.self_attn.v_proj']);
    assert.throws(() => names({ modules: 'q_proj' }), /matches no linear layer/, 'a regex must match the whole name');
    assert.equal(names({ modules: 'all-linear' }).length, 14);
    assert.equal(names({ modules: 'all-linear', layers: [0] }).length, 7);
  });

  test('a typo is an error listing the layers there are', () => {
    assert.throws(() => names({ modules: ['o_proj', 'oproj'] }), (error: Error) => {
      assert.match(error.message, /target module "oproj" matches no linear layer/);
      assert.match(error.message, /self_attn\.o_proj/);
      assert.match(error.message, /mlp\.down_proj/);
      assert.match(error.message, /model\.layers\.0\.self_attn\.q_proj/);
      return true;
    });
    assert.throws(() => names({ modules: '(' }), /not a valid regular expression/);
    assert.throws(() => names({ modules: ['o_proj'], layers: [2] }), /target layer 2 does not exist; the model has layers 0\.\.1/);
    assert.throws(() => names({ modules: [] }), /non-empty list/);
  });
});

describe('linearSites', () => {
  test('Llama: q/k/v/gate/up read the normalised stream, o_proj and down_proj write the stream', () => {
    const { model } = randomModel(tinyConfigs.llama, 1);
    const byName = new Map(linearSites(model).map((s) => [s.name, s]));
    const q = byName.get('model.layers.1.self_attn.q_proj')!;
    assert.equal(q.role, 'query');
    assert.equal(q.readsResidual?.position, 2);
    assert.equal(q.readsResidual?.norm?.name, 'model.layers.1.input_layernorm');
    assert.equal(q.writesResidual, null);
    const up = byName.get('model.layers.1.mlp.up_proj')!;
    assert.equal(up.readsResidual?.position, 3);
    assert.equal(up.readsResidual?.norm?.name, 'model.layers.1.post_attention_layernorm');
    assert.equal(byName.get('model.layers.1.self_attn.o_proj')!.writesResidual?.position, 3);
    assert.equal(byName.get('model.layers.1.mlp.down_proj')!.writesResidual?.position, 4);
    assert.equal(byName.get('model.layers.1.mlp.down_proj')!.readsResidual, null);
    // The site holds the model's own layer object, the one the forward hands to hooks.
    const layer = model.linearLayers().find((l) => l.name === q.name)!;
    assert.equal(q.linear, layer);
  });

  test('GPT-2: c_attn and c_fc read through LayerNorms, both c_proj write the stream', () => {
    const { model } = randomModel(tinyConfigs.gpt2, 1);
    const byName = new Map(linearSites(model).map((s) => [s.name, s]));
    assert.equal(byName.get('transformer.h.0.attn.c_attn')!.role, 'qkv');
    assert.equal(byName.get('transformer.h.0.attn.c_attn')!.readsResidual?.norm?.kind, 'layer');
    assert.equal(byName.get('transformer.h.0.attn.c_proj')!.writesResidual?.position, 1);
    assert.equal(byName.get('transformer.h.0.mlp.c_proj')!.writesResidual?.position, 2);
    assert.equal(byName.get('transformer.h.0.mlp.c_fc')!.readsResidual?.position, 1);
  });

  test('OLMo-2 (post-norm): o_proj and down_proj are normalised before the residual add, q reads the raw stream', () => {
    const { model } = randomModel(tinyConfigs.olmo2, 1);
    const byName = new Map(linearSites(model).map((s) => [s.name, s]));
    assert.equal(byName.get('model.layers.0.self_attn.o_proj')!.writesResidual, null);
    assert.match(byName.get('model.layers.0.self_attn.o_proj')!.outputSpace, /normalised by model\.layers\.0\.post_attention_layernorm before it is added/);
    assert.equal(byName.get('model.layers.0.mlp.down_proj')!.writesResidual, null);
    assert.equal(byName.get('model.layers.0.self_attn.q_proj')!.readsResidual?.norm, null);
  });
});
