import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GARBAGE_KINDS, codingAgent, garbageInteraction, homeAgent, meanWantedScore, wantedScores } from '../src/eval/bench/agents.js';
import { type BenchSuiteConfig, reportFromCells, runBenchSuite } from '../src/eval/bench/benchSuite.js';
import type { CellResult } from '../src/eval/bench/runCell.js';
import { adversarialName, buildScenarios } from '../src/eval/bench/scenarios.js';
import { estimate, garbageDrift, isTie, summarise } from '../src/eval/bench/summary.js';
import { Random } from '../src/tensor/index.js';
import { corrections } from '../src/world/home/styleStatements.js';
import { makeTinyModelDir } from './support/tinyModelDir.js';

// The continual-learning benchmark's harness (src/eval/bench): its pieces
// against hand-made inputs, and the whole suite on a tiny pretrained model
// (3 steps: too weak to learn a style, so what is checked is the bookkeeping:
// every method on every scenario, cells saved and resumed, refusals).

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
let scratch: string;
let modelDir: string;

before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'imprint-bench-'));
  // Home at blocks.1.post (the last block: no read kind), coding at blocks.0.post (every kind).
  modelDir = makeTinyModelDir(scratch, [
    { name: 'assistant-style', hookPoint: 'blocks.1.post', features: ['a', 'b'] },
    { name: 'coding-roles', hookPoint: 'blocks.0.post', features: ['a', 'b'] },
  ]);
});
after(() => rmSync(scratch, { recursive: true, force: true }));

test('agents: the judges score a reply for each wanted value; garbage is what it says it is', () => {
  const user = homeAgent({ id: 'u', preferences: { directness: 'direct', detail: 'brief' }, statesPreferenceRate: 0.5 });
  const hedged = wantedScores('home', user.wants, 'Hmm, let me think. I believe it might be at 6 pm, perhaps, if that works for you.');
  const direct = wantedScores('home', user.wants, 'It is at 6 pm.');
  assert.ok(direct.directness! > 0.8 && hedged.directness! < 0.2, `direct ${direct.directness}, hedged ${hedged.directness}`);
  assert.ok(meanWantedScore(direct)! > meanWantedScore(hedged)!);
  const env = codingAgent({ id: 'env', needs: { naming: 'snake' } });
  assert.equal(wantedScores('coding', env.wants, 'No code here at all.').naming, null, 'no code: the naming judge cannot tell');
  assert.equal(meanWantedScore({ naming: null }), null);

  const rng = new Random(3);
  const wrong = garbageInteraction('wrong-corrections', user, rng);
  const reaction = wrong.react('It is at 6 pm.');
  assert.equal(reaction?.kind, 'correction');
  const opposite = [...corrections.directness.hedging, ...corrections.detail.detailed];
  assert.ok(reaction?.kind === 'correction' && opposite.includes(reaction.text), `asks for the opposite of a wanted value: ${JSON.stringify(reaction)}`);
  const contradictory = garbageInteraction('contradictory', user, rng).react('It is at 6 pm.');
  assert.deepEqual(contradictory, { kind: 'thumbs', up: false }, 'a reply the user would like gets a thumbs down');
  const random = garbageInteraction('random-text', user, rng);
  assert.equal(random.request.length, 1);
  assert.deepEqual(GARBAGE_KINDS, ['random-text', 'contradictory', 'wrong-corrections']);
});

test('scenarios are a pure function of the seed; adversarial runs its clean reference; sequential shares one state', () => {
  const sizes = { homeUsers: 3, codingEnvironments: 2, adversarialUsers: 1, sequentialEnvironments: 3, interactions: 10, sequentialInteractions: 4, evaluateEvery: 4, garbageRates: [0.1, 0.5] };
  const a = buildScenarios(5, sizes);
  const b = buildScenarios(5, sizes);
  assert.deepEqual(a.map((s) => s.name), ['home', 'coding', 'adversarial-0', 'adversarial-10', 'adversarial-50', 'sequential']);
  assert.deepEqual(a.map((s) => s.agents.map((x) => x.wants)), b.map((s) => s.agents.map((x) => x.wants)));
  assert.notDeepEqual(buildScenarios(6, sizes)[0].agents.map((x) => x.wants), a[0].agents.map((x) => x.wants));
  assert.deepEqual(a[0].evaluateAt, [0, 4, 8, 10]);
  assert.equal(a.find((s) => s.name === 'sequential')!.shared, true);
  assert.equal(a.find((s) => s.name === 'adversarial-0')!.garbage, null);
  assert.equal(a.find((s) => s.name === 'adversarial-50')!.garbage?.rate, 0.5);
  assert.equal(adversarialName(0.3), 'adversarial-30');
});

function cell(method: string, scenario: string, seed: number, curve: number[], loss: number, extra: Partial<CellResult> = {}): CellResult {
  return {
    method, scenario, seed, status: 'ok',
    agents: [{ id: 'a', wants: {}, curve: curve.map((score, i) => ({ interactions: i * 5, score })), garbageInteractions: 0 }],
    generalLoss: { base: 3, after: 3 + loss }, factQa: { base: 0.5, after: 0.5 },
    cost: { updateMsMedian: 100, flopsPerUpdate: 1e9, updates: 2, interactions: 2, bytesPerUser: 1024, extraPromptTokens: 0, slowdown: 1 },
    wallMs: 1, ...extra,
  };
}

test('summaries: t intervals over seeds, ties, interactions to 90% of the best, backward transfer and garbage drift', () => {
  const e = estimate([1, 2, 3])!;
  assert.equal(e.mean, 2);
  assert.ok(Math.abs(e.ci95 - (4.303 * 1) / Math.sqrt(3)) < 1e-12, `ci ${e.ci95}`);
  assert.ok(Number.isNaN(estimate([4])!.ci95));
  assert.equal(estimate([Number.NaN]), null);
  assert.equal(isTie({ mean: 1, ci95: 0.2, n: 3 }, { mean: 1.3, ci95: 0.2, n: 3 }), true);
  assert.equal(isTie({ mean: 1, ci95: 0.1, n: 3 }, { mean: 1.3, ci95: 0.1, n: 3 }), false);

  const cells = [
    cell('fast', 'home', 1, [0.2, 0.8, 0.8], 0.01), cell('slow', 'home', 1, [0.2, 0.4, 0.75], 0.002),
    cell('fast', 'adversarial-0', 1, [0.2, 0.8], 0.01), cell('fast', 'adversarial-30', 1, [0.2, 0.5], 0.03),
    cell('fast', 'sequential', 1, [0.3, 0.9], 0.01, { transfer: [[0.9, null, null], [0.6, 0.8, null], [0.5, 0.7, 0.9]] }),
    { ...cell('gone', 'home', 1, [], 0), status: 'unavailable' as const, reason: 'no layer reads after the hook point', agents: [], cost: null, generalLoss: null, factQa: null },
  ];
  const summary = summarise(cells);
  const of = (m: string, s: string) => summary.find((x) => x.method === m && x.scenario === s)!;
  // Best final on home is 0.8; 90% of it is 0.72: fast reaches it at 5 interactions, slow at 10.
  assert.equal(of('fast', 'home').interactionsTo90?.mean, 5);
  assert.equal(of('slow', 'home').interactionsTo90?.mean, 10);
  assert.ok(Math.abs(of('slow', 'home').generalLossShift!.mean - 0.002) < 1e-12);
  assert.equal(of('gone', 'home').status, 'unavailable');
  assert.equal(of('gone', 'home').reason, 'no layer reads after the hook point');
  // BWT: ((0.5 − 0.9) + (0.7 − 0.8)) / 2.
  assert.ok(Math.abs(of('fast', 'sequential').backwardTransfer!.mean - -0.25) < 1e-12);
  // A method that raised an error on every seed is reported as failed with its error; on some seeds, its figures are over the others.
  const failed = (seed: number): CellResult => ({ method: 'broken', scenario: 'home', seed, status: 'failed', reason: 'failed: logits overflowed', agents: [], generalLoss: null, factQa: null, cost: null, wallMs: 1 });
  const withFailures = summarise([...cells, failed(1), cell('flaky', 'home', 1, [0.2, 0.6], 0.01), failed(2)].map((c, i) => (i === cells.length + 2 ? { ...c, method: 'flaky' } : c)));
  const broken = withFailures.find((x) => x.method === 'broken')!;
  assert.deepEqual([broken.status, broken.reason, broken.failedSeeds, broken.seeds], ['failed', 'failed: logits overflowed', 1, 0]);
  const flaky = withFailures.find((x) => x.method === 'flaky')!;
  assert.deepEqual([flaky.status, flaky.seeds, flaky.failedSeeds], ['ok', 1, 1]);
  const drift = garbageDrift(summary);
  assert.equal(drift.length, 1);
  assert.equal(drift[0].rate, 0.3);
  assert.ok(Math.abs(drift[0].scoreDrift! - -0.3) < 1e-12 && Math.abs(drift[0].lossDrift! - 0.02) < 1e-12);
});

describe('the benchmark suite on a tiny model', () => {
  const config: BenchSuiteConfig = {
    name: 'test', seeds: [1], scenarios: ['home', 'coding', 'adversarial', 'sequential'],
    methods: ['none', 'memory', 'full-ft', 'titans', 'steering', 'lora-r1', 'fc-write', 'fc-read', 'fc-selected'],
    sizes: { homeUsers: 1, codingEnvironments: 1, adversarialUsers: 1, sequentialEnvironments: 2, interactions: 2, sequentialInteractions: 1, evaluateEvery: 2, garbageRates: [0.5] },
    settings: { heldOut: 2, replyTokens: 8, temperature: 0.7, facts: 2 }, generalPassages: 2, learner: { sampleTokens: 8 },
  };
  const bundles = () => ({ home: join(modelDir, 'bundles', 'assistant-style.bundle.json'), coding: join(modelDir, 'bundles', 'coding-roles.bundle.json') });

  test('runs every method on every scenario, saves each cell, resumes, and refuses a changed config', async () => {
    const out = join(scratch, 'bench');
    const lines: string[] = [];
    const first = await runBenchSuite({ config, modelDir, bundles: bundles(), outDir: out, log: (l) => lines.push(l) });
    const scenarios = ['home', 'coding', 'adversarial-0', 'adversarial-50', 'sequential'];
    assert.equal(first.ran, config.methods.length * scenarios.length);
    for (const scenario of scenarios) {
      for (const method of config.methods) {
        const c = first.cells.find((x) => x.method === method && x.scenario === scenario);
        assert.ok(c !== undefined, `${method} on ${scenario}`);
        if (method === 'fc-read' && scenario !== 'coding' && scenario !== 'sequential') {
          assert.equal(c.status, 'unavailable');
          assert.match(c.reason!, /cannot use bundle \"assistant-style\" at blocks\.1\.post: no layer of this model reads the residual stream at or after blocks\.1\.post/);
          continue;
        }
        assert.equal(c.status, 'ok', `${method} on ${scenario}: ${c.reason}`);
        assert.ok(c.agents.every((a) => a.curve.length >= 2 && a.curve.every((p) => p.score === null || (p.score >= 0 && p.score <= 1))), `${method} on ${scenario} curve`);
        assert.ok(c.generalLoss !== null && Number.isFinite(c.generalLoss.after) && c.cost !== null && c.cost.interactions > 0);
        if (method === 'none') assert.equal(c.generalLoss.after, c.generalLoss.base, 'the base model forgets nothing');
        if (method === 'memory') assert.ok(c.agents[0].curve[0].scoreWithMemory !== undefined, 'memory methods are also measured with their notes');
        // FLOPs per update are counted at the kernels: notes in a BM25 index take none, any update that runs the model takes some.
        if (c.cost.updates > 0) assert.ok(method === 'memory' ? c.cost.flopsPerUpdate === 0 : c.cost.flopsPerUpdate! > 0, `${method} on ${scenario}: ${c.cost.flopsPerUpdate} FLOPs per update`);
      }
    }
    const sequential = first.cells.find((c) => c.method === 'fc-write' && c.scenario === 'sequential')!;
    assert.equal(sequential.transfer?.length, 2);
    assert.equal(sequential.transfer?.[0][1], null, 'an agent is not measured before its block');
    const adversarial = first.cells.find((c) => c.method === 'none' && c.scenario === 'adversarial-50')!;
    assert.ok(adversarial.agents[0].garbageInteractions <= 2);
    const fullFt = first.cells.find((c) => c.method === 'full-ft' && c.scenario === 'home')!;
    assert.ok(fullFt.cost!.bytesPerUser > 4 * 1000, 'full fine-tuning holds a copy of every weight');
    assert.ok(existsSync(join(out, 'cells.jsonl')) && existsSync(join(out, 'summary.json')));
    assert.equal(readFileSync(join(out, 'cells.jsonl'), 'utf8').trim().split('\n').length, 1 + first.ran);

    const again = await runBenchSuite({ config, modelDir, bundles: bundles(), outDir: out });
    assert.deepEqual([again.ran, again.resumed], [0, first.ran]);
    assert.deepEqual(again.summary, first.summary);

    await assert.rejects(runBenchSuite({ config: { ...config, sizes: { ...config.sizes, interactions: 3 } }, modelDir, bundles: bundles(), outDir: out }),
      /holds cells of a different config: sizes: .*"interactions":2.* there, .*"interactions":3.* asked/);

    // --report-only: the report of the cells as they stand, against the cells the config asks for.
    const complete = reportFromCells(config, out);
    assert.deepEqual([complete.cells, complete.of], [first.ran, first.ran]);
    assert.deepEqual(complete.summary, first.summary);
    assert.ok(!readFileSync(complete.files.markdown, 'utf8').includes('Partial:'));
    const wider = reportFromCells({ ...config, methods: [...config.methods, 'lora-r8'] }, out);
    assert.deepEqual([wider.cells, wider.of], [first.ran, first.ran + scenarios.length]);
    assert.ok(readFileSync(wider.files.markdown, 'utf8').includes(`**Partial: ${first.ran} of ${first.ran + scenarios.length} cells finished so far.`));
    assert.match(readFileSync(wider.files.html, 'utf8'), /<p class="partial"><strong>Partial: /);
    assert.equal(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).progress.of, first.ran + scenarios.length);
    assert.throws(() => reportFromCells({ ...config, settings: { ...config.settings, heldOut: 5 } }, out), /holds cells of a different config: settings: .*"heldOut":2.* there, .*"heldOut":5.* asked/);
    assert.throws(() => reportFromCells(config, join(scratch, 'nothing-here')), /cells\.jsonl does not exist or is empty: nothing to report/);
  });

  test('the CLI refuses bad flags naming what was expected', () => {
    const refused = (args: string[], pattern: RegExp) => {
      const child = spawnSync(process.execPath, [cli, 'eval', ...args], { encoding: 'utf8' });
      assert.equal(child.status, 1, child.stderr);
      assert.match(child.stderr, pattern);
    };
    refused(['--suite', 'quick', '--methods', 'fc-write,magic'], /--methods: unknown method "magic"; the methods are none, memory, .* \(in 'fc-write,magic'\)/);
    refused(['--suite', 'quick', '--methods', 'memory@1e-3'], /--methods: method "memory" learns nothing, so it takes no @rate \(got "memory@1e-3"\)/);
    refused(['--suite', 'quick', '--methods', 'lora-r8@fast'], /--methods: the rate in "lora-r8@fast" must be a number > 0, like lora-r8@3e-3/);
    refused(['--suite', 'quick', '--methods', 'lora-r8,,none'], /--methods must be a comma-separated list of methods \(none, memory, .*\), got 'lora-r8,,none'/);
    refused(['--suite', 'quick', '--scenarios', 'space'], /--scenarios must be a comma-separated list of scenarios \(home, coding, adversarial, sequential\), got 'space'/);
    refused(['--suite', 'quick', '--model', modelDir, '--seeds', 'x'], /--seeds must be a comma-separated list of integers >= 0, got 'x'/);
  });
});
