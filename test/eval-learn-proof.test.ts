import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type LearnProofSuiteOptions, runLearnProofSuite } from '../src/eval/learnProofSuite.js';
import type { ProofKind } from '../src/learn/index.js';
import { loadModel } from '../src/model/load.js';
import { makeTinyModelDir } from './support/tinyModelDir.js';

// `imprint eval --suite learn-proof` on a tiny pretrained model (3 steps) with a
// tiny bundle named like the default one: 2 interactions per run, so a run is
// a fraction of a second. Too weak a model to learn a style: what is checked
// is the bookkeeping (files, series, the level table, resume, refusals).

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

let scratch: string;
let modelDir: string;
let count = 0;
const fresh = (name: string) => join(scratch, `${count++}-${name}`);
const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'eval', ...args], { encoding: 'utf8' });

before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'imprint-learn-proof-'));
  modelDir = makeTinyModelDir(scratch, [{ name: 'assistant-style', hookPoint: 'blocks.1.post', features: ['direct', 'casual'] }]);
});
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('imprint eval --suite learn-proof', () => {
  test('2 interactions, 1 seed, 2 learning rates: writes the runs, the result, the text and both charts with every series, and --json has the level table', () => {
    const out = fresh('proof');
    const first = run('--suite', 'learn-proof', '--model', modelDir, '--interactions', '2', '--seeds', '1', '--lr', '1e-2,1e-1', '--out', out, '--json');
    assert.equal(first.status, 0, first.stderr);
    // A line per measurement, with which run of how many, the time elapsed and an ETA.
    assert.match(first.stderr, /learn-proof: 6 runs \(write,selected,lora × lr 1e-2,1e-1 × seeds 1\), 2 interactions each/);
    const names = ['write lr 1e-2 seed 1', 'selected lr 1e-2 seed 1', 'lora lr 1e-2 seed 1', 'write lr 1e-1 seed 1', 'selected lr 1e-1 seed 1', 'lora lr 1e-1 seed 1'];
    for (const [i, name] of names.entries()) {
      for (const at of [0, 2]) assert.match(first.stderr, new RegExp(`\\[run ${i + 1}/6\\] ${name} after ${at}: judge [\\d.]+ .* · \\d+s elapsed, ETA (unknown|\\d+s)`));
    }
    // The selected kind ranks the bundle's two features on the user's interactions and keeps at least one.
    assert.match(first.stderr, /selected lr 1e-2 seed 1: the user's features after 2 interactions: (direct|casual) [\d.]+, (direct|casual) [\d.]+; kept (direct|casual)/);
    const report = JSON.parse(first.stdout) as {
      summary: { kind: ProofKind; lr: number }[]; matched: { lr: number; seed: number }[];
      levels: { fraction: number; level: number; byKind: Record<string, { lossShift: number; lr: number } | null> }[];
      runs: { total: number; ran: number; resumed: number }; files: Record<string, string>;
    };
    assert.deepEqual(report.summary.map((s) => `${s.kind}@${s.lr}`), ['write@0.01', 'write@0.1', 'selected@0.01', 'selected@0.1', 'lora@0.01', 'lora@0.1']);
    assert.deepEqual(report.runs, { total: 6, ran: 6, resumed: 0 });
    assert.deepEqual(report.levels.map((l) => l.fraction), [0.25, 0.5, 0.75, 1]);
    for (const row of report.levels) {
      assert.ok(row.level > 0);
      for (const kind of ['write', 'selected', 'lora']) {
        const entry = row.byKind[kind];
        assert.ok(entry !== null && Number.isFinite(entry.lossShift) && [0.01, 0.1].includes(entry.lr), `${kind} at ${row.fraction}: ${JSON.stringify(entry)}`);
      }
    }
    for (const role of ['runs', 'result', 'text', 'learningCurves', 'forgetting']) assert.ok(existsSync(report.files[role]), `${role} written`);
    assert.equal(report.files.result, join(out, 'proof-result.json'));

    const saved = JSON.parse(readFileSync(join(out, 'proof-result.json'), 'utf8')) as { config: { lrs: number[]; seeds: number[] }; runs: unknown[]; levels: unknown[]; matched: unknown[] };
    assert.deepEqual(saved.config.lrs, [0.01, 0.1]);
    assert.equal(saved.runs.length, 6);
    const selectedRuns = (saved.runs as { kind: string; features?: string[] }[]).filter((r) => r.kind === 'selected');
    assert.equal(selectedRuns.length, 2);
    for (const r of selectedRuns) assert.ok(r.features !== undefined && r.features.length >= 1 && r.features.every((f) => ['direct', 'casual'].includes(f)), JSON.stringify(r.features));
    assert.deepEqual(saved.levels, report.levels);
    const text = readFileSync(join(out, 'proof.txt'), 'utf8');
    assert.match(text, /^proof run: directness=direct, 2 interactions, seeds 1, lr 1e-2, 1e-1/);
    assert.match(text, /at gap reduction \S+ \(50%\): FC-LoRA [+-]\S+ \(lr 1e-[12]\), FC-LoRA \(selected\) [+-]\S+ \(lr 1e-[12]\), plain LoRA [+-]\S+ \(lr 1e-[12]\) nats\/token/);
    assert.match(text, /FC-LoRA \(selected\) lr 1e-2 seed 1: kept (direct|casual)/);
    for (const chart of ['learning-curves.svg', 'forgetting.svg']) {
      const svg = readFileSync(join(out, chart), 'utf8');
      assert.match(svg, /^<svg /);
      for (const name of ['FC-LoRA lr 1e-2', 'FC-LoRA lr 1e-1', 'FC-LoRA (selected) lr 1e-2', 'FC-LoRA (selected) lr 1e-1', 'plain LoRA lr 1e-2', 'plain LoRA lr 1e-1']) {
        assert.ok(svg.includes(`>${name}</text>`), `${chart} has the series ${name}`);
      }
      assert.equal(svg.match(/<path d="M[^"]+ L[^"]+"/g)?.length, 6, `${chart}: one line of two points per series`);
    }
    assert.match(readFileSync(join(out, 'learning-curves.svg'), 'utf8'), />interactions</);
    assert.match(readFileSync(join(out, 'forgetting.svg'), 'utf8'), />teacher-gap reduction \(nats\/token\)</);

    // The same command again: every run is in runs.jsonl, nothing is redone, the same report comes out.
    const again = run('--suite', 'learn-proof', '--model', modelDir, '--interactions', '2', '--seeds', '1', '--lr', '1e-2,1e-1', '--out', out, '--json');
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /6 already in .*runs\.jsonl, 0 to run/);
    assert.doesNotMatch(again.stderr, /\[run /);
    const second = JSON.parse(again.stdout) as typeof report;
    assert.deepEqual(second.runs, { total: 6, ran: 0, resumed: 6 });
    assert.deepEqual(second.levels, report.levels);
  });

  test('bad flags are refused naming the flag and what was expected, before the model loads', () => {
    const cases: [string[], RegExp][] = [
      [['--lr', '0'], /--lr must be a comma-separated list of learning rates, each a number > 0 .*got '0'/],
      [['--lr', '1e-2,fast'], /--lr must be .*got '1e-2,fast'/],
      [['--held-out', '0'], /--held-out must be an integer in \[1, 10000\]/],
      [['--general', 'many'], /--general must be an integer in \[1, 10000\]/],
      [['--seeds', 'x'], /--seeds must be a comma-separated list of integers >= 0 .*got 'x'/],
      [['--seeds', '1,,2'], /--seeds must be .*got '1,,2'/],
      [['--kinds', 'write,reft'], /--kinds must be a comma-separated list of write \(FC-LoRA on the bundle\), selected \(FC-LoRA on the user's features\) and lora \(plain LoRA\), got 'write,reft'/],
      [['--select-window', '0'], /--select-window must be an integer in \[1, 1000\], got '0'/],
      [['--interactions', '0'], /--interactions must be an integer in \[1, 100000\], got '0'/],
      [['--rank', '2.5'], /--rank must be an integer in \[1, 256\], got '2.5'/],
      [['--target', 'directness=loud'], /--target directness=loud: axis directness has values .* not "loud"/],
    ];
    for (const [flags, message] of cases) {
      const result = run('--suite', 'learn-proof', '--model', join(scratch, 'no-such-model'), ...flags);
      assert.equal(result.status, 1, flags.join(' '));
      assert.match(result.stderr, message);
    }
    const wrongSuite = run('--suite', 'forgetting', '--model', modelDir);
    assert.match(wrongSuite.stderr, /--suite must be quick \(.*\) or full \(.*\) or base \(.*\) or learn-proof \(.*\), got 'forgetting'/);
    assert.match(run('--model', modelDir).stderr, /--suite must be quick .* or base .* or learn-proof .*got nothing/);
    const help = run('--help');
    assert.equal(help.status, 0);
    assert.match(help.stdout, /base .*\n.*learn-proof/);
    assert.match(run('--suite', 'learn-proof', '--help').stdout, /usage: imprint eval --suite learn-proof .*\n[\s\S]*--lr LIST/);
  });
});

describe('learn-proof resume', () => {
  const base = (outDir: string, extra: Partial<LearnProofSuiteOptions> = {}) => {
    const { model, tokenizer } = loadModel(modelDir);
    const started: string[] = [];
    const lines: string[] = [];
    const options: LearnProofSuiteOptions = {
      model, tokenizer: tokenizer!, modelDir, bundlePath: join(modelDir, 'bundles', 'assistant-style.bundle.json'),
      grid: { kinds: ['write'], lrs: [1e-2], seeds: [1] }, interactions: 2, heldOutPrompts: 2, generalPassages: 2, outDir,
      log: (line) => lines.push(line), onRunStart: (r) => started.push(`${r.kind}@${r.lr}#${r.seed}`), ...extra,
    };
    return { options, started, lines };
  };

  test('a rerun skips finished runs, may add seeds and learning rates, and refuses a changed config naming what differs', async () => {
    const out = fresh('resume');
    const one = base(out);
    await runLearnProofSuite(one.options);
    assert.deepEqual(one.started, ['write@0.01#1']);

    const same = base(out);
    const sameResult = await runLearnProofSuite(same.options);
    assert.deepEqual(same.started, [], 'nothing redone');
    assert.equal(sameResult.resumed, 1);

    const more = base(out, { grid: { kinds: ['write', 'lora'], lrs: [1e-2], seeds: [1, 2] } });
    const moreResult = await runLearnProofSuite(more.options);
    assert.deepEqual(more.started, ['lora@0.01#1', 'write@0.01#2', 'lora@0.01#2'], 'only the added runs, seed by seed');
    assert.equal(moreResult.result.runs.length, 4);

    const refused = async (extra: Partial<LearnProofSuiteOptions>, message: RegExp) => {
      const attempt = base(out, { grid: { kinds: ['write', 'lora'], lrs: [1e-2], seeds: [1, 2] }, ...extra });
      await assert.rejects(runLearnProofSuite(attempt.options), message);
      assert.deepEqual(attempt.started, [], 'nothing runs');
    };
    await refused({ interactions: 3 }, /runs\.jsonl holds runs of a different config: interactions: 2 there, 3 asked.*use another --out/);
    await refused({ rank: 2 }, /rank: 4 there, 2 asked/);
    await refused({ target: { axis: 'directness', wanted: 'hedging' } }, /target: directness=direct there, directness=hedging asked/);
    await refused({ grid: { kinds: ['write', 'lora'], lrs: [3e-3], seeds: [1, 2] } }, /lrs: 1e-2 there, 3e-3 asked \(leaves out 1e-2\)/);
    await refused({ grid: { kinds: ['write'], lrs: [1e-2], seeds: [2] } }, /kinds: write,lora there, write asked \(leaves out lora\); seeds: 1,2 there, 2 asked \(leaves out 1\)/);
    const otherModel = loadModel(modelDir);
    otherModel.model.parameters()[0].data[0] += 1;
    await refused({ model: otherModel.model }, /model: weights [0-9a-f]{12}… \(.*\) there, [0-9a-f]{12}… \(.*\) asked/);
  });

  test('a torn last line of runs.jsonl is skipped with a warning and its run redone; a bad line before it is refused', async () => {
    const out = fresh('torn');
    const grid = { kinds: ['write', 'lora'] as ProofKind[], lrs: [1e-2], seeds: [1] };
    await runLearnProofSuite(base(out, { grid }).options);
    const path = join(out, 'runs.jsonl');
    const whole = readFileSync(path, 'utf8');
    const lines = whole.trimEnd().split('\n');
    assert.equal(lines.length, 3, 'the config and two runs');
    writeFileSync(path, `${lines[0]}\n${lines[1]}\n${lines[2].slice(0, 200)}`);

    const resumed = base(out, { grid });
    await runLearnProofSuite(resumed.options);
    assert.ok(resumed.lines.some((l) => /^warning: .*runs\.jsonl:3: the last line is torn \(not valid JSON; an interrupted write\?\); skipped, its run will be redone$/.test(l)), resumed.lines.join('\n'));
    assert.deepEqual(resumed.started, ['lora@0.01#1']);
    const rewritten = readFileSync(path, 'utf8').trimEnd().split('\n');
    assert.equal(rewritten.length, 3);
    for (const line of rewritten) JSON.parse(line);

    writeFileSync(path, `${rewritten[0]}\n{"type":"run"\n${rewritten[1]}\n${rewritten[2]}\n`);
    await assert.rejects(runLearnProofSuite(base(out, { grid }).options), /runs\.jsonl:2: not valid JSON; only the last line can be torn/);
  });
});
