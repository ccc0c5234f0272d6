import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildReport, type LoadtestReport } from '../src/serve/loadtest/run.js';
import { percentile, summarize } from '../src/serve/loadtest/stats.js';
import { type UserEvidence, verify } from '../src/serve/loadtest/verify.js';
import { TINY_BUNDLE, makeTinyServeModel } from './support/serveModel.js';

// `imprint loadtest`: the nearest-rank percentile against hand-computed values,
// the verification against hand-made cases (a lost feedback, a job not applied),
// and a short end-to-end run on the tiny model (its own server process, 2 users).

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

describe('percentile (nearest rank)', () => {
  test('hand-computed values', () => {
    // The textbook example: 15, 20, 35, 40, 50 (given unsorted).
    const xs = [40, 15, 50, 35, 20];
    assert.equal(percentile(xs, 0), 15);
    assert.equal(percentile(xs, 5), 15); // ceil(0.25) = rank 1
    assert.equal(percentile(xs, 30), 20); // ceil(1.5) = 2
    assert.equal(percentile(xs, 40), 20); // 0.4 * 5 = 2 exactly: rank 2
    assert.equal(percentile(xs, 50), 35); // ceil(2.5) = 3
    assert.equal(percentile(xs, 95), 50); // ceil(4.75) = 5
    assert.equal(percentile(xs, 100), 50);
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 .. 1
    assert.equal(percentile(hundred, 50), 50);
    assert.equal(percentile(hundred, 95), 95);
    assert.equal(percentile(hundred, 99), 99);
    assert.equal(percentile(hundred, 99.5), 100);
    // 10 values: p95 and p99 both rank 10, p50 rank 5.
    const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 1000];
    assert.equal(percentile(ten, 50), 5);
    assert.equal(percentile(ten, 95), 1000);
    assert.equal(percentile(ten, 90), 9);
    assert.equal(percentile([7], 99), 7);
    assert.equal(percentile([], 50), null);
    assert.deepEqual(xs, [40, 15, 50, 35, 20], 'the input is not sorted in place');
    assert.throws(() => percentile(xs, 101), RangeError);
    assert.throws(() => percentile(xs, Number.NaN), RangeError);
    assert.deepEqual(summarize([40, 15, 50, 35, 20]), { n: 5, p50: 35, p95: 50, p99: 50, mean: 32, max: 50 });
    assert.deepEqual(summarize([]), { n: 0, p50: null, p95: null, p99: null, mean: null, max: null });
  });
});

describe('verify', () => {
  const good = (): UserEvidence => ({
    user: 'a',
    acknowledged: [{ completionId: 'c1', feedbackId: 'f1', jobId: 2 }, { completionId: 'c2', feedbackId: 'f2', jobId: 3 }],
    completions: {
      c1: { feedback: [{ id: 'f1' }], jobs: [{ id: 1, state: 'done', feedback_id: null, result: { trained: false } }, { id: 2, state: 'done', feedback_id: 'f1', result: { trained: true, version: 2 } }] },
      c2: { feedback: [{ id: 'f2' }], jobs: [{ id: 3, state: 'failed', feedback_id: 'f2', result: { error: 'the learner step failed: boom' } }] },
    },
    adapter: {
      queue: { pending: 0, running: 0, done: 2, failed: 1 },
      jobs: [
        { id: 3, state: 'failed', feedback_id: 'f2', result: { error: 'the learner step failed: boom' } },
        { id: 2, state: 'done', feedback_id: 'f1', result: { trained: true, version: 2 } },
        { id: 1, state: 'done', feedback_id: null, result: { trained: false } },
      ],
      versions: [{ version: 1, metrics: { source: 'imprint serve' } }, { version: 2, metrics: { queueJob: 2 } }],
    },
  });

  test('a complete run is ok, with its counts', () => {
    const v = verify([good()]);
    assert.deepEqual(v.problems, []);
    assert.equal(v.ok, true);
    assert.deepEqual(v.feedback, { acknowledged: 2, found: 2, lost: 0 });
    assert.deepEqual(v.jobs, { total: 3, applied: 2, trained: 1, gated: 1, failed: 1, notApplied: 0, failedReasons: { 'the learner step failed: boom': 1 } });
    assert.equal(v.versions, 1);
  });

  test('a missing feedback is reported as lost and fails', () => {
    const e = good();
    e.completions.c1 = { feedback: [], jobs: e.completions.c1!.jobs };
    const v = verify([e]);
    assert.equal(v.ok, false);
    assert.equal(v.feedback.lost, 1);
    assert.equal(v.feedback.found, 1);
    assert.match(v.problems.join('\n'), /feedback f1 \(completion c1\) was acknowledged but is not in its completion's feedback/);
    // Its completion gone, or its job gone, is a loss too.
    const gone = good();
    gone.completions.c2 = null;
    assert.match(verify([gone]).problems.join('\n'), /feedback f2 .* its completion is not found/);
    const noJob = good();
    noJob.completions.c1!.jobs = noJob.completions.c1!.jobs.filter((j) => j.feedback_id !== 'f1');
    assert.match(verify([noJob]).problems.join('\n'), /feedback f1 .* no learning job is queued for it/);
  });

  test('a job not applied, or trained without exactly one version naming it, fails', () => {
    const pending = good();
    pending.adapter.jobs[2] = { id: 1, state: 'pending', feedback_id: null, result: null };
    pending.adapter.queue = { pending: 1, running: 0, done: 1, failed: 1 };
    const v = verify([pending]);
    assert.equal(v.ok, false);
    assert.equal(v.jobs.notApplied, 1);
    assert.match(v.problems.join('\n'), /job 1 is still pending/);
    const noVersion = good();
    noVersion.adapter.versions = [{ version: 1, metrics: {} }];
    assert.match(verify([noVersion]).problems.join('\n'), /job 2 trained but 0 versions name it/);
    const twice = good();
    twice.adapter.versions.push({ version: 3, metrics: { queueJob: 2 } });
    assert.match(verify([twice]).problems.join('\n'), /job 2 trained but 2 versions name it/);
    const silent = good();
    silent.adapter.jobs[0] = { id: 3, state: 'failed', feedback_id: 'f2', result: {} };
    assert.match(verify([silent]).problems.join('\n'), /job 3 failed without a reason/);
    const missing = good();
    missing.adapter.jobs.pop();
    assert.match(verify([missing]).problems.join('\n'), /the queue counts 3 jobs but 2 were listed/);
  });

  test('the report fails on a 5xx or a request with no answer, and not on a 429', () => {
    const config = { users: 1, durationS: 1, maxTokens: 4, feedbackRate: 1, streamRate: 0.5, seed: 0 };
    const drain = { seconds: 0.5, drained: true, timeoutS: 10 };
    const ok = buildReport(config, 'http://x', 'm', [
      { kind: 'completion', user: 'a', stream: false, status: 200, ms: 10, completionTokens: 4 },
      { kind: 'completion', user: 'a', stream: false, status: 429, ms: 1 },
      { kind: 'feedback', user: 'a', stream: false, status: 202, ms: 3 },
    ], 2, drain, verify([good()]));
    assert.equal(ok.ok, true, ok.problems.join('\n'));
    assert.equal(ok.load.throughput.completionTokensPerS, 2);
    assert.deepEqual(ok.load.errors.byStatus, { 429: 1 });
    const bad = buildReport(config, 'http://x', 'm', [
      { kind: 'completion', user: 'a', stream: true, status: 500, ms: 10 },
      { kind: 'feedback', user: 'a', stream: false, status: 0, ms: 3, error: 'fetch failed' },
      { kind: 'completion', user: 'a', stream: true, status: 200, ms: 10, completionTokens: 4, firstTokenMs: 2 },
    ], 2, { ...drain, drained: false }, verify([good()]));
    assert.equal(bad.ok, false);
    assert.match(bad.problems.join('\n'), /1 request\(s\) answered 5xx/);
    assert.match(bad.problems.join('\n'), /got no answer/);
    assert.match(bad.problems.join('\n'), /did not drain/);
  });
});

describe('imprint loadtest, end to end on the tiny model', () => {
  let scratch: string;
  let modelDir: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'imprint-loadtest-'));
    modelDir = makeTinyServeModel(scratch);
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  test('2 users, 3 s: a full report, no feedback lost, every job applied', async () => {
    const child = spawn(process.execPath, [cli, 'loadtest', '--users', '2', '--duration', '3', '--max-tokens', '4', '--feedback-rate', '0.7', '--drain-timeout', '40',
      '--model', modelDir, '--bundle', TINY_BUNDLE, '--serve-arg=--no-quality', '--serve-arg=--rank=2', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, `${out}\n${err}`);
    const report = JSON.parse(out) as LoadtestReport;
    assert.equal(report.ok, true, report.problems.join('\n'));
    assert.equal(report.config.users, 2);
    assert.ok(report.load.requests.completions >= 4, JSON.stringify(report.load.requests));
    assert.ok(report.load.requests.streamed > 0 && report.load.requests.streamed < report.load.requests.completions, 'a mix of streamed and not');
    assert.ok(report.load.requests.feedback > 0);
    assert.ok(report.load.wallS >= 3 && report.load.wallS < 30, String(report.load.wallS));
    assert.ok(report.load.throughput.requestsPerS > 0 && report.load.throughput.completionTokensPerS > 0);
    for (const s of [report.load.latencyMs.completion, report.load.latencyMs.feedback, report.load.latencyMs.completionFirstToken]) {
      assert.ok(s.n > 0 && s.p50! > 0 && s.p50! <= s.p95! && s.p95! <= s.p99! && s.p99! <= s.max!, JSON.stringify(s));
    }
    assert.equal(report.load.latencyMs.completion.n, report.load.requests.completions);
    assert.equal(report.load.errors.total, 0, JSON.stringify(report.load.errors));
    assert.equal(report.drain.drained, true);
    assert.equal(report.feedback.lost, 0);
    assert.equal(report.feedback.acknowledged, report.load.requests.feedback);
    assert.equal(report.feedback.found, report.feedback.acknowledged);
    // Every feedback queued a job, and so did every completion that got none and was followed by another.
    assert.ok(report.learner.total >= report.feedback.acknowledged, JSON.stringify(report.learner));
    assert.equal(report.learner.notApplied, 0);
    assert.equal(report.learner.failed, 0, JSON.stringify(report.learner.failedReasons));
    assert.equal(report.learner.applied, report.learner.total);
    assert.ok(report.learner.trained > 0, 'corrections with a reply train on the tiny model');
    assert.equal(report.learner.versions, report.learner.trained);
    assert.match(err, /drain: waiting/);
  });

  test('--url and --keys: a server already running, its rate limit answered by waiting', async () => {
    const data = join(scratch, 'running');
    const keysFile = join(scratch, 'keys.jsonl');
    const keys = ['ana', 'bo'].map((name) => {
      const added = spawnSync(process.execPath, [cli, 'users', 'add', name, '--data', data, '--json'], { encoding: 'utf8' });
      assert.equal(added.status, 0, added.stderr);
      return added.stdout.trim();
    });
    writeFileSync(keysFile, `${keys.join('\n')}\n`);
    // A tight rate limit (burst 5, 120 a minute): the load meets 429s and waits them out.
    const server = spawn(process.execPath, [cli, 'serve', '--data', data, '--model', modelDir, '--bundle', TINY_BUNDLE, '--port', '0', '--no-quality', '--rank', '2',
      '--max-tokens', '4', '--rate-limit', '120', '--burst', '5'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        server.stdout.on('data', (d) => {
          out += d;
          const m = /listening on (http:\/\/\S+) /.exec(out);
          if (m !== null) resolve(m[1]);
        });
        server.once('exit', (code) => reject(new Error(`the server exited (${code})`)));
      });
      const run = spawnSync(process.execPath, [cli, 'loadtest', '--url', url, '--keys', keysFile, '--users', '2', '--duration', '2', '--max-tokens', '4', '--drain-timeout', '30', '--json'], { encoding: 'utf8' });
      assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
      const report = JSON.parse(run.stdout) as LoadtestReport;
      assert.equal(report.ok, true, report.problems.join('\n'));
      assert.ok((report.load.statuses['429'] ?? 0) > 0, `the rate limit was met: ${JSON.stringify(report.load.statuses)}`);
      assert.equal(report.feedback.lost, 0);
      assert.equal(report.learner.notApplied, 0);
    } finally {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
  });

  test('flags are checked: --duration over 60 s is refused', async () => {
    const child = spawn(process.execPath, [cli, 'loadtest', '--duration', '61'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 1);
    assert.match(err, /--duration must be a number of seconds in \(0, 60\]/);
  });
});
