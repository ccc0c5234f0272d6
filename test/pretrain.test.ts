import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { loadModel } from '../src/model/load.js';
import { phaseAt, tinyConfig, totalSteps } from '../src/pretrain/config.js';
import { learningRateAt } from '../src/pretrain/schedule.js';
import { pretrain, runTokenizer, writePretrainOutputs } from '../src/pretrain/trainer.js';
import { replyMask, trainingBatch } from '../src/pretrain/batches.js';
import { specialTokens } from '../src/world/chatFormat.js';
import { defaultMix } from '../src/world/corpus.js';
import { lineChartSvg } from '../src/plot/lineChart.js';
import { defaultBaseSuiteOptions, runBaseSuite } from '../src/eval/baseSuite.js';
import { modelCard } from '../src/pretrain/modelCard.js';
import { factSet } from '../src/world/knowledgeBase.js';

// Pretraining: the schedule, a smoke run of the tiny config, exact resumption
// (in process, and after kill -9 of a real `imprint pretrain`), and the outputs.

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

test('learning rate: linear warm-up to the peak, cosine down to the floor', () => {
  const s = { peakLr: 1e-3, minLr: 1e-4, warmupSteps: 10, totalSteps: 110 };
  assert.ok(Math.abs(learningRateAt(0, s) - 1e-4) < 1e-12);
  assert.ok(Math.abs(learningRateAt(9, s) - 1e-3) < 1e-12);
  assert.ok(Math.abs(learningRateAt(60, s) - 5.5e-4) < 1e-9, 'halfway down the cosine');
  assert.ok(Math.abs(learningRateAt(110, s) - 1e-4) < 1e-12);
  for (let i = 11; i < 110; i++) assert.ok(learningRateAt(i, s) <= learningRateAt(i - 1, s) + 1e-15);
});

test('replyMask marks the assistant turns only, the closing <|end|> included', () => {
  // 1 = <|assistant|>, 2 = <|end|>: system 9 9 <end>, user 8 <end>, assistant 7 7 <end>, then text after.
  const ids = [5, 9, 9, 2, 6, 8, 2, 1, 7, 7, 2, 4, 4];
  assert.deepEqual([...replyMask(ids, 1, 2)], [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0]);
  assert.deepEqual([...replyMask([1, 3, 3], 1, 2)], [0, 1, 1], 'a reply cut off by the row end stays marked');
});

test("loss on replies: dialogue targets outside assistant turns weigh 0, general text and replies 1; 'all' gives no weights", () => {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-mask-'));
  try {
    const tokenizer = runTokenizer(tinyConfig, dir);
    const all = trainingBatch(tokenizer, 5, 3, 4, 96, defaultMix);
    assert.equal(all.weights, undefined);
    const replies = trainingBatch(tokenizer, 5, 3, 4, 96, defaultMix, 'replies');
    assert.deepEqual(replies.targets, all.targets, 'the same tokens, only weighted');
    const weights = replies.weights!;
    const assistant = tokenizer.tokenToId(specialTokens.assistant)!;
    const user = tokenizer.tokenToId(specialTokens.user)!;
    let counted = 0;
    for (let i = 0; i < weights.length; i++) {
      assert.ok(weights[i] === 0 || weights[i] === 1);
      counted += weights[i];
      // Predicting the start of a user or assistant turn is never a reply token.
      if (replies.targets[i] === assistant || replies.targets[i] === user) assert.equal(weights[i], 0);
    }
    assert.ok(counted > 0 && counted < weights.length, `some but not all targets count (${counted}/${weights.length})`);
    const generalOnly = trainingBatch(tokenizer, 5, 3, 2, 64, { home: 0, coding: 0, general: 1, stated: 0 }, 'replies');
    assert.ok(generalOnly.weights!.every((w) => w === 1), 'general text keeps every token');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the loss chart is an SVG with one path per series and refuses empty data', () => {
  const svg = lineChartSvg([{ name: 'train', points: [[1, 3], [2, 2.5], [3, 2]] }, { name: 'held-out', points: [[1, 3.1], [3, 2.2]] }], { title: 'loss', xLabel: 'step', yLabel: 'nats' });
  assert.match(svg, /^<svg /);
  assert.equal(svg.match(/<path /g)?.length, 2);
  assert.throws(() => lineChartSvg([{ name: 'x', points: [] }], { title: 'empty', xLabel: 'a', yLabel: 'b' }), /"empty" has no finite points/);
});

describe('pretraining the tiny config', () => {
  test('a run lowers the loss, stopping then resuming gives exactly the uninterrupted result, and the probes run', async () => {
    const dirs = [mkdtempSync(join(tmpdir(), 'imprint-pre-a-')), mkdtempSync(join(tmpdir(), 'imprint-pre-b-'))];
    try {
      const straight = pretrain(tinyConfig, { runDir: dirs[0], resume: false });
      assert.equal(straight.log.train.length, totalSteps(tinyConfig), 'the main steps plus the curriculum phases');
      const first = straight.log.train.slice(0, 3).reduce((a, r) => a + r.loss, 0) / 3;
      const last = straight.log.train.slice(-3).reduce((a, r) => a + r.loss, 0) / 3;
      assert.ok(last < first, `loss should fall: ${first} -> ${last}`);
      assert.ok(straight.log.evals.length >= 2);

      let steps = 0;
      const interrupted = pretrain(tinyConfig, { runDir: dirs[1], resume: false, shouldStop: () => ++steps >= 5 });
      assert.equal(interrupted.stoppedEarly, true);
      assert.throws(() => pretrain(tinyConfig, { runDir: dirs[1], resume: false }), /already holds a checkpoint; pass --resume/);
      const resumed = pretrain(tinyConfig, { runDir: dirs[1], resume: true });
      assert.equal(resumed.stoppedEarly, false);
      assert.deepEqual(resumed.log.train.map((r) => r.loss), straight.log.train.map((r) => r.loss));
      for (const [name, t] of straight.model.params) assert.deepEqual(resumed.model.params.get(name)!.data, t.data, name);

      const out = join(dirs[0], 'model');
      writePretrainOutputs(straight, out);
      const loaded = loadModel(out);
      assert.ok(loaded.tokenizer?.hasChatTemplate);
      assert.match(readFileSync(join(out, 'loss-curve.svg'), 'utf8'), /<svg/);
      for (const [name, t] of straight.model.params) assert.deepEqual(loaded.model.params.get(name)!.data, t.data);

      // The base probes run end to end and report every axis (the tiny model is untrained, so no bars are met).
      const suite = await runBaseSuite(straight.model, straight.tokenizer, { ...defaultBaseSuiteOptions, promptsPerDomain: 3, maxTokens: 12, generalPassages: 2, batch: 3 });
      assert.deepEqual(Object.keys(suite.stated).sort(), ['coding.comments', 'coding.naming', 'coding.role', 'coding.semicolons', 'home.detail', 'home.directness', 'home.formality', 'home.warmth']);
      for (const r of Object.values(suite.unstated)) {
        if (r.judged > 0) assert.ok(Math.abs(Object.values(r.shares).reduce((a, b) => a + b, 0) - 1) < 1e-3);
      }
      assert.equal(suite.qa.questions, factSet().length);
      assert.ok(suite.general.heldOutLoss > 0 && Number.isFinite(suite.general.heldOutLoss));
      assert.ok(suite.samples.length > 0);
      const card = modelCard({ name: 'tiny', parameters: 1, log: straight.log, suite, command: 'npx imprint pretrain --config tiny', bytes: 1 });
      assert.match(card, /\| stated home\.directness \|/);
      assert.match(card, /npx imprint pretrain --config tiny/);
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });

  test('curriculum phases can be appended to a finished run; a changed main run or a changed phase already begun is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'imprint-phase-'));
    try {
      const [first, second] = tinyConfig.phases!;
      const mainOnly = { ...tinyConfig, phases: [] };
      assert.equal(pretrain(mainOnly, { runDir: dir, resume: false }).log.train.length, tinyConfig.steps);
      assert.throws(() => pretrain({ ...tinyConfig, peakLr: 1e-2 }, { runDir: dir, resume: true }), /made with a different configuration/);
      const onePhase = pretrain({ ...tinyConfig, phases: [first] }, { runDir: dir, resume: true });
      assert.equal(onePhase.log.train.length, tinyConfig.steps + first.steps);
      // Each phase follows its own schedule: warm-up from its own start.
      assert.ok(Math.abs(onePhase.log.train[tinyConfig.steps].lr - first.peakLr / first.warmupSteps) < 1e-12);
      assert.throws(() => pretrain({ ...tinyConfig, phases: [{ ...first, peakLr: 1e-3 }, second] }, { runDir: dir, resume: true }), /curriculum phase 1 .*changed/);
      const both = pretrain(tinyConfig, { runDir: dir, resume: true });
      assert.equal(both.log.train.length, totalSteps(tinyConfig));
      assert.ok(Math.abs(both.log.train[tinyConfig.steps + first.steps].lr - second.peakLr / second.warmupSteps) < 1e-12);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('phaseAt places each step in the main run or its curriculum phase', () => {
    const [first, second] = tinyConfig.phases!;
    assert.equal(phaseAt(tinyConfig, tinyConfig.steps - 1), null);
    assert.deepEqual(phaseAt(tinyConfig, tinyConfig.steps), { phase: first, index: 0, stepInPhase: 0 });
    assert.deepEqual(phaseAt(tinyConfig, tinyConfig.steps + first.steps + 1), { phase: second, index: 1, stepInPhase: 1 });
    assert.throws(() => phaseAt(tinyConfig, totalSteps(tinyConfig)), /past the run's/);
  });

  test('imprint pretrain killed with SIGKILL mid-run resumes from its last checkpoint and finishes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'imprint-kill-'));
    try {
      const args = [cli, 'pretrain', '--config', 'tiny', '--run-dir', join(dir, 'run'), '--out', join(dir, 'model'), '--steps', '40', '--skip-eval'];
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'ignore'] });
      let killedBy: string | null = null;
      const exited = new Promise<void>((resolve) => child.on('exit', (_code, signal) => { killedBy = signal; resolve(); }));
      // Kill it once a checkpoint exists and it is past it.
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          const state = join(dir, 'run', 'checkpoint', 'state.json');
          if (existsSync(state) && JSON.parse(readFileSync(state, 'utf8')).step >= 8) {
            child.kill('SIGKILL');
            clearInterval(timer);
            resolve();
          }
        }, 20);
        void exited.then(() => { clearInterval(timer); resolve(); });
      });
      await exited;
      assert.equal(killedBy, 'SIGKILL', 'the run must have been killed mid-way (it finished first)');
      const state = JSON.parse(readFileSync(join(dir, 'run', 'checkpoint', 'state.json'), 'utf8'));
      assert.ok(state.step >= 8, 'a checkpoint was written before the kill');
      const files = readdirSync(join(dir, 'run', 'checkpoint'));
      assert.ok(files.includes(state.weightsFile) && files.includes(state.optimiserFile), 'state.json names complete files');
      const resumed = spawnSync(process.execPath, [...args, '--resume'], { encoding: 'utf8' });
      assert.equal(resumed.status, 0, resumed.stderr);
      const card = readFileSync(join(dir, 'model', 'README.md'), 'utf8');
      assert.match(card, /46 steps in all of 2 x 384 tokens/, '40 main steps and curriculum phases of 4 and 2 steps');
      assert.match(card, /Main run: 40 steps/);
      assert.match(card, /curriculum phase 1, 4 steps/);
      assert.match(card, /curriculum phase 2, 2 steps .*loss on assistant turns and general text only/);
      assert.match(card, /npx imprint pretrain --config tiny --steps 40/);
      assert.ok(loadModel(join(dir, 'model')).model.parameters().length > 0);

      // imprint eval --suite base --json reads the same directory and prints every probe with its bar.
      const evaluated = spawnSync(process.execPath, [cli, 'eval', '--suite', 'base', '--model', join(dir, 'model'), '--json', '--prompts', '2'], { encoding: 'utf8' });
      assert.equal(evaluated.status, 0, evaluated.stderr);
      const report = JSON.parse(evaluated.stdout) as { qa: { questions: number }; bars: { name: string; pass: boolean }[]; general: { heldOutLoss: number } };
      assert.ok(report.qa.questions > 100);
      assert.ok(report.bars.some((b) => b.name === 'stated home.formality'));
      assert.ok(report.general.heldOutLoss > 0);
      const wrongSuite = spawnSync(process.execPath, [cli, 'eval', '--suite', 'forgetting', '--model', join(dir, 'model')], { encoding: 'utf8' });
      assert.match(wrongSuite.stderr, /--suite must be quick .* or base .* or learn-proof .*, got 'forgetting'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
