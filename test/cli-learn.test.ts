import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AdapterStore } from '../src/adapt/index.js';
import { decodeLearnerState } from '../src/learn/index.js';
import { snapshot } from './support/fileSnapshot.js';
import { TINY_STYLE, makeTinyModelDir } from './support/tinyModelDir.js';

// `imprint learn` end to end on a tiny pretrained model (3 steps) with a tiny
// bundle at blocks.1.post: bad lines are reported by number and skipped, every
// good line is learned from and counted in the version's metrics, a rerun with
// --resume continues the store from where the last run stopped (Ctrl-C
// included) with the learner's state saved in it, so that stopping and
// continuing learns what one run would, and bad input is refused before
// anything is written.

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const examples = readFileSync(fileURLToPath(new URL('../../examples/interactions.jsonl', import.meta.url)), 'utf8').trim().split('\n');

let scratch: string;
let modelDir: string;
let count = 0;
const fresh = (name: string) => join(scratch, `${count++}-${name}`);
const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'learn', '--model', modelDir, ...args], { encoding: 'utf8' });

type Summary = {
  version: number | null; versions: number[]; continuedFrom: number | null; learnerStateResumed: boolean | null; steps: number; interrupted: boolean;
  interactions: { consumed: number; badLines: number[]; skippedByResume: number; remaining: number; lastLine: number };
  experiences: { trained: number; gatedOut: number; nonFinite: number };
};

before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'imprint-cli-learn-'));
  // At blocks.0.pre nothing writes before the directions are measured, and on a 2-layer model nothing reads after blocks.1.post.
  modelDir = makeTinyModelDir(scratch, [TINY_STYLE, { name: 'too-early', hookPoint: 'blocks.0.pre' }]);
});
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('imprint learn', () => {
  test('reports bad lines by number, learns from every good one, commits version 1, and --resume continues to version 2', () => {
    const file = fresh('interactions.jsonl');
    const bad1 = '{"prompt":"Set a timer.","reply":"Done.","reaction":{"kind":"thumbs","up":"yes"}}';
    const bad2 = 'not json at all';
    writeFileSync(file, [examples[0], bad1, examples[1], bad2, examples[2]].join('\n') + '\n');
    const out = fresh('store');
    const first = run('--bundle', 'tiny-style', '--interactions', file, '--out', out, '--json');
    assert.equal(first.status, 0, first.stderr);
    const reported = [...first.stderr.matchAll(/\d+-interactions\.jsonl:(\d+): (.*); line skipped/g)].map((m) => [Number(m[1]), m[2]]);
    assert.deepEqual(reported.map(([line]) => line), [2, 4], first.stderr);
    assert.match(String(reported[0][1]), /reaction\.up must be true or false/);
    assert.match(String(reported[1][1]), /not valid JSON/);
    const summary = JSON.parse(first.stdout) as Summary;
    assert.deepEqual(summary.versions, [1]);
    assert.equal(summary.steps, 3);
    assert.deepEqual(summary.interactions.badLines, [2, 4]);
    assert.equal(summary.experiences.trained + summary.experiences.gatedOut + summary.experiences.nonFinite, 3);

    const store = AdapterStore.open(out);
    assert.equal(store.current(), 1);
    const metrics = store.show(1).metrics as Record<string, any>;
    assert.equal(metrics.interactions.consumed, 3);
    assert.equal(metrics.interactions.lastLine, 5);
    assert.equal(metrics.steps, 3);
    assert.deepEqual(Object.keys(metrics.adapterNorm.byFeature).sort(), ['casual', 'direct', 'warm']);
    assert.ok(typeof metrics.meanGateWeight === 'number' && metrics.meanGateWeight >= 0 && metrics.meanGateWeight <= 1);
    assert.ok(typeof metrics.wallMs === 'number');
    assert.equal(metrics.experiences.trained + metrics.experiences.gatedOut + metrics.experiences.nonFinite, 3);
    assert.deepEqual(store.show(1).state.spec.adapters, [{ kind: 'write', rank: 4, target: { modules: ['o_proj', 'down_proj'], layers: [0, 1] } }]);
    assert.equal(summary.learnerStateResumed, null, 'a new adapter has no learner state to resume');
    const learnerState = (version: number) => {
      const saved = store.readLearnerState(version)!;
      return decodeLearnerState(saved.state, saved.path);
    };
    assert.equal(learnerState(1).steps, 3, 'the version carries the learner\'s state');
    // imprint adapter show says what the saved state holds (and --json carries it).
    const show = spawnSync(process.execPath, [cli, 'adapter', 'show', out, '--version', '1'], { encoding: 'utf8' });
    assert.equal(show.status, 0, show.stderr);
    assert.match(show.stdout, /learner state: .*learner\.safetensors, \d+ bytes \(checked\): 3 steps, AdamW step \d+, \d+ replay items?/);
    const shownJson = JSON.parse(spawnSync(process.execPath, [cli, 'adapter', 'show', out, '--version', '1', '--json'], { encoding: 'utf8' }).stdout) as { learner: { steps: number } };
    assert.equal(shownJson.learner.steps, 3);

    // Two more lines: --resume learns from those only, on top of version 1 (the bundle comes from the store).
    appendFileSync(file, `${examples[3]}\n${examples[4]}\n`);
    const second = run('--interactions', file, '--out', out, '--resume', '--json', '--no-quality');
    assert.equal(second.status, 0, second.stderr);
    const resumed = JSON.parse(second.stdout) as Summary;
    assert.equal(resumed.continuedFrom, 1);
    assert.equal(resumed.learnerStateResumed, true);
    assert.match(second.stderr, /resumed the learner's optimiser state from version 1 \(AdamW step \d+, \d+ replay items?\)/);
    assert.equal(learnerState(2).steps, 5);
    assert.deepEqual(resumed.versions, [2]);
    assert.equal(resumed.interactions.consumed, 2);
    assert.equal(resumed.interactions.skippedByResume, 3);
    const record = store.show(2);
    assert.equal(record.parent, 1);
    const resumedMetrics = record.metrics as Record<string, any>;
    assert.deepEqual([resumedMetrics.interactions.firstLine, resumedMetrics.interactions.lastLine], [6, 7]);
    assert.equal(resumedMetrics.interactions.consumedTotal, 5);

    // Nothing left: no new version.
    const third = run('--interactions', file, '--out', out, '--resume', '--no-quality');
    assert.equal(third.status, 0, third.stderr);
    assert.match(third.stdout, /nothing new to learn/);
    assert.equal(store.current(), 2);

    // A config that is not the store's, or a file changed under --resume: refused, the store unchanged.
    const kept = snapshot(out);
    const otherKind = run('--interactions', file, '--out', out, '--kind', 'lora');
    assert.equal(otherKind.status, 1);
    assert.match(otherKind.stderr, /holds an adapter of config write r4 .* but the flags ask for lora r4/);
    writeFileSync(file, readFileSync(file, 'utf8').replace('water the ferns', 'water the roses'));
    const changed = run('--interactions', file, '--out', out, '--resume');
    assert.equal(changed.status, 1);
    assert.match(changed.stderr, /changed in its first 7 lines since version 2/);
    assert.deepEqual(snapshot(out), kept);
  });

  test('Ctrl-C stops after the current step, commits what was learned, and --resume learns the rest', async () => {
    const file = fresh('many.jsonl');
    const lines = Array.from({ length: 40 }, (_, i) => examples[i % examples.length].replace(/"id":"ex-\d+"/, `"id":"n-${i}"`));
    writeFileSync(file, `${lines.join('\n')}\n`);
    const out = fresh('store');
    const child = spawn(process.execPath, [cli, 'learn', '--model', modelDir, '--bundle', 'tiny-style', '--interactions', file, '--out', out, '--json', '--no-quality'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      // The progress bar's first line comes after the first step, with the handler in place.
      if (!signalled && /\] \d+\/40/.test(stderr)) {
        signalled = true;
        child.kill('SIGINT');
      }
    });
    const status = await new Promise<number | null>((done) => child.on('close', done));
    assert.equal(status, 130, stderr);
    assert.match(stderr, /stopping after the current step/);
    const summary = JSON.parse(stdout) as Summary;
    assert.equal(summary.interrupted, true);
    assert.ok(summary.interactions.consumed >= 1 && summary.interactions.consumed < 40, `consumed ${summary.interactions.consumed}`);
    const store = AdapterStore.open(out);
    const metrics = store.show(1).metrics as Record<string, any>;
    assert.equal(metrics.interrupted, true);
    assert.equal(metrics.interactions.consumed, summary.interactions.consumed);

    const rest = run('--interactions', file, '--out', out, '--resume', '--json', '--no-quality');
    assert.equal(rest.status, 0, rest.stderr);
    const resumed = JSON.parse(rest.stdout) as Summary;
    assert.equal(resumed.interactions.consumed, 40 - summary.interactions.consumed);
    assert.equal((store.show(2).metrics as Record<string, any>).interactions.consumedTotal, 40);
  });

  test('learning 3 lines, then 2 more with --resume, gives bit for bit the adapter of one run over the 5; without the learner state it differs', () => {
    const all = fresh('all.jsonl');
    writeFileSync(all, `${examples.slice(0, 5).join('\n')}\n`);
    const part = fresh('part.jsonl');
    writeFileSync(part, `${examples.slice(0, 3).join('\n')}\n`);
    const common = ['--bundle', 'tiny-style', '--no-quality', '--json'];
    const learn = (file: string, out: string, ...more: string[]) => {
      const child = run(...common, '--interactions', file, '--out', out, ...more);
      assert.equal(child.status, 0, child.stderr);
      return child;
    };
    const tensors = (out: string) => AdapterStore.open(out).readState().state.tensors;

    const oneRun = fresh('store');
    learn(all, oneRun);
    const stopped = fresh('store');
    learn(part, stopped);
    const withoutState = fresh('store');
    learn(part, withoutState);
    // The same 3 lines learned twice from scratch: the same version 1 (so what follows is down to the resumption).
    assert.deepEqual(tensors(withoutState), tensors(stopped));
    appendFileSync(part, `${examples.slice(3, 5).join('\n')}\n`);

    const continued = learn(part, stopped, '--resume');
    assert.match(continued.stderr, /resumed the learner's optimiser state from version 1/);
    assert.deepEqual(tensors(stopped), tensors(oneRun), 'bit-identical adapter tensors');

    rmSync(join(withoutState, 'versions', '000001', 'learner.safetensors'));
    const fresher = learn(part, withoutState, '--resume');
    assert.match(fresher.stderr, /could not resume the learner's state from version 1 \(.*learner\.safetensors: missing.*\); the optimiser and replay buffer start fresh/);
    assert.equal((JSON.parse(fresher.stdout) as Summary).learnerStateResumed, false);
    assert.notDeepEqual(tensors(withoutState), tensors(oneRun));
  });

  test('--batch and --commit-every: one step per batch, a version every N steps', () => {
    const file = fresh('batch.jsonl');
    writeFileSync(file, `${examples.slice(0, 5).join('\n')}\n`);
    const out = fresh('store');
    const child = run('--bundle', 'tiny-style', '--interactions', file, '--out', out, '--batch', '2', '--commit-every', '2', '--no-quality', '--json');
    assert.equal(child.status, 0, child.stderr);
    const summary = JSON.parse(child.stdout) as Summary;
    assert.equal(summary.steps, 3, '5 interactions in batches of 2');
    assert.deepEqual(summary.versions, [1, 2]);
    const store = AdapterStore.open(out);
    assert.deepEqual([1, 2].map((v) => (store.show(v).metrics as Record<string, any>).interactions.consumed), [4, 1]);
  });

  test('--user learns one user\'s lines only', () => {
    const file = fresh('users.jsonl');
    writeFileSync(file, `${examples.join('\n')}\n`);
    const out = fresh('store');
    const child = run('--bundle', 'tiny-style', '--interactions', file, '--out', out, '--user', 'tobias', '--no-quality', '--json');
    assert.equal(child.status, 0, child.stderr);
    assert.match(child.stderr, /--user tobias: 3 of the 8 valid interactions are this user's/);
    const summary = JSON.parse(child.stdout) as Summary;
    assert.equal(summary.interactions.consumed, 3);
    const metrics = AdapterStore.open(out).show(1).metrics as Record<string, any>;
    assert.deepEqual([metrics.interactions.user, metrics.interactions.firstLine, metrics.interactions.lastLine], ['tobias', 5, 7]);
    const nobody = run('--bundle', 'tiny-style', '--interactions', file, '--out', fresh('never'), '--user', 'nobody');
    assert.equal(nobody.status, 1);
    assert.match(nobody.stderr, /--user nobody: no valid line of .* is for that user \(its users: maya, tobias, guest\)/);
  });

  test('--features auto confines a new adapter to the features the interactions move; named ids; continuing keeps the stored ones', () => {
    const file = fresh('features.jsonl');
    writeFileSync(file, `${examples.slice(0, 3).join('\n')}\n`);
    const out = fresh('store');
    const auto = run('--bundle', 'tiny-style', '--interactions', file, '--out', out, '--features', 'auto', '--keep-features', '2', '--no-quality', '--json');
    assert.equal(auto.status, 0, auto.stderr);
    const line = /features: (\S+(?:, \S+)?) \(--features auto: of bundle "tiny-style", ranked on the first 3 interactions with context by how far it moves them: (.*)\)/.exec(auto.stderr);
    assert.ok(line !== null, auto.stderr);
    const kept = line[1].split(', ');
    assert.ok(kept.length >= 1 && kept.length <= 2 && kept.every((id) => ['direct', 'casual', 'warm'].includes(id)), line[1]);
    const ranked = [...line[2].matchAll(/(\w+) ([\d.]+)/g)].map((m) => m[1]);
    assert.deepEqual(kept, ranked.slice(0, kept.length).sort((a, b) => ['direct', 'casual', 'warm'].indexOf(a) - ['direct', 'casual', 'warm'].indexOf(b)), 'the best-ranked are kept, in the bundle\'s order');
    assert.deepEqual(AdapterStore.open(out).readState(1).state.config.features?.ids, kept);

    const continued = run('--interactions', file, '--out', out, '--features', 'all', '--no-quality');
    assert.equal(continued.status, 1);
    assert.match(continued.stderr, new RegExp(`holds an adapter \\(version 1\\) confined to its own ${kept.length} features? \\(${kept.join(', ')}\\); --features chooses them for a new adapter only`));
    const again = run('--interactions', file, '--out', out, '--no-quality');
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(AdapterStore.open(out).readState(2).state.config.features?.ids, kept);

    const named = fresh('store');
    const byId = run('--bundle', 'tiny-style', '--interactions', file, '--out', named, '--features', 'warm,direct', '--no-quality');
    assert.equal(byId.status, 0, byId.stderr);
    assert.match(byId.stderr, /features: direct, warm \(of bundle "tiny-style", as --features named them\)/);
    assert.deepEqual(AdapterStore.open(named).readState(1).state.config.features?.ids, ['direct', 'warm']);

    const noContext = fresh('plain.jsonl');
    writeFileSync(noContext, `${JSON.stringify({ prompt: 'hi', reply: 'Hello.', reaction: { kind: 'thumbs', up: true } })}\n`);
    const fallback = run('--bundle', 'tiny-style', '--interactions', noContext, '--out', fresh('store'), '--features', 'auto', '--no-quality');
    assert.equal(fallback.status, 0, fallback.stderr);
    assert.match(fallback.stderr, /features: all 3 of bundle "tiny-style" \(--features auto: no interaction carries context/);
  });

  test('bad input is refused with a clear message and no store is written', () => {
    const file = fresh('good.jsonl');
    writeFileSync(file, `${examples[0]}\n`);
    const refused = (pattern: RegExp, ...args: string[]) => {
      const out = fresh('never');
      const child = run('--interactions', file, '--out', out, ...args);
      assert.equal(child.status, 1, `expected a failure; stdout:\n${child.stdout}\nstderr:\n${child.stderr}`);
      assert.match(child.stderr, pattern);
      assert.equal(existsSync(out), false, `${out} was created`);
    };
    refused(/--kind must be one of write, read, reft, gain, lora.*got 'sideways'/, '--bundle', 'tiny-style', '--kind', 'sideways');
    refused(/--rank must be an integer in \[1, 256\]/, '--bundle', 'tiny-style', '--rank', '0');
    refused(/--kind read \(read-constrained FC-LoRA\) cannot use bundle "tiny-style" at blocks\.1\.post: no layer of this model reads/, '--bundle', 'tiny-style', '--kind', 'read');
    refused(/--kind write \(write-constrained FC-LoRA\) cannot use bundle "too-early" at blocks\.0\.pre: no layer of this model writes/, '--bundle', 'too-early');
    refused(/--targets q_proj cannot go on .*q_proj.* it needs a layer that writes the residual stream/, '--bundle', 'tiny-style', '--targets', 'q_proj');
    refused(/--rank does not apply to --kind gain/, '--bundle', 'tiny-style', '--kind', 'gain', '--rank', '2');
    refused(/bundle "nowhere" not found/, '--bundle', 'nowhere');
    refused(/feature subspace of "tiny-style": it has no feature "loud" \(it has direct, casual, warm\)/, '--bundle', 'tiny-style', '--features', 'direct,loud');
    refused(/--features does not apply to --kind lora/, '--bundle', 'tiny-style', '--kind', 'lora', '--features', 'auto');
    refused(/--keep-features applies to --features auto, not --features all/, '--bundle', 'tiny-style', '--features', 'all', '--keep-features', '2');
    refused(/--keep-features must be an integer >= 1, got '0'/, '--bundle', 'tiny-style', '--keep-features', '0');
    refused(/default bundle "assistant-style" cannot be used: .*pass --bundle/);

    const missing = run('--bundle', 'tiny-style', '--interactions', join(scratch, 'missing.jsonl'), '--out', fresh('never'));
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /--interactions .*missing\.jsonl does not exist/);
    const onlyBad = fresh('bad.jsonl');
    writeFileSync(onlyBad, '{"prompt": 3}\n\n[]\n');
    const out = fresh('never');
    const none = run('--bundle', 'tiny-style', '--interactions', onlyBad, '--out', out);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /:1: prompt must be/);
    assert.match(none.stderr, /:3: .*line skipped/);
    assert.match(none.stderr, /has no valid interaction \(2 non-blank lines, 2 bad\): nothing to learn/);
    assert.equal(existsSync(out), false);
    const notAStore = fresh('occupied');
    mkdirSync(notAStore);
    writeFileSync(join(notAStore, 'notes.txt'), 'mine');
    const occupied = run('--bundle', 'tiny-style', '--interactions', file, '--out', notAStore);
    assert.equal(occupied.status, 1);
    assert.match(occupied.stderr, /is a non-empty directory that is not an adapter store/);
    assert.deepEqual(readdirSync(notAStore), ['notes.txt']);
  });
});
