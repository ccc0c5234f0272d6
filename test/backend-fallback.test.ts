import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { ReferenceGpt, trainStep } from '../src/model/referenceGpt.js';
import { createReferenceBackend, getBackend, withBackend } from '../src/tensor/backend.js';
import { AdamW } from '../src/tensor/optim/adamw.js';
import { Random } from '../src/tensor/random.js';

// When the addon is missing, the pure-TypeScript backend takes over with a warning,
// and a training run gives the same numbers within float32 tolerance.

const config = { vocabSize: 50, contextLength: 12, dModel: 24, layers: 2, heads: 3, mlpRatio: 4, layerNormEps: 1e-5 };

function losses(steps: number): number[] {
  const model = new ReferenceGpt(config, 21);
  const optimiser = new AdamW(model.parameters(), { lr: 2e-3 });
  const rng = new Random(4);
  const out: number[] = [];
  for (let s = 0; s < steps; s++) {
    const ids = Int32Array.from({ length: 2 * 12 }, () => rng.int(config.vocabSize));
    const targets = ids.map((t) => (t * 7 + 3) % config.vocabSize);
    out.push(trainStep(model, optimiser, ids, targets, 2, 12));
  }
  return out;
}

test('the reference backend reproduces the default backend on a short training run', () => {
  const viaDefault = losses(6);
  const viaReference = withBackend(createReferenceBackend('float32'), () => losses(6));
  viaDefault.forEach((loss, i) => {
    assert.ok(Math.abs(loss - viaReference[i]) <= 1e-4 * Math.max(1, Math.abs(loss)),
      `step ${i}: ${getBackend().kernels.name} loss ${loss} vs reference ${viaReference[i]}`);
  });
});

test('a missing addon falls back to the TypeScript backend with a warning', () => {
  const backendModule = fileURLToPath(new URL('../src/tensor/backend.js', import.meta.url));
  const script = `import(${JSON.stringify(backendModule)}).then((m) => console.log(m.getBackend().kernels.name))`;
  const child = spawnSync(process.execPath, ['-e', script], {
    env: { ...process.env, IMPRINT_BACKEND: '', IMPRINT_NATIVE_ADDON: '/nonexistent/imprint_native.node' },
    encoding: 'utf8',
  });
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout.trim(), 'js');
  assert.match(child.stderr, /native addon is unavailable/);
  assert.match(child.stderr, /nonexistent/);
});
