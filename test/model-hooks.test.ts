import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SafetensorsFile } from '../src/io/safetensors.js';
import { Tape, Tensor, crossEntropy } from '../src/tensor/index.js';
import { ActivationCapture, steeringHook } from '../src/model/activationCapture.js';
import { padBatch } from '../src/model/batch.js';
import { CausalLm } from '../src/model/causalLm.js';
import { ResidualHooks } from '../src/model/hooks.js';
import { withInferenceTape } from '../src/model/inference.js';
import { randomModel, tinyConfigs } from './support/randomModels.js';

// Residual-stream hooks: reading, adding (steering) and capturing, and that
// gradients flow through what a hook adds.

const ids = [4, 8, 15, 16, 23, 42, 7];

function logitsWith(model: CausalLm, hooks?: ResidualHooks, tokens = ids): Float32Array {
  return withInferenceTape((tape) => Float32Array.from(model.forward(tape, Int32Array.from(tokens), 1, tokens.length, { hooks }).logits!.data));
}

test('every block has a pre and a post point, and post of block i is pre of block i+1', () => {
  const { model } = randomModel(tinyConfigs.qwen3, 5);
  const hooks = new ResidualHooks(model.spec.layers);
  const seen = new Map<string, Float32Array>();
  for (let layer = 0; layer < model.spec.layers; layer++) {
    for (const where of ['pre', 'post'] as const) {
      hooks.on(`blocks.${layer}.${where}`, (h, ctx) => {
        assert.deepEqual(h.shape, [1, ids.length, model.spec.hiddenSize]);
        assert.equal(ctx.layer, layer);
        seen.set(ctx.point, Float32Array.from(h.data));
      });
    }
  }
  const plain = logitsWith(model);
  assert.deepEqual(logitsWith(model, hooks), plain, 'reading hooks must not change the output');
  assert.equal(seen.size, 2 * model.spec.layers);
  assert.deepEqual(seen.get('blocks.0.post'), seen.get('blocks.1.pre'));
  assert.notDeepEqual(seen.get('blocks.0.pre'), seen.get('blocks.0.post'));
});

test('adding a vector at blocks.0.pre equals shifting every token embedding by it', () => {
  const { model } = randomModel(tinyConfigs.llama, 6);
  const vector = Float32Array.from({ length: model.spec.hiddenSize }, (_, i) => Math.sin(i) * 0.5);
  const hooks = new ResidualHooks(model.spec.layers);
  hooks.on('blocks.0.pre', steeringHook(vector, 2));
  const steered = logitsWith(model, hooks);

  // The same model with the embedding table shifted by 2 * vector (the head is untied in this config).
  const shifted = new Map(model.params);
  const table = Float32Array.from(model.tokenEmbedding.data);
  for (let row = 0; row < model.spec.vocabSize; row++) for (let i = 0; i < vector.length; i++) table[row * vector.length + i] += 2 * vector[i];
  shifted.set(model.names.tokenEmbedding, Tensor.fromArray(table, model.tokenEmbedding.shape));
  const expected = logitsWith(new CausalLm(model.spec, shifted));
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(steered[i] - expected[i]) < 1e-4, `logit ${i}: ${steered[i]} vs ${expected[i]}`);
  assert.ok(steered.some((v, i) => Math.abs(v - logitsWith(model)[i]) > 1e-2), 'steering must change the output');
});

test('a wrong hook point or a wrong-shaped replacement fails clearly', () => {
  const { model } = randomModel(tinyConfigs.gpt2, 7);
  const hooks = new ResidualHooks(model.spec.layers);
  assert.throws(() => hooks.on('blocks.9.pre', () => undefined), /names layer 9, but the model has 2 layers/);
  assert.throws(() => hooks.on('layer3', () => undefined), /not of the form blocks\.<layer>\.pre/);
  hooks.on('blocks.1.pre', steeringHook(new Float32Array(5)));
  assert.throws(() => logitsWith(model, hooks), /steering vector has 5 entries, the residual stream at blocks\.1\.pre has 16/);
});

test('capture collects one row per real token, skipping left padding, and writes a safetensors shard', () => {
  const { model } = randomModel(tinyConfigs.gemma2, 8);
  const d = model.spec.hiddenSize;
  const capture = new ActivationCapture(['blocks.1.post', 'blocks.2.pre']);
  const hooks = new ResidualHooks(model.spec.layers);
  capture.install(hooks);
  const prompts = [ids.slice(0, 3), ids];
  const padded = padBatch(prompts, 0);
  withInferenceTape((tape) => model.forward(tape, padded.ids, padded.batch, padded.seq, { keyStart: padded.keyStart, hooks, logits: 'none' }));
  assert.equal(capture.rows('blocks.1.post'), 3 + ids.length);
  const rows = capture.collect('blocks.1.post');
  assert.deepEqual(rows, capture.collect('blocks.2.pre'));

  // The rows of the short prompt equal what that prompt gives alone.
  const alone = new ActivationCapture(['blocks.1.post']);
  const hooksAlone = new ResidualHooks(model.spec.layers);
  alone.install(hooksAlone);
  logitsWith(model, hooksAlone, prompts[0]);
  const aloneRows = alone.collect('blocks.1.post');
  for (let i = 0; i < aloneRows.length; i++) assert.ok(Math.abs(rows[i] - aloneRows[i]) < 1e-4);

  const dir = mkdtempSync(join(tmpdir(), 'imprint-capture-'));
  try {
    const path = join(dir, 'shard-00000.safetensors');
    capture.writeShard(path, d, { model: 'tiny-gemma2' });
    const file = SafetensorsFile.open(path);
    assert.deepEqual(file.entries.get('blocks.1.post')!.shape, [3 + ids.length, d]);
    assert.deepEqual(file.readFloat32('blocks.1.post'), rows);
    assert.equal(file.metadata.model, 'tiny-gemma2');
    file.close();
    assert.equal(capture.rows('blocks.1.post'), 0, 'writing a shard starts a new one');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('gradients flow through a vector added by a hook (the basis of steering-vector training)', () => {
  const { model } = randomModel(tinyConfigs.olmo2, 9);
  for (const p of model.parameters()) p.requiresGrad = false;
  const vector = Tensor.parameter(Tensor.zeros([model.spec.hiddenSize]), 'steer');
  const hooks = new ResidualHooks(model.spec.layers);
  hooks.on('blocks.1.pre', steeringHook(vector));
  const tape = new Tape();
  try {
    const { logits } = model.forward(tape, Int32Array.from(ids), 1, ids.length, { hooks });
    const loss = crossEntropy(tape, logits!, Int32Array.from([...ids.slice(1), 0]));
    tape.backward(loss);
    assert.ok(vector.grad !== null, 'the steering vector has a gradient');
    assert.ok(Array.from(vector.grad!.data).some((g) => Math.abs(g) > 1e-6));
    for (const p of model.parameters()) assert.equal(p.grad, null, 'frozen weights get no gradient');
  } finally {
    tape.release();
  }
});
