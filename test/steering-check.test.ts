import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkFeatureSteering } from '../src/eval/steeringCheck.js';
import { loadBundle, modelFingerprint, saveBundle, type Bundle } from '../src/features/bundles/index.js';
import { tinyConfig } from '../src/pretrain/config.js';
import { pretrain, writePretrainOutputs } from '../src/pretrain/trainer.js';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

// The causal check behind shipped features: with a vanishing scale the steered
// and unsteered runs are the same generations, so the margin is exactly zero and
// every reply is judged; the baseline never depends on the scale.

test('steering check: zero margin at a vanishing scale, a baseline independent of the scale, unknown axes refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-steer-check-'));
  try {
    const { model, tokenizer } = pretrain({ ...tinyConfig, steps: 3, evalEvery: 3 }, { runDir: dir, resume: false });
    const d = model.spec.hiddenSize;
    const direction = Float32Array.from({ length: d }, (_, i) => (i % 3 === 0 ? 1 : -0.5));
    const bundle: Bundle = {
      format: 'imprint.bundle', version: 1, name: 'check', description: 'test', model: modelFingerprint('tiny', model.spec),
      hookPoint: 'blocks.1.post', layer: 1,
      features: [{ kind: 'vector', id: 'casual', label: 'casual', tensor: 'casual', axis: 'formality', side: 'casual', provenance: { method: 'manual', data: 'test vector', created: '2026-11-29' } }],
    } as Bundle;
    const vectors = new Map([['casual', direction]]);
    const options = { prompts: 6, maxTokens: 12, temperature: 0.7, seed: 3 };
    const none = await checkFeatureSteering(model, tokenizer, bundle, vectors, bundle.features[0], { ...options, scale: 1e-30 });
    assert.equal(none.margin, 0);
    assert.equal(none.judged, 6);
    assert.equal(none.axis, 'formality');
    const strong = await checkFeatureSteering(model, tokenizer, bundle, vectors, bundle.features[0], { ...options, scale: 200 });
    assert.equal(strong.baselineRate, none.baselineRate, 'the baseline does not depend on the scale');
    await assert.rejects(checkFeatureSteering(model, tokenizer, bundle, vectors, { ...bundle.features[0], axis: 'loudness' }, { ...options, scale: 1 }), /axis "loudness" is not a world axis/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('imprint bundle validate --json tries each scale and --write records the best in the bundle', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-validate-cli-'));
  try {
    const result = pretrain({ ...tinyConfig, steps: 3, evalEvery: 3 }, { runDir: join(dir, 'run'), resume: false });
    writePretrainOutputs(result, join(dir, 'model'));
    const d = result.model.spec.hiddenSize;
    const bundle = {
      format: 'imprint.bundle', version: 1, name: 'cli-check', description: 'test', model: modelFingerprint('tiny', result.model.spec),
      hookPoint: 'blocks.1.post', layer: 1,
      features: [
        { kind: 'vector', id: 'casual', label: 'casual', tensor: 'casual', axis: 'formality', side: 'casual', provenance: { method: 'manual', data: 'test vector', created: '2026-11-29' } },
        { kind: 'vector', id: 'unjudged', label: 'unjudged', tensor: 'unjudged', provenance: { method: 'manual', data: 'no axis', created: '2026-11-29' } },
      ],
    } as Bundle;
    const vector = Float32Array.from({ length: d }, (_, i) => Math.cos(i));
    saveBundle(join(dir, 'bundles'), bundle, new Map([['casual', vector], ['unjudged', vector]]));
    const path = join(dir, 'bundles', 'cli-check.bundle.json');
    const child = spawnSync(process.execPath, [cli, 'bundle', 'validate', path, '--model', join(dir, 'model'), '--scale', '1e-30,5', '--prompts', '3', '--max-tokens', '6', '--json', '--write'], { encoding: 'utf8' });
    assert.ok(child.status === 0 || child.status === 1, child.stderr);
    const report = JSON.parse(child.stdout) as { results: { feature: string; scale: number; margin: number }[] };
    assert.deepEqual(report.results.map((r) => r.feature), ['casual'], 'features without an axis are skipped');
    const written = loadBundle(path).bundle.features.find((f) => f.id === 'casual')!;
    assert.equal(written.steering?.scale, report.results[0].scale);
    assert.ok([1e-30, 5].includes(report.results[0].scale));
    assert.ok(report.results[0].margin >= 0, 'the best of the scales is kept, and the vanishing one has margin 0');
    assert.match(spawnSync(process.execPath, [cli, 'bundle', 'validate', path, '--model', join(dir, 'model'), '--scale', '0'], { encoding: 'utf8' }).stderr, /--scale must be a comma-separated list of non-zero numbers/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
