import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkFeatureSteering, differenceStandardError, SteeringProbe, type SteeringCheckResult } from '../src/eval/steeringCheck.js';
import { describeSteering } from '../src/features/bundles/describeFeature.js';
import {
  loadBundle, modelFingerprint, renderBundleCard, saveBundle, validateBundle, type Bundle, type BundleFeature,
} from '../src/features/bundles/index.js';
import type { CausalLm } from '../src/model/causalLm.js';
import type { TextTokenizer } from '../src/io/tokenizer.js';
import { tinyConfig } from '../src/pretrain/config.js';
import { pretrain, writePretrainOutputs } from '../src/pretrain/trainer.js';

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

// The causal check behind shipped features. With a vanishing scale the steered
// and unsteered runs are the same generations, so the margin is exactly zero;
// the unsteered replies are generated once per domain and seed and shared by
// every feature and scale; the validate command selects a scale on one seed and
// reports only a confirmation run on fresh prompts.

function manualFeature(id: string, axis: string | undefined, side: string | undefined, label = id): BundleFeature {
  const feature: BundleFeature = { kind: 'vector', id, label, tensor: id, provenance: { method: 'manual', data: 'test vector', created: '2026-11-29' } };
  if (axis !== undefined) feature.axis = axis;
  if (side !== undefined) feature.side = side;
  return feature;
}

function tinyBundle(name: string, model: CausalLm, features: BundleFeature[]): Bundle {
  return {
    format: 'imprint.bundle', version: 1, name, description: 'test', model: modelFingerprint('tiny', model.spec),
    hookPoint: 'blocks.1.post', layer: 1, features,
  };
}

describe('steering probe on a tiny model', () => {
  let dir: string;
  let model: CausalLm;
  let tokenizer: TextTokenizer;
  let bundle: Bundle;
  let vectors: Map<string, Float32Array>;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'imprint-steer-check-'));
    ({ model, tokenizer } = pretrain({ ...tinyConfig, steps: 3, evalEvery: 3 }, { runDir: dir, resume: false }));
    const d = model.spec.hiddenSize;
    bundle = tinyBundle('check', model, [manualFeature('casual', 'formality', 'casual'), manualFeature('warm', 'warmth', 'warm'), manualFeature('snake', 'naming', 'snake')]);
    vectors = new Map([
      ['casual', Float32Array.from({ length: d }, (_, i) => (i % 3 === 0 ? 1 : -0.5))],
      ['warm', Float32Array.from({ length: d }, (_, i) => Math.sin(i))],
      ['snake', Float32Array.from({ length: d }, (_, i) => Math.cos(i))],
    ]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the unsteered replies are generated once per domain and seed and shared by every feature and scale', async () => {
    const probe = new SteeringProbe(model, tokenizer, bundle, vectors, { prompts: 4, maxTokens: 8, temperature: 0.7 });
    const [casual, warm, snake] = bundle.features;
    assert.equal(probe.generations, 0);
    const first = await probe.check(casual, 1e-30, 3);
    assert.equal(probe.generations, 8, 'the first check generates the baseline and the steered replies');
    const second = await probe.check(casual, 200, 3);
    assert.equal(probe.generations, 12, 'a second scale on the same seed only generates steered replies');
    assert.equal(second.baselineRate, first.baselineRate);
    await probe.check(warm, 5, 3);
    assert.equal(probe.generations, 16, 'another feature of the same domain (home) reuses the baseline, judged on its own axis');
    await probe.check(casual, 0, 3);
    assert.equal(probe.generations, 16, 'scale 0 adds nothing, so its replies are the baseline');
    await probe.check(casual, 5, 4);
    assert.equal(probe.generations, 24, 'a new seed means new prompts and a new baseline');
    await probe.check(snake, 5, 3);
    assert.equal(probe.generations, 32, 'a coding axis has its own prompts and baseline');
    await probe.check(snake, 7, 3);
    assert.equal(probe.generations, 36);
  });

  test('a vanishing scale gives margin 0 and z 0, with a standard error from both rates', async () => {
    const probe = new SteeringProbe(model, tokenizer, bundle, vectors, { prompts: 6, maxTokens: 12, temperature: 0.7 });
    const none = await probe.check(bundle.features[0], 1e-30, 3);
    assert.equal(none.margin, 0);
    assert.equal(none.z, 0);
    assert.equal(none.judged, 6, 'the home judge labels every reply');
    assert.equal(none.baselineJudged, 6);
    assert.equal(none.seed, 3);
    assert.equal(none.axis, 'formality');
    assert.equal(none.standardError, differenceStandardError(none.steeredRate, 6, none.baselineRate, 6));
    assert.ok(none.standardError > 0, 'the floor keeps the SE above 0 even for 0% -> 0%');
    const strong = await probe.check(bundle.features[0], 200, 3);
    assert.equal(strong.z, strong.margin / strong.standardError);
  });

  test('only fluent steered replies count: the limit decides, and the fluent share is reported', async () => {
    const options = { prompts: 6, maxTokens: 10, temperature: 0.7 };
    const loose = await new SteeringProbe(model, tokenizer, bundle, vectors, { ...options, maxReplyLoss: 1e9 }).check(bundle.features[0], 400, 5);
    assert.equal(loose.steeredFluent, 1, 'every reply is within an unbounded limit');
    assert.equal(loose.fluencyLimit, 1e9);
    const strict = await new SteeringProbe(model, tokenizer, bundle, vectors, { ...options, maxReplyLoss: 1e-9 }).check(bundle.features[0], 400, 5);
    assert.equal(strict.steeredFluent, 0);
    assert.equal(strict.steeredRate, 0, 'a disfluent reply never counts for the feature');
    assert.equal(strict.baselineRate, 0, 'the same rule applies to the unsteered replies');
    assert.equal(strict.judged, loose.judged, 'disfluent replies still count in the denominator');
    const defaulted = await new SteeringProbe(model, tokenizer, bundle, vectors, options).check(bundle.features[0], 400, 5);
    assert.ok(Number.isFinite(defaulted.fluencyLimit) && defaulted.fluencyLimit > 1, `default limit ${defaulted.fluencyLimit}: baseline p95 + 1 nat`);
    assert.ok(defaulted.steeredRate <= loose.steeredRate);
  });

  test('checkFeatureSteering still works on a one-off probe and refuses unknown axes', async () => {
    const options = { prompts: 3, maxTokens: 8, temperature: 0.7, seed: 3 };
    const none = await checkFeatureSteering(model, tokenizer, bundle, vectors, bundle.features[0], { ...options, scale: 1e-30 });
    assert.equal(none.margin, 0);
    assert.equal(none.judged, 3);
    await assert.rejects(checkFeatureSteering(model, tokenizer, bundle, vectors, { ...bundle.features[0], axis: 'loudness' }, { ...options, scale: 1 }), /axis "loudness" is not a world axis/);
    await assert.rejects(checkFeatureSteering(model, tokenizer, bundle, vectors, manualFeature('plain', undefined, undefined), { ...options, scale: 1 }), /feature "plain" has no axis\/side/);
  });
});

test('the standard error of a difference of proportions matches hand-computed values, with a floor at half a reply', () => {
  // sqrt(0.6 * 0.4 / 10 + 0.2 * 0.8 / 20) = sqrt(0.024 + 0.008)
  assert.ok(Math.abs(differenceStandardError(0.6, 10, 0.2, 20) - Math.sqrt(0.032)) < 1e-12);
  // 0% -> 0% over 10 and 10: both clamp to 0.5 / 10 = 0.05; sqrt(2 * 0.05 * 0.95 / 10)
  assert.ok(Math.abs(differenceStandardError(0, 10, 0, 10) - Math.sqrt(0.0095)) < 1e-12);
  // 100% clamps to 1 - 0.5 / 4 = 0.875, 0% over 8 to 0.0625
  assert.ok(Math.abs(differenceStandardError(1, 4, 0, 8) - Math.sqrt((0.875 * 0.125) / 4 + (0.0625 * 0.9375) / 8)) < 1e-12);
  // No judged reply: one reply of unknown outcome, p 0.5
  assert.ok(Math.abs(differenceStandardError(0, 0, 0.5, 4) - Math.sqrt(0.25 + 0.0625)) < 1e-12);
  assert.throws(() => differenceStandardError(1.5, 4, 0, 4), /proportion must be in \[0, 1\], got 1.5/);
});

describe('the steering record in a bundle', () => {
  const base = {
    format: 'imprint.bundle', version: 1, name: 'old', description: 'an older bundle', model: { name: 'tiny', modelType: 'llama', hiddenSize: 4, layers: 2 },
    hookPoint: 'blocks.1.post', layer: 1,
  };
  const withSteering = (steering: unknown) => ({
    ...base,
    features: [{ kind: 'sae', id: 'f', label: 'f', sae: 'sae', index: 0, axis: 'formality', side: 'casual', provenance: { method: 'manual', data: 'x', created: '2025-01-01' }, steering }],
  });
  const full = { scale: 4, margin: 0.25, judge: 'formality judge', baseline: 0.25, steered: 0.5, standardError: 0.1, z: 2.5, prompts: 32, seed: 1007, selectedFrom: [2, 4, 8] };

  test('an old record with only scale, margin and judge still loads, and reads as before', () => {
    const bundle = validateBundle(withSteering({ scale: 4, margin: 0.31, judge: 'formality' }));
    assert.deepEqual(bundle.features[0].steering, { scale: 4, margin: 0.31, judge: 'formality' });
    assert.equal(describeSteering(bundle.features[0]), 'scale 4 moves judge "formality" by +0.310');
  });

  test('a confirmation record loads whole and is described with its SE and z', () => {
    const bundle = validateBundle(withSteering(full));
    assert.deepEqual(bundle.features[0].steering, full);
    assert.equal(describeSteering(bundle.features[0]), 'scale 4 moves judge "formality judge" by +0.250 ± 0.100 (z 2.50)');
  });

  test('unknown and mistyped steering fields are refused, naming them', () => {
    assert.throws(() => validateBundle(withSteering({ ...full, pValue: 0.01 })), /features\[0\]\.steering has unknown field "pValue"/);
    assert.throws(() => validateBundle(withSteering({ ...full, z: 'high' })), /features\[0\]\.steering\.z must be a finite number, got the string "high"/);
    assert.throws(() => validateBundle(withSteering({ ...full, baseline: 1.5 })), /features\[0\]\.steering\.baseline must be a rate between 0 and 1, got number 1\.5/);
    assert.throws(() => validateBundle(withSteering({ ...full, standardError: -0.1 })), /steering\.standardError must be a number >= 0/);
    assert.throws(() => validateBundle(withSteering({ ...full, prompts: 0 })), /steering\.prompts must be an integer >= 1, got number 0/);
    assert.throws(() => validateBundle(withSteering({ ...full, seed: 1.5 })), /steering\.seed must be an integer/);
    assert.throws(() => validateBundle(withSteering({ ...full, selectedFrom: [2, 'x'] })), /features\[0\]\.steering\.selectedFrom\[1\] must be a finite number, got the string "x"/);
    assert.throws(() => validateBundle(withSteering({ ...full, selectedFrom: [] })), /steering\.selectedFrom must be a non-empty array of scales/);
    assert.throws(() => validateBundle(withSteering({ ...full, fluent: 1.5 })), /steering\.fluent must be a share between 0 and 1/);
    assert.throws(() => validateBundle(withSteering({ ...full, fluencyLimit: -1 })), /steering\.fluencyLimit must be a number >= 0/);
    assert.equal(validateBundle(withSteering({ ...full, fluent: 0.9, fluencyLimit: 1.25 })).features[0].steering?.fluent, 0.9);
  });

  test('the card reports each feature\'s confirmation, escapes "|" in labels, and records min-z and the build script', () => {
    const bundle = validateBundle(withSteering(full));
    bundle.features[0].label = 'casual | relaxed';
    bundle.features.push({ kind: 'sae', id: 'g', label: 'old record', sae: 'sae', index: 1, axis: 'warmth', side: 'warm', provenance: { method: 'tfidf', data: 'a|b', created: '2025-01-01' }, steering: { scale: 2, margin: 0.1, judge: 'warmth' } });
    bundle.features.push({ kind: 'sae', id: 'h', label: 'unjudged', sae: 'sae', index: 2, provenance: { method: 'manual', data: 'x', created: '2025-01-01' } });
    const card = renderBundleCard(bundle, { validateCommand: 'imprint bundle validate old --write', buildScript: 'echo ```\nimprint bundle create --name old\n', minZ: 3, selectionSeed: 7 });
    assert.ok(card.startsWith('# Bundle `old`\n\nan older bundle\n'));
    assert.ok(card.includes('| `f` casual \\| relaxed | formality=casual | manual: x | 4 | 25.0% → 50.0% | +25.0 ± 10.0 | 2.50 | — | FAIL |'), card);
    assert.ok(card.includes('| `g` old record | warmth=warm | tfidf: a\\|b | 2 | — | +10.0 | — | — | no z recorded |'), card);
    assert.ok(card.includes('| `h` unjudged | — | manual: x | — | — | — | — | — | no axis/side |'), card);
    assert.ok(card.includes('0 of 2 features with an axis and side pass (z ≥ 3); 1 has no axis/side'), card);
    assert.ok(card.includes('a feature passes when z = margin / SE is at least 3.'), card);
    assert.ok(card.includes('every scale in {2, 4, 8} on 32 unstated world prompts (seed 7)'), card);
    assert.ok(card.includes('on 32 fresh prompts (seed 1007)'), card);
    assert.ok(card.includes('## Built with'));
    assert.ok(card.includes('```sh\nimprint bundle validate old --write\n```'));
    assert.ok(card.includes('````sh\necho ```\nimprint bundle create --name old\n````'), 'the fence outgrows the script\'s own backticks');
    assert.ok(card.includes('`imprint bundle show old --html FILE` shows each feature\'s top contexts and promoted tokens.'));
    assert.ok(renderBundleCard(bundle, { validateCommand: 'x', minZ: 2 }).includes('| 2.50 | — | pass |'), 'the verdict follows min-z');
  });
});

test('imprint bundle validate selects a scale on one seed, confirms it on fresh prompts, and --write stores it and writes the card', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-validate-cli-'));
  try {
    const result = pretrain({ ...tinyConfig, steps: 3, evalEvery: 3 }, { runDir: join(dir, 'run'), resume: false });
    writePretrainOutputs(result, join(dir, 'model'));
    const d = result.model.spec.hiddenSize;
    const bundle = tinyBundle('cli-check', result.model, [manualFeature('casual', 'formality', 'casual', 'casual | relaxed'), manualFeature('unjudged', undefined, undefined)]);
    const vector = Float32Array.from({ length: d }, (_, i) => Math.cos(i));
    saveBundle(join(dir, 'bundles'), bundle, new Map([['casual', vector], ['unjudged', vector]]));
    const path = join(dir, 'bundles', 'cli-check.bundle.json');
    const script = join(dir, 'build.sh');
    writeFileSync(script, '#!/bin/sh\nimprint bundle create --name cli-check --feature casual=casual.json:formality:casual\n');
    const run = (...extra: string[]) => spawnSync(process.execPath, [cli, 'bundle', 'validate', path, '--model', join(dir, 'model'), ...extra], { encoding: 'utf8' });

    assert.match(run('--min-z', '0').stderr, /--min-z must be a positive number/);
    assert.match(run('--min-z', 'two').stderr, /--min-z must be a positive number/);
    assert.match(run('--scale', '0').stderr, /--scale must be a comma-separated list of non-zero numbers/);
    assert.match(run('--build-script', script).stderr, /--build-script goes into the card, which only --write writes/);
    assert.match(run('--write', '--build-script', join(dir, 'missing.sh')).stderr, /--build-script .*missing\.sh does not exist/);

    const child = run('--scale', '1e-30,5', '--prompts', '3', '--max-tokens', '6', '--seed', '11', '--min-z', '1.5', '--json', '--write', '--build-script', script);
    assert.ok(child.status === 0 || child.status === 1, child.stderr);
    type Report = {
      protocol: { scales: number[]; selectionSeed: number; confirmationSeed: number; prompts: number; minZ: number };
      passed: boolean; skipped: string[];
      results: { feature: string; scale: number; pass: boolean; selection: SteeringCheckResult[]; confirmation: SteeringCheckResult }[];
    };
    const report = JSON.parse(child.stdout) as Report;
    assert.deepEqual(report.protocol, { scales: [1e-30, 5], selectionSeed: 11, confirmationSeed: 1011, prompts: 3, maxTokens: 6, temperature: 0.7, minZ: 1.5 });
    assert.deepEqual(report.results.map((r) => r.feature), ['casual'], 'features without an axis are skipped');
    assert.deepEqual(report.skipped, ['unjudged']);
    const [casual] = report.results;
    assert.deepEqual(casual.selection.map((r) => [r.scale, r.seed]), [[1e-30, 11], [5, 11]]);
    assert.equal(casual.selection[0].margin, 0, 'the vanishing scale changes nothing');
    const best = casual.selection[1].margin > casual.selection[0].margin ? 5 : 1e-30;
    assert.equal(casual.scale, best, 'the scale with the largest selection margin is confirmed');
    assert.equal(casual.confirmation.scale, best);
    assert.equal(casual.confirmation.seed, 1011, 'the confirmation runs on fresh prompts');
    assert.equal(casual.confirmation.z, casual.confirmation.margin / casual.confirmation.standardError);
    assert.equal(casual.pass, Number(casual.confirmation.z.toFixed(4)) >= 1.5);
    assert.equal(report.passed, casual.pass);
    assert.equal(child.status, casual.pass ? 0 : 1, 'the exit status says whether every feature passed');

    const written = loadBundle(path).bundle.features.find((f) => f.id === 'casual')!;
    const c = casual.confirmation;
    assert.deepEqual(written.steering, {
      scale: best, margin: Number(c.margin.toFixed(4)), judge: 'formality judge, rate of "casual"',
      baseline: Number(c.baselineRate.toFixed(4)), steered: Number(c.steeredRate.toFixed(4)),
      standardError: Number(c.standardError.toFixed(4)), z: Number(c.z.toFixed(4)), prompts: 3, seed: 1011, selectedFrom: [1e-30, 5],
      fluent: Number(c.steeredFluent.toFixed(4)), fluencyLimit: Number(c.fluencyLimit.toFixed(4)),
    });

    const cardPath = join(dir, 'bundles', 'cli-check.md');
    assert.ok(existsSync(cardPath), 'the card is written beside the bundle');
    const card = readFileSync(cardPath, 'utf8');
    const s = written.steering!;
    const row = `| \`casual\` casual \\| relaxed | formality=casual | manual: test vector | ${best === 5 ? '5' : '1.00e-30'} | ${(s.baseline! * 100).toFixed(1)}% → ${(s.steered! * 100).toFixed(1)}% | `;
    assert.ok(card.includes(row), `missing ${row} in\n${card}`);
    assert.ok(card.includes(`| ${s.z!.toFixed(2)} | ${(s.fluent! * 100).toFixed(1)}% | ${casual.pass ? 'pass' : 'FAIL'} |`), card);
    assert.ok(card.includes('imprint bundle create --name cli-check --feature casual=casual.json:formality:casual'), 'the build script is in the card');
    assert.ok(card.includes('--min-z 1.5'), 'the validate command is in the card');
    assert.ok(card.includes('at least 1.5'), 'the min-z used is recorded');

    // --drop-failing: with an unreachable min-z the judged feature fails and is removed;
    // the unjudged one stays, and the card lists the dropped feature with its figures.
    assert.match(run('--drop-failing').stderr, /--drop-failing removes features from the written bundle, which only --write writes/);
    const dropping = run('--scale', '5', '--prompts', '3', '--max-tokens', '6', '--min-z', '1e9', '--write', '--drop-failing');
    assert.equal(dropping.status, 1, dropping.stderr);
    const kept = loadBundle(path);
    assert.deepEqual(kept.bundle.features.map((f) => f.id), ['unjudged']);
    assert.deepEqual([...kept.vectors.keys()], ['unjudged'], 'the dropped feature\'s vector goes too');
    const droppedCard = readFileSync(join(dir, 'bundles', 'cli-check.md'), 'utf8');
    assert.match(droppedCard, /## Checked and dropped[\s\S]*\| `casual` casual \\\| relaxed \| formality=casual \|.*\| FAIL \|/);
    // Dropping everything would leave an empty bundle: refused, nothing written.
    const only = tinyBundle('only', result.model, [manualFeature('casual', 'formality', 'casual')]);
    saveBundle(join(dir, 'bundles'), only, new Map([['casual', vector]]));
    const before = readFileSync(join(dir, 'bundles', 'only.bundle.json'), 'utf8');
    const empty = spawnSync(process.execPath, [cli, 'bundle', 'validate', join(dir, 'bundles', 'only.bundle.json'), '--model', join(dir, 'model'), '--scale', '5', '--prompts', '2', '--max-tokens', '4', '--min-z', '1e9', '--write', '--drop-failing'], { encoding: 'utf8' });
    assert.match(empty.stderr, /every feature failed, so --drop-failing would leave only empty; nothing was written/);
    assert.equal(readFileSync(join(dir, 'bundles', 'only.bundle.json'), 'utf8'), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
