import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { shippedModelDir } from '../src/cli/modelArgument.js';
import { proofRun } from '../src/learn/index.js';
import { loadModel } from '../src/model/load.js';
import { loadNativeKernels } from '../src/tensor/backends/native.js';
import { sameValues, snapshot } from './support/learnFixtures.js';

// The proof that the learner learns, on the shipped model and its
// assistant-style bundle: a simulated user who wants direct replies (and never
// says so in the prompt the model is measured on) talks to it for 50
// interactions, once through a write-constrained FC-LoRA and once through a plain
// LoRA of the same rank on the same layers. One seed here, about two minutes on
// two cores; the benchmark (imprint eval --suite learn-proof) runs three seeds and
// a learning-rate sweep and reports effect sizes over seeds.

const native = loadNativeKernels();
// 100 learner steps and 24 measurements of the 6M model: far too slow on the TypeScript backend.
const skip = 'error' in native ? `needs the native backend (${native.error})` : false;

test('50 interactions with a user who wants direct replies: the judge score without context rises, and general text moves less under FC-LoRA (whole bundle or selected features) than under plain LoRA at the same judge level', { skip, timeout: 15 * 60_000 }, async () => {
  const dir = shippedModelDir();
  const { model, tokenizer } = loadModel(dir);
  assert.ok(tokenizer !== null, 'the shipped model has a tokenizer');
  const before = snapshot(model.parameters());
  const result = await proofRun({ model, tokenizer, bundlePath: join(dir, 'bundles', 'assistant-style.bundle.json'), seeds: [1], interactions: 50 });
  const summary = (kind: 'write' | 'selected' | 'lora') => {
    const found = result.summary.find((s) => s.kind === kind);
    assert.ok(found !== undefined, `no ${kind} summary`);
    return found;
  };
  const write = summary('write');
  const selected = summary('selected');
  const lora = summary('lora');
  const report = `FC-LoRA judge ${write.judgeBefore.toFixed(3)} -> ${write.judgeAfter.toFixed(3)} (paired z ${write.pooled.z.toFixed(1)}), loss shift ${write.lossShiftMean.toFixed(4)}; ` +
    `FC-LoRA on the user's features judge ${selected.judgeAfter.toFixed(3)} (paired z ${selected.pooled.z.toFixed(1)}), loss shift ${selected.lossShiftMean.toFixed(4)}; ` +
    `plain LoRA judge ${lora.judgeBefore.toFixed(3)} -> ${lora.judgeAfter.toFixed(3)}, loss shift ${lora.lossShiftMean.toFixed(4)}`;
  // It learns: over the held-out prompts, the paired rise of the judge's score is significant.
  assert.ok(write.judgeAfter - write.judgeBefore >= 0.2, `the judge score should rise by at least 0.2: ${report}`);
  assert.ok(write.pooled.z >= 3, `the rise should be significant (paired z >= 3 over ${write.pooled.n} prompts): ${report}`);
  assert.ok(selected.pooled.z >= 3, `confined to the user's features it learns too: ${report}`);
  // Selection read the user's axis: the features kept are directness features (the bundle's ids name their axis), or the brevity ones it travels with.
  const kept = result.runs.find((r) => r.kind === 'selected')?.features ?? [];
  assert.ok(kept.length >= 1 && kept.length < 12 && kept.some((id) => /direct/.test(id)), `kept ${kept.join(', ')}`);
  // Both kinds end at the same adaptation level as the judge sees it...
  assert.ok(Math.abs(write.judgeAfter - lora.judgeAfter) <= 0.05, `the two kinds should end at the same judge level: ${report}`);
  // ...and there the general-text probe moved less under FC-LoRA.
  assert.ok(write.lossShiftMean < lora.lossShiftMean, `FC-LoRA should move general-text loss less than plain LoRA: ${report}`);
  assert.ok(Math.abs(selected.judgeAfter - lora.judgeAfter) <= 0.05 && selected.lossShiftMean < lora.lossShiftMean, `and so should FC-LoRA on the user's features: ${report}`);
  // The base model is untouched by either run: adapters sit beside it.
  assert.ok(sameValues(snapshot(model.parameters()), before), 'the base weights changed');
});
