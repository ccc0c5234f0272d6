import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { SafetensorsFile } from '../src/io/safetensors.js';
import { nextTokenLogprobs } from '../src/model/score.js';
import { withInferenceTape } from '../src/model/inference.js';
import { loadModel } from '../src/model/load.js';
import { naiveLogits } from './support/naiveReference.js';
import { randomModel, tinyConfigs } from './support/randomModels.js';

// Our forward pass against a naive float64 reference written separately from the
// Hugging Face modelling code (test/support/naiveReference.ts), architecture by
// architecture, on random weights that make every term count.

const fixture = fileURLToPath(new URL('../../../shared/fixtures/gpt2-random', import.meta.url));
const ids = [5, 12, 33, 7, 60, 2, 19, 44, 8, 27, 50, 3];

for (const [arch, config] of Object.entries(tinyConfigs)) {
  test(`${arch}: logits match the naive Hugging Face reference`, () => {
    const { model, hfTensors } = randomModel(config, 99);
    const expected = naiveLogits(config, hfTensors, ids);
    const vocab = model.spec.vocabSize;
    const got = withInferenceTape((tape) => Float32Array.from(model.forward(tape, Int32Array.from(ids), 1, ids.length).logits!.data));
    let worst = 0;
    for (let t = 0; t < ids.length; t++) {
      for (let v = 0; v < vocab; v++) worst = Math.max(worst, Math.abs(got[t * vocab + v] - expected[t][v]));
    }
    // float32 against float64 through a few layers of magnitude-1 activations.
    assert.ok(worst < 1e-4, `${arch}: max abs logit difference ${worst}`);
  });
}

test('the real GPT-2 layout loads and runs like the reference', { skip: existsSync(fixture) ? false : `fixture ${fixture} is absent` }, () => {
  const { model, tokenizer, unusedTensors } = loadModel(fixture);
  assert.ok(tokenizer !== null);
  assert.deepEqual(unusedTensors, []);
  const tokens = tokenizer.encode('Hello world, this is GPT-2!');
  const file = SafetensorsFile.open(`${fixture}/model.safetensors`);
  const weights = new Map([...file.entries.keys()].map((name) => [name, { shape: file.entries.get(name)!.shape, data: file.readFloat32(name) }]));
  file.close();
  const expected = naiveLogits(JSON.parse(readFileSync(`${fixture}/config.json`, 'utf8')), weights, tokens);
  const logprobs = nextTokenLogprobs(model, tokens);
  for (let t = 0; t < tokens.length; t++) {
    const row = expected[t];
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v);
    let sum = 0;
    for (const v of row) sum += Math.exp(v - max);
    const logZ = max + Math.log(sum);
    for (let v = 0; v < row.length; v += 97) assert.ok(Math.abs(logprobs[t][v] - (row[v] - logZ)) < 1e-4, `position ${t}, token ${v}`);
  }
});

