import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { saveModel } from '../src/model/save.js';
import { loadNativeKernels } from '../src/tensor/backends/native.js';
import { randomModel, tinyConfigs } from './support/randomModels.js';

// `imprint perf --json` is read by other tools: check its fields and types (not its speed).

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

const native = loadNativeKernels();
// The benchmark multiplies 1024^3 matrices dozens of times: minutes on the TypeScript backend.
const skipBenchmark = 'error' in native ? `needs the native backend (${native.error})` : false;

test('imprint perf --json prints one JSON object with the documented fields', { skip: skipBenchmark }, () => {
  const child = spawnSync(process.execPath, [cli, 'perf', '--json', '--steps', '5', '--prompt-tokens', '64', '--decode-tokens', '8'], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  const lines = child.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `expected a single JSON line, got:\n${child.stdout}`);
  const result = JSON.parse(lines[0]) as Record<string, unknown>;
  const gemm = result.gemm_gflops as Record<string, number>;
  assert.deepEqual(Object.keys(gemm).sort(), ['1024x1024x1024', '256x3072x768']);
  for (const value of Object.values(gemm)) assert.ok(value > 0);
  assert.ok(typeof result.train_tokens_per_s === 'number' && result.train_tokens_per_s > 0);
  const world = result.world_dialogues_per_s as Record<string, number>;
  assert.deepEqual(Object.keys(world).sort(), ['coding', 'home']);
  for (const rate of Object.values(world)) assert.ok(Number.isInteger(rate) && rate > 0, `dialogues/s ${rate}`);
  assert.equal((result.train_step_ms as number[]).length, 5);
  assert.ok(['native', 'js'].includes(result.backend as string));
  assert.ok(Number.isInteger(result.threads) && (result.threads as number) >= 1);
  assert.ok(typeof result.prefill_tokens_per_s === 'number' && result.prefill_tokens_per_s > 0);
  assert.ok(typeof result.decode_tokens_per_s === 'number' && result.decode_tokens_per_s > 0);
  const inference = result.inference as Record<string, unknown>;
  assert.equal(inference.prompt_tokens, 64);
  assert.match(String(inference.model), /random llama|models\/imprint-world/);
  // llama.cpp is a dev dependency: either it was timed, or the reason it was not is given.
  const peer = inference.llama_cpp as Record<string, unknown>;
  if (peer.skipped === undefined) {
    assert.ok((peer.decode_tokens_per_s as number) > 0 && (peer.prefill_tokens_per_s as number) > 0);
    assert.ok((inference.decode_vs_llama_cpp as number) > 0);
  } else {
    assert.equal(typeof peer.skipped, 'string');
  }
  // The learner step runs on the model with its assistant-style bundle, or says why it did not.
  if (result.learn_step_ms === null) {
    assert.match(String((result.learn as Record<string, unknown>).skipped), /assistant-style|no model directory|tokenizer/);
  } else {
    assert.ok(typeof result.learn_step_ms === 'number' && result.learn_step_ms > 0);
    assert.equal((result.learn_step_ms_all as number[]).length, 5, 'as many timed learner steps as --steps');
    assert.match(String(result.learn_step_config), /write FC-LoRA r4 .* bundle assistant-style/);
    assert.ok((result.learn_step_phases_ms as Record<string, number>).sample > 0);
  }
});

test('imprint perf --json: learn_step_ms is skipped with the reason when the model has no assistant-style bundle, and left out with --skip-learn', { skip: skipBenchmark }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-perf-learn-'));
  try {
    saveModel(dir, randomModel(tinyConfigs.llama, 1).model, tinyConfigs.llama);
    const perf = (...extra: string[]) => {
      const child = spawnSync(process.execPath, [cli, 'perf', '--json', '--skip-train', '--skip-inference', '--model', dir, ...extra], { encoding: 'utf8' });
      assert.equal(child.status, 0, child.stderr);
      return JSON.parse(child.stdout) as Record<string, unknown>;
    };
    const skipped = perf();
    assert.equal(skipped.learn_step_ms, null);
    assert.match(String((skipped.learn as Record<string, unknown>).skipped), /the model has no assistant-style bundle \(looked for .*bundles\/assistant-style\.bundle\.json\)/);
    const without = perf('--skip-learn');
    assert.equal('learn_step_ms' in without, false);
    assert.equal('learn' in without, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('imprint rejects unknown commands and bad flags with exit codes and messages', () => {
  const unknown = spawnSync(process.execPath, [cli, 'fly'], { encoding: 'utf8' });
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command 'fly'/);
  const badSteps = spawnSync(process.execPath, [cli, 'perf', '--steps', '2'], { encoding: 'utf8' });
  assert.equal(badSteps.status, 1);
  assert.match(badSteps.stderr, /--steps must be an integer >= 5/);
  const badDecode = spawnSync(process.execPath, [cli, 'perf', '--skip-train', '--decode-tokens', '2'], { encoding: 'utf8' });
  assert.equal(badDecode.status, 1);
  assert.match(badDecode.stderr, /--decode-tokens must be an integer >= 5/);
});
