import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type BenchSuiteConfig, runBenchSuite } from '../src/eval/bench/benchSuite.js';
import { runCellsInProcesses } from '../src/eval/bench/cellPool.js';
import { parseMethodName } from '../src/eval/bench/methods/registry.js';
import { TUNED_RATES } from '../src/eval/bench/methods/tunedRates.js';
import { chooseRates, tuneMethodNames } from '../src/eval/bench/tuning.js';
import type { CellResult } from '../src/eval/bench/runCell.js';
import { makeTinyModelDir } from './support/tinyModelDir.js';

// `imprint eval --jobs N`: cells run in worker processes give the same numbers
// as cells run one after another in the suite's own process (only the timings
// differ), and a worker that cannot start stops the run with its reason.

let scratch: string;
let modelDir: string;

before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'imprint-bench-jobs-'));
  modelDir = makeTinyModelDir(scratch, [
    { name: 'assistant-style', hookPoint: 'blocks.1.post', features: ['a', 'b'] },
    { name: 'coding-roles', hookPoint: 'blocks.0.post', features: ['a', 'b'] },
  ]);
});
after(() => rmSync(scratch, { recursive: true, force: true }));

const config: BenchSuiteConfig = {
  name: 'jobs-test', seeds: [1, 2], scenarios: ['home', 'sequential'],
  methods: ['none', 'memory', 'titans', 'lora-r1', 'fc-write'],
  sizes: { homeUsers: 2, codingEnvironments: 1, adversarialUsers: 1, sequentialEnvironments: 2, interactions: 3, sequentialInteractions: 2, evaluateEvery: 3, garbageRates: [] },
  settings: { heldOut: 2, replyTokens: 8, temperature: 0.7, facts: 2 }, generalPassages: 2, learner: { sampleTokens: 8 },
};

/** A cell without what depends on the machine's speed at the time. */
function measured(cell: CellResult): unknown {
  const { wallMs: _wall, cost, ...rest } = cell;
  if (cost === null) return rest;
  const { updateMsMedian: _ms, slowdown: _slow, ...counted } = cost;
  return { ...rest, cost: counted };
}

const key = (c: CellResult) => `${c.method}/${c.scenario}/${c.seed}`;

test('cells run in 2 worker processes equal the same cells run in one process', async () => {
  const bundles = { home: join(modelDir, 'bundles', 'assistant-style.bundle.json'), coding: join(modelDir, 'bundles', 'coding-roles.bundle.json') };
  const serial = await runBenchSuite({ config, modelDir, bundles, outDir: join(scratch, 'serial'), jobs: 1 });
  const logs: string[] = [];
  const progress: number[] = [];
  const parallel = await runBenchSuite({
    config, modelDir, bundles, outDir: join(scratch, 'parallel'), jobs: 2, log: (l) => logs.push(l),
    onProgress: (_cell, _i, _n, done, total) => progress.push(done / total),
  });
  assert.equal(serial.ran, config.methods.length * 2 * 2);
  assert.equal(parallel.ran, serial.ran);
  assert.match(logs[0], /in 2 worker processes/);
  assert.ok(parallel.cells.every((c) => c.status === 'ok'), parallel.cells.filter((c) => c.status !== 'ok').map((c) => `${key(c)}: ${c.reason}`).join('; '));
  const bySerial = new Map(serial.cells.map((c) => [key(c), measured(c)]));
  for (const cell of parallel.cells) assert.deepEqual(measured(cell), bySerial.get(key(cell)), key(cell));
  assert.deepEqual(new Set(parallel.cells.map(key)), new Set(bySerial.keys()));
  assert.equal(Math.max(...progress), 1, 'the bar reaches the end');
  // The suite's process alone wrote the cells file: a config line and one line per cell.
  assert.equal(readFileSync(join(scratch, 'parallel', 'cells.jsonl'), 'utf8').trim().split('\n').length, 1 + parallel.ran);
  // Resuming a parallel run runs nothing more.
  const again = await runBenchSuite({ config, modelDir, bundles, outDir: join(scratch, 'parallel'), jobs: 2 });
  assert.deepEqual([again.ran, again.resumed], [0, parallel.ran]);
});

test('a worker that cannot load its model stops the run, naming why', async () => {
  const missing = join(scratch, 'no-such-model');
  await assert.rejects(runCellsInProcesses({
    jobs: 2, tasks: [{ method: 'none', scenario: 'home', seed: 1 }, { method: 'none', scenario: 'home', seed: 2 }],
    init: { modelDir: missing, bundles: { home: 'x', coding: 'y' }, methods: ['none'], outDir: scratch, setup: { ...config, passages: [], base: { generalLoss: 0, factQa: 0 } } },
    onResult: () => assert.fail('no cell can finish'),
  }), (error: Error) => error.message.startsWith('benchmark worker: ') && error.message.includes(missing));
  await assert.rejects(runBenchSuite({ config, modelDir, bundles: { home: 'x', coding: 'y' }, jobs: 2 }), /jobs > 1 needs an output folder/);
});

test('a worker killed mid-cell leaves that cell failed with the reason, and a new worker runs the rest', async () => {
  const outDir = join(scratch, 'killed');
  const bundles = { home: join(modelDir, 'bundles', 'assistant-style.bundle.json'), coding: join(modelDir, 'bundles', 'coding-roles.bundle.json') };
  // The suite writes the quality detectors the workers read; a one-cell run in this process makes them.
  await runBenchSuite({ config: { ...config, seeds: [1], methods: ['none'], scenarios: ['home'] }, modelDir, bundles, outDir, jobs: 1 });
  const pids: number[] = [];
  const results = new Map<number, CellResult>();
  let killed = false;
  const tasks = [1, 2, 3].map((seed) => ({ method: 'lora-r1', scenario: 'home', seed }));
  await runCellsInProcesses({
    jobs: 1, tasks,
    init: { modelDir, bundles, methods: ['lora-r1'], outDir, setup: { ...config, passages: [[5, 6, 7, 8]], base: { generalLoss: 1, factQa: 1 } } },
    onWorkerStart: (pid) => pids.push(pid),
    onProgress: (index) => {
      if (index === 0 && !killed) {
        killed = true;
        process.kill(pids[0], 'SIGKILL');
      }
    },
    onResult: (index, cell) => results.set(index, cell),
  });
  assert.equal(pids.length, 2, 'a second worker was started');
  assert.equal(results.get(0)?.status, 'failed');
  assert.match(results.get(0)!.reason!, /worker process exited \(signal SIGKILL\) while running this cell/);
  assert.deepEqual([results.get(1)?.status, results.get(2)?.status], ['ok', 'ok']);
});

test('a cell made at another learning rate than its method has now is redone on resume, not reused', async () => {
  const bundles = { home: join(modelDir, 'bundles', 'assistant-style.bundle.json'), coding: join(modelDir, 'bundles', 'coding-roles.bundle.json') };
  const outDir = join(scratch, 'rates');
  const small = { ...config, seeds: [1], scenarios: ['home'] as BenchSuiteConfig['scenarios'], methods: ['none', 'lora-r1', 'titans@0.001'] };
  const first = await runBenchSuite({ config: small, modelDir, bundles, outDir, jobs: 1 });
  assert.deepEqual(first.cells.map((c) => [c.method, c.learningRate]), [['none', undefined], ['lora-r1', TUNED_RATES['lora-r1']], ['titans@0.001', 0.001]]);
  const path = join(outDir, 'cells.jsonl');
  const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  writeFileSync(path, `${lines.map((l) => JSON.stringify(l.method === 'lora-r1' ? { ...l, learningRate: 0.5 } : l)).join('\n')}\n`);
  const logs: string[] = [];
  const again = await runBenchSuite({ config: small, modelDir, bundles, outDir, jobs: 1, log: (l) => logs.push(l) });
  assert.equal(again.ran, 1);
  assert.ok(logs.some((l) => /1 cell in .* ran at another learning rate than its method has now \(lora-r1\); redoing it/.test(l)), logs.join('\n'));
  assert.equal(again.cells.find((c) => c.method === 'lora-r1')?.learningRate, TUNED_RATES['lora-r1']);
});

test('method names: NAME@RATE for learning methods only, and the tuning rule picks the least forgetting among tied scores', () => {
  assert.deepEqual(parseMethodName('lora-r8'), { base: 'lora-r8', rate: null });
  assert.deepEqual(parseMethodName('fc-write+res@3e-3'), { base: 'fc-write+res', rate: 0.003 });
  assert.match(parseMethodName('magic@1e-3') as string, /unknown method "magic"; the methods are none, memory/);
  assert.match(parseMethodName('memory@1e-3') as string, /method "memory" learns nothing, so it takes no @rate/);
  assert.match(parseMethodName('lora-r8@-1') as string, /the rate in "lora-r8@-1" must be a number > 0, like lora-r8@3e-3/);
  assert.match(parseMethodName('lora-r8@') as string, /must be a number > 0/);
  assert.ok(tuneMethodNames().every((n) => typeof parseMethodName(n) !== 'string'));
  assert.ok(tuneMethodNames().includes('full-ft@0.0001') && !tuneMethodNames().some((n) => n.startsWith('none@')));

  const row = (method: string, scenario: string, score: number | null, loss: number, status: 'ok' | 'unavailable' = 'ok') => ({
    method, scenario, status, seeds: 1, failedSeeds: 0, scoreBefore: null, scoreAfterWithMemory: null, interactionsTo90: null, curve: [], factQaShift: null, backwardTransfer: null, cost: null,
    scoreAfter: score === null ? null : { mean: score, ci95: Number.NaN, n: 1 }, generalLossShift: { mean: loss, ci95: Number.NaN, n: 1 },
  });
  const choices = chooseRates([
    // a: 0.9 and 0.89 are within 0.02: the one that forgets less wins.
    row('a@0.01', 'home', 0.9, 0.08), row('a@0.003', 'home', 0.89, 0.004),
    // b: a clear best score wins whatever it forgets; coding counts only where every rate ran.
    row('b@0.01', 'home', 0.9, 0.08), row('b@0.003', 'home', 0.85, 0.004), row('b@0.01', 'coding', 0.1, 0.5), row('b@0.003', 'coding', 0, 0, 'unavailable'),
    row('c', 'home', 0.5, 0),
  ]);
  assert.deepEqual(choices.map((c) => [c.method, c.chosen]), [['a', 0.003], ['b', 0.01]]);
  assert.match(choices[0].reason, /least forgetting among the 2 rates within 0.02/);
  assert.deepEqual(choices[1].candidates, [{ rate: 0.003, score: 0.85, lossShift: 0.004 }, { rate: 0.01, score: 0.9, lossShift: 0.08 }]);
});
