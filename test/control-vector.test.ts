import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gguf } from '@huggingface/gguf';
import { type GgufInfo, readGgufInfo, readGgufTensorFloat32 } from '../src/io/gguf/reader.js';
import { steeringHook } from '../src/model/activationCapture.js';
import type { CausalLm } from '../src/model/causalLm.js';
import { ResidualHooks } from '../src/model/hooks.js';
import { withInferenceTape } from '../src/model/inference.js';
import { Random } from '../src/tensor/index.js';
import { type Bundle, featureDirection, modelFingerprint } from '../src/features/bundles/index.js';
import {
  bundleToControlVector, controlVectorLayerFor, exportControlVectorGguf, parseSteerSpecs, steeringHooksFor,
} from '../src/features/steering/index.js';
import { randomModel, tinyConfigs } from './support/randomModels.js';

// Control vectors for llama.cpp: the file is checked by two GGUF readers (ours
// and @huggingface/gguf), against the rules llama.cpp's loader enforces, and for
// meaning: applying each direction.N to the output of block N, as llama.cpp
// does, must steer our model exactly as our own steering hooks do.
//
// node-llama-cpp 3.21.1 cannot load control vectors (its addon binds LoRA
// adapters but not llama_apply_adapter_cvec, and its typings mention no control
// vector), so there is no in-llama.cpp run here; see the skipped test below.

const dir = mkdtempSync(join(tmpdir(), 'imprint-cvec-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('which llama.cpp layer a hook point is', () => {
  test('blocks.N.post is direction.N; blocks.K.pre is direction.(K-1); block 0 and the embeddings cannot be steered', () => {
    assert.equal(controlVectorLayerFor('blocks.1.post', 4), 1);
    assert.equal(controlVectorLayerFor('blocks.3.post', 4), 3);
    assert.equal(controlVectorLayerFor('blocks.2.pre', 4), 1);
    assert.throws(() => controlVectorLayerFor('blocks.0.post', 4), /output of block 0 \(llama.cpp layer 0\); llama.cpp control vectors start at the output of block 1/);
    assert.throws(() => controlVectorLayerFor('blocks.1.pre', 4), /input of block 1 \(llama.cpp layer 0\)/);
    assert.throws(() => controlVectorLayerFor('blocks.0.pre', 4), /llama.cpp layer -1/);
    assert.throws(() => controlVectorLayerFor('blocks.4.post', 4), /the model has 4 layers/);
  });
});

/** The checks of llama.cpp's common_control_vector_load_one, which drops the whole file if any fails. */
function assertLlamaCppAccepts(info: GgufInfo): void {
  let width = -1;
  for (const t of info.tensors) {
    const match = /^direction\.(\d+)$/.exec(t.name);
    assert.ok(match !== null, `tensor "${t.name}" is not direction.<layer>`);
    assert.ok(Number(match[1]) >= 1, `${t.name}: llama.cpp rejects layer 0`);
    assert.equal(t.type, 0, `${t.name} must be F32`);
    assert.equal(t.dims.length, 1, `${t.name} must be 1-D`);
    if (width === -1) width = t.dims[0];
    assert.equal(t.dims[0], width, `${t.name} must have the same n_embd as the others`);
  }
  assert.ok(info.tensors.length > 0);
}

describe('the GGUF file', () => {
  const rng = new Random(4);
  const width = 24;
  const one = Float32Array.from({ length: width }, () => rng.normal());
  const three = Float32Array.from({ length: width }, () => rng.normal());

  test('both GGUF readers see the architecture, hint, layer count and every direction bit', async () => {
    const path = join(dir, 'sparse.gguf');
    const written = exportControlVectorGguf(path, { directions: new Map([[3, three], [1, one]]), modelHint: 'llama', notes: { bundle: 'tone' } });
    assert.deepEqual(written.tensors, ['direction.1', 'direction.3']);

    const info = readGgufInfo(path);
    assert.equal(info.metadata.get('general.architecture'), 'controlvector');
    assert.equal(info.metadata.get('controlvector.model_hint'), 'llama');
    assert.equal(info.metadata.get('controlvector.layer_count'), 2);
    assert.equal(info.metadata.get('imprint.bundle'), 'tone');
    assertLlamaCppAccepts(info);
    assert.deepEqual(info.tensors.map((t) => [t.name, t.dims]), [['direction.1', [width]], ['direction.3', [width]]]);
    assert.deepEqual(readGgufTensorFloat32(path, info, 'direction.1'), one);
    assert.deepEqual(readGgufTensorFloat32(path, info, 'direction.3'), three);

    const theirs = await gguf(path, { allowLocalFile: true, typedMetadata: true });
    const meta = theirs.typedMetadata as unknown as Record<string, { value: unknown; type: number }>;
    assert.deepEqual(meta['general.architecture'], { value: 'controlvector', type: 8 });
    assert.deepEqual(meta['controlvector.model_hint'], { value: 'llama', type: 8 });
    // INT32, as llama.cpp's cvector-generator writes it (gguf_set_val_i32).
    assert.deepEqual(meta['controlvector.layer_count'], { value: 2, type: 5 });
    assert.equal(meta.version.value, 3);
    const bytes = readFileSync(path);
    assert.deepEqual(theirs.tensorInfos.map((t) => [t.name, t.shape, t.dtype]), [['direction.1', [BigInt(width)], 0], ['direction.3', [BigInt(width)], 0]]);
    for (const [t, expected] of theirs.tensorInfos.map((t, i) => [t, [one, three][i]] as const)) {
      const start = Number(theirs.tensorDataOffset + t.offset);
      const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + 4 * width));
      assert.deepEqual(values, expected, `${t.name} as @huggingface/gguf locates it`);
    }
  });

  test('with the model depth given, every steerable layer gets a tensor (zeros where unsteered), as llama.cpp writes them', () => {
    const path = join(dir, 'dense.gguf');
    const written = exportControlVectorGguf(path, { directions: new Map([[2, one]]), modelLayers: 4 });
    assert.deepEqual(written.tensors, ['direction.1', 'direction.2', 'direction.3']);
    const info = readGgufInfo(path);
    assert.equal(info.metadata.get('controlvector.layer_count'), 3);
    assert.equal(info.metadata.has('controlvector.model_hint'), false);
    assertLlamaCppAccepts(info);
    assert.deepEqual(readGgufTensorFloat32(path, info, 'direction.2'), one);
    assert.deepEqual(readGgufTensorFloat32(path, info, 'direction.1'), new Float32Array(width));
  });

  test('refuses layer 0, layers past the model, mixed widths, non-finite values and nothing at all', () => {
    const path = join(dir, 'bad.gguf');
    assert.throws(() => exportControlVectorGguf(path, { directions: new Map([[0, one]]) }), /layer 0 is not an integer >= 1 \(llama.cpp has no direction.0/);
    assert.throws(() => exportControlVectorGguf(path, { directions: new Map([[4, one]]), modelLayers: 4 }), /layer 4 does not exist in a model of 4 layers \(1..3 can be steered\)/);
    assert.throws(() => exportControlVectorGguf(path, { directions: new Map([[1, one], [2, new Float32Array(8)]]) }), /direction for layer 2 has 8 values, others have 24/);
    assert.throws(() => exportControlVectorGguf(path, { directions: new Map([[1, Float32Array.of(1, NaN)]]) }), /non-finite value NaN at index 1/);
    assert.throws(() => exportControlVectorGguf(path, { directions: new Map() }), /no directions given/);
  });
});

describe('a bundle as a control vector', () => {
  const { model } = randomModel({ ...tinyConfigs.llama, num_hidden_layers: 3 }, 21);
  const d = model.spec.hiddenSize;
  const rng = new Random(8);
  const vectors = new Map(['casual', 'warm'].map((name) => [name, Float32Array.from({ length: d }, () => rng.normal())]));
  const provenance = { method: 'manual' as const, data: 'test vectors', created: '2025-03-01' };
  const bundleAt = (hookPoint: 'blocks.1.post' | 'blocks.2.pre', layer: number): Bundle => ({
    format: 'imprint.bundle', version: 1, name: 'tone', description: '', model: modelFingerprint('tiny', model.spec), hookPoint, layer,
    features: [
      { kind: 'vector', id: 'casual', tensor: 'casual', label: 'casual tone', provenance },
      { kind: 'vector', id: 'warm', tensor: 'warm', label: 'warmth', provenance },
    ],
  });
  const ids = [5, 17, 2, 33, 8];
  const logits = (m: CausalLm, hooks?: ResidualHooks) =>
    withInferenceTape((tape) => Float32Array.from(m.forward(tape, Int32Array.from(ids), 1, ids.length, { hooks }).logits!.data));

  /** llama.cpp's rule: each direction.N in the file is added to the output of block N. */
  function hooksFromFile(path: string): ResidualHooks {
    const info = readGgufInfo(path);
    const hooks = new ResidualHooks(model.spec.layers);
    for (const t of info.tensors) hooks.on(`blocks.${/^direction\.(\d+)$/.exec(t.name)![1]}.post`, steeringHook(readGgufTensorFloat32(path, info, t.name)));
    return hooks;
  }

  test('holds sum(scale x unit direction) at the hook point\'s layer, with the model type as hint', () => {
    const bundle = bundleAt('blocks.1.post', 1);
    const cv = bundleToControlVector(bundle, vectors, { casual: 3, warmth: -1 });
    assert.equal(cv.modelHint, 'llama');
    assert.equal(cv.modelLayers, 3);
    assert.deepEqual([...cv.directions.keys()], [1]);
    const a = featureDirection(bundle, bundle.features[0], vectors);
    const b = featureDirection(bundle, bundle.features[1], vectors);
    cv.directions.get(1)!.forEach((v, i) => assert.ok(Math.abs(v - (3 * a[i] - b[i])) < 1e-6));
    assert.deepEqual(cv.notes, { bundle: 'tone', hook_point: 'blocks.1.post', features: 'casual=3,warmth=-1' });
  });

  test('applied the way llama.cpp applies it, the exported file steers our model exactly as our steering hooks do', () => {
    for (const [hookPoint, layer] of [['blocks.1.post', 1], ['blocks.2.pre', 2]] as const) {
      const bundle = bundleAt(hookPoint, layer);
      const path = join(dir, `tone-${hookPoint}.gguf`);
      const written = exportControlVectorGguf(path, bundleToControlVector(bundle, vectors, new Map([['casual', 3], ['warm', -1]])));
      assert.deepEqual(written.tensors, ['direction.1', 'direction.2']);
      assertLlamaCppAccepts(readGgufInfo(path));
      const ours = logits(model, steeringHooksFor(model, bundle, vectors, parseSteerSpecs(['tone:casual=3', 'tone:warm=-1'])));
      const asLlamaCpp = logits(model, hooksFromFile(path));
      assert.deepEqual(asLlamaCpp, ours, `${hookPoint}: file applied at blocks.N.post differs from steering at ${hookPoint}`);
      const plain = logits(model);
      assert.ok(ours.some((v, i) => Math.abs(v - plain[i]) > 1e-2), 'the steering must change the output');
    }
  });

  test('refuses a bundle at a point llama.cpp cannot steer, and an empty set of scales', () => {
    const atZero: Bundle = { ...bundleAt('blocks.1.post', 1), hookPoint: 'blocks.0.post', layer: 0 };
    assert.throws(() => bundleToControlVector(atZero, vectors, { casual: 1 }), /output of block 0/);
    assert.throws(() => bundleToControlVector(bundleAt('blocks.1.post', 1), vectors, {}), /give at least one feature scale/);
  });

  test('steered next-token log-probs in llama.cpp itself', { skip: 'node-llama-cpp 3.21.1 exposes no control-vector API (it binds LoRA adapters only), so only the file format and its meaning are checked' }, () => {});
});
