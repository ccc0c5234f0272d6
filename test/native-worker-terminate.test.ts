import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { loadNativeKernels } from '../src/tensor/backends/native.js';

// Worker threads running native kernels, terminated mid-call, over and over (what
// imprint serve's learner host does to a stuck learner): the process must live.
// Two bugs did this before: node-addon-api's rethrow of an N-API failure during
// termination reached std::terminate (abort), and a worker that was the addon's
// only user unloaded it under the process-wide GEMM threads (segfault). The
// hammering runs in a child process, so a crash fails this test instead of the run.

const nativeModule = new URL('../src/tensor/backends/native.js', import.meta.url).href;
const available = 'kernels' in loadNativeKernels();

// The worker's code and the parent's, both ES modules (the worker inherits --input-type=module).
const workerCode = `
import { parentPort } from 'node:worker_threads';
import(${JSON.stringify(nativeModule)}).then((m) => {
  const k = m.loadNativeKernels().kernels;
  const n = 96;
  const a = new Float32Array(n * n).fill(1), b = new Float32Array(n * n).fill(1), c = new Float32Array(n * n);
  parentPort.postMessage('running');
  for (;;) {
    k.gemm(false, false, n, n, n, 1, a, n, 0, b, n, 0, 0, c, n, 0, 1);
    try { k.gemm(false, false, n, n, n, 1, a, n, 0, b, 1, 0, 0, c, n, 0, 1); } catch {}
  }
});`;
const script = `
import { Worker } from 'node:worker_threads';
for (let i = 0; i < 100; i++) {
  const worker = new Worker(${JSON.stringify(workerCode)}, { eval: true });
  await new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
  await new Promise((resolve) => setTimeout(resolve, (i % 5) + 0.5));
  await worker.terminate();
}
console.log('terminated 100 workers');
`;

test('terminating worker threads in the middle of native kernels never crashes the process', { skip: available ? false : 'the native addon is not built' }, () => {
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(child.signal, null, `the process died of ${child.signal}: ${child.stderr}`);
  assert.equal(child.status, 0, child.stderr);
  assert.match(child.stdout, /terminated 100 workers/);
  assert.doesNotMatch(child.stderr, /terminate called/);
});
