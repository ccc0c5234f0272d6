import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { DB_FILE, openDatabase } from '../db.js';
import { addUser } from '../users.js';
import { type LoadUser, type RequestRecord, runLoad } from './client.js';
import { type LatencySummary, summarize } from './stats.js';
import { type ServerCompletion, type UserEvidence, type Verification, verify } from './verify.js';

// `imprint loadtest`: a bounded load test of `imprint serve` over loopback.
//   1. a server: its own child process (`imprint serve --port 0`) on a fresh
//      data directory with N new users, or one already running (--url, --keys);
//   2. the load: N concurrent client loops for the duration (client.ts);
//   3. the drain: no more requests; wait (bounded) until every user's learning
//      queue has nothing pending or running (GET /v1/adapter);
//   4. the check: every acknowledged feedback is stored with its job, and every
//      job was applied (verify.ts);
//   5. the report: throughput, latency percentiles, errors, drain time, learner updates.

export interface LoadtestOptions {
  users: number;
  durationS: number;
  maxTokens: number;
  feedbackRate: number;
  streamRate: number;
  seed: number;
  drainTimeoutS: number;
  /** Own server: its data directory (default: a fresh temporary one, removed afterwards), model, bundle and extra `imprint serve` flags. */
  dataDir?: string;
  modelDir?: string;
  bundle?: string;
  serveArgs: string[];
  keepData: boolean;
  /** A running server instead, and its users' keys. */
  url?: string;
  keys?: LoadUser[];
  /** Progress lines (stderr). */
  log: (line: string) => void;
}

export interface LoadtestReport {
  ok: boolean;
  config: { users: number; durationS: number; maxTokens: number; feedbackRate: number; streamRate: number; seed: number; server: string; model: string };
  load: {
    wallS: number;
    requests: { total: number; completions: number; streamed: number; feedback: number };
    throughput: { requestsPerS: number; completionsPerS: number; completionTokensPerS: number };
    completionTokens: number;
    latencyMs: { completion: LatencySummary; completionFirstToken: LatencySummary; feedback: LatencySummary };
    statuses: Record<string, number>;
    errors: { total: number; byStatus: Record<string, number>; serverErrors: number; network: number; other: number; samples: string[] };
  };
  drain: { seconds: number; drained: boolean; timeoutS: number };
  learner: Verification['jobs'] & { versions: number };
  feedback: Verification['feedback'];
  problems: string[];
}

const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

interface OwnServer { child: ChildProcess; url: string; logPath: string; stop(): Promise<void> }

async function startOwnServer(dataDir: string, options: LoadtestOptions): Promise<OwnServer> {
  const args = [CLI, 'serve', '--data', dataDir, '--port', '0', '--host', '127.0.0.1',
    // The load test measures the server, not its per-key rate limit (60 a minute by default).
    '--rate-limit', '1000000', '--burst', '1000000', '--max-tokens-limit', String(Math.max(256, options.maxTokens)),
    ...(options.modelDir === undefined ? [] : ['--model', options.modelDir]), ...(options.bundle === undefined ? [] : ['--bundle', options.bundle]), ...options.serveArgs];
  const logPath = join(dataDir, 'loadtest-server.log');
  const logFile = createWriteStream(logPath);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.pipe(logFile);
  let out = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`the server did not start in 120 s (its log: ${logPath})`)); }, 120_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+) /.exec(out);
      if (m !== null) { clearTimeout(timer); resolveUrl(m[1]); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the server exited (${code}) before listening: ${readFileSync(logPath, 'utf8').slice(-2000)}`)); });
  });
  let stopped: Promise<void> | null = null;
  return {
    child, url, logPath,
    stop: () => {
      stopped ??= new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) { done(); return; }
        const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
        child.once('exit', () => { clearTimeout(kill); logFile.end(); done(); });
        child.kill('SIGTERM');
      });
      return stopped;
    },
  };
}

async function getJson(url: string, key: string, path: string): Promise<{ status: number; body: any }> {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${key}` }, signal: AbortSignal.timeout(60_000) });
    const body = await response.json();
    if (response.status !== 429 || attempt >= 20) return { status: response.status, body };
    await sleep(Math.max(0.1, Number(response.headers.get('retry-after') ?? '1')) * 1000);
  }
}

/** Reads a --keys file: one key a line, or `imprint users add --json` lines ({"user", "key"}). */
export function readKeys(path: string): LoadUser[] {
  const users: LoadUser[] = [];
  for (const [i, raw] of readFileSync(path, 'utf8').split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('{')) {
      const parsed = JSON.parse(line) as { user?: string; key?: string };
      if (typeof parsed.key !== 'string') throw new RangeError(`${path}:${i + 1}: a JSON line needs "key"`);
      users.push({ name: parsed.user ?? `key-${users.length + 1}`, key: parsed.key });
    } else users.push({ name: `key-${users.length + 1}`, key: line });
  }
  if (users.length === 0) throw new RangeError(`${path} has no keys`);
  return users;
}

export async function runLoadtest(options: LoadtestOptions): Promise<LoadtestReport> {
  const log = options.log;
  let own: OwnServer | null = null;
  let scratch: string | null = null;
  let url: string;
  let users: LoadUser[];
  try {
    if (options.url !== undefined) {
      url = options.url.replace(/\/+$/, '');
      users = options.keys!.slice(0, options.users);
      if (users.length < options.users) throw new RangeError(`--users ${options.users} but the keys file has only ${users.length} key(s)`);
    } else {
      const dataDir = options.dataDir === undefined ? (scratch = mkdtempSync(join(tmpdir(), 'imprint-loadtest-'))) : resolve(options.dataDir);
      mkdirSync(dataDir, { recursive: true });
      const db = openDatabase(join(dataDir, DB_FILE));
      const stamp = Date.now().toString(36);
      try {
        users = Array.from({ length: options.users }, (_, i) => {
          const { user, key } = addUser(db, `load-${stamp}-${i + 1}`);
          return { name: user.name, key };
        });
      } finally {
        db.close();
      }
      log(`starting imprint serve on ${dataDir} with ${users.length} new users...`);
      const t0 = performance.now();
      own = await startOwnServer(dataDir, options);
      url = own.url;
      log(`server up at ${url} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }

    const models = await getJson(url, users[0].key, '/v1/models');
    if (models.status !== 200) throw new Error(`GET /v1/models answered ${models.status}: ${JSON.stringify(models.body).slice(0, 300)}`);
    const model = models.body.data[0].id as string;

    log(`load: ${users.length} users for ${options.durationS} s (max_tokens ${options.maxTokens}, feedback rate ${options.feedbackRate})...`);
    let lastLine = performance.now();
    const load = await runLoad({
      url, model, users, durationS: options.durationS, maxTokens: options.maxTokens, feedbackRate: options.feedbackRate, streamRate: options.streamRate,
      seed: options.seed, requestTimeoutMs: 120_000,
    }, (n) => {
      if (performance.now() - lastLine > 10_000) { lastLine = performance.now(); log(`  ${n} requests so far`); }
    });

    // The drain: wait until no user has a job pending or running.
    log(`drain: waiting (at most ${options.drainTimeoutS} s) for the learning queues...`);
    const drainStart = performance.now();
    let drained = false;
    let lastProgress = 0;
    while (true) {
      let left = 0;
      let done = 0;
      for (const u of users) {
        const a = await getJson(url, u.key, '/v1/adapter?jobs=0');
        if (a.status !== 200) throw new Error(`GET /v1/adapter for ${u.name} answered ${a.status}: ${JSON.stringify(a.body).slice(0, 300)}`);
        left += a.body.queue.pending + a.body.queue.running;
        done += a.body.queue.done + a.body.queue.failed;
      }
      const waited = (performance.now() - drainStart) / 1000;
      if (left === 0) { drained = true; break; }
      if (waited >= options.drainTimeoutS) break;
      if (performance.now() - lastProgress > 5000) { lastProgress = performance.now(); log(`  ${waited.toFixed(0)} s: ${left} job(s) pending or running, ${done} finished`); }
      await sleep(250);
    }
    const drainS = (performance.now() - drainStart) / 1000;

    // The evidence, per user.
    const evidence: UserEvidence[] = [];
    for (const u of users) {
      const adapter = await getJson(url, u.key, '/v1/adapter?jobs=999999999');
      if (adapter.status !== 200) throw new Error(`GET /v1/adapter for ${u.name} answered ${adapter.status}`);
      const acknowledged = load.acknowledged.get(u.name) ?? [];
      const completions: Record<string, ServerCompletion | null> = {};
      for (const id of new Set(acknowledged.map((a) => a.completionId))) {
        const c = await getJson(url, u.key, `/v1/chat/completions/${encodeURIComponent(id)}`);
        completions[id] = c.status === 200 ? { feedback: c.body.imprint.feedback, jobs: c.body.imprint.jobs } : null;
      }
      evidence.push({ user: u.name, acknowledged, completions, adapter: { queue: adapter.body.queue, jobs: adapter.body.jobs, versions: adapter.body.versions } });
    }
    const verification = verify(evidence);
    const report = buildReport(options, url, model, load.records, load.wallS, { seconds: drainS, drained, timeoutS: options.drainTimeoutS }, verification);
    if (!report.ok && own !== null) log(`the server's log: ${own.logPath}${scratch !== null && !options.keepData ? ' (removed with the temporary data directory; --keep to keep it)' : ''}`);
    return report;
  } finally {
    await own?.stop();
    if (scratch !== null && !options.keepData) rmSync(scratch, { recursive: true, force: true });
    else if (scratch !== null) log(`data kept in ${scratch}`);
  }
}

export function buildReport(options: Pick<LoadtestOptions, 'users' | 'durationS' | 'maxTokens' | 'feedbackRate' | 'streamRate' | 'seed'>, url: string, model: string,
  records: readonly RequestRecord[], wallS: number, drain: LoadtestReport['drain'], verification: Verification): LoadtestReport {
  const completions = records.filter((r) => r.kind === 'completion');
  const feedback = records.filter((r) => r.kind === 'feedback');
  const okCompletions = completions.filter((r) => r.status === 200 && r.error === undefined);
  const tokens = okCompletions.reduce((s, r) => s + (r.completionTokens ?? 0), 0);
  const statuses: Record<string, number> = {};
  for (const r of records) statuses[String(r.status)] = (statuses[String(r.status)] ?? 0) + 1;
  const failed = records.filter((r) => r.error !== undefined || r.status === 0 || r.status >= 400);
  const byStatus: Record<string, number> = {};
  for (const r of failed) byStatus[r.status === 0 ? 'no answer' : String(r.status)] = (byStatus[r.status === 0 ? 'no answer' : String(r.status)] ?? 0) + 1;
  const serverErrors = failed.filter((r) => r.status >= 500).length;
  const network = failed.filter((r) => r.status === 0).length;
  // Errors inside a 200 (a stream's error event, a malformed answer) count as failures too.
  const other = failed.filter((r) => r.status > 0 && r.status < 500 && r.error !== undefined).length;
  const rate = (n: number) => (wallS > 0 ? Math.round((n / wallS) * 100) / 100 : 0);
  const problems = [...verification.problems];
  if (serverErrors > 0) problems.push(`${serverErrors} request(s) answered 5xx`);
  if (network > 0) problems.push(`${network} request(s) got no answer (network error or timeout)`);
  if (other > 0) problems.push(`${other} request(s) answered 2xx/4xx with an error (${[...new Set(failed.filter((r) => r.status > 0 && r.error !== undefined).map((r) => r.error))].slice(0, 3).join('; ')})`);
  const refused = failed.filter((r) => r.status >= 400 && r.status < 500 && r.status !== 429).length;
  if (refused > 0) problems.push(`${refused} request(s) refused with a 4xx other than 429 (the load's requests should all be valid)`);
  if (!drain.drained) problems.push(`the learning queues did not drain in ${drain.timeoutS} s`);
  if (okCompletions.length === 0) problems.push('no completion succeeded');
  return {
    ok: problems.length === 0,
    config: { users: options.users, durationS: options.durationS, maxTokens: options.maxTokens, feedbackRate: options.feedbackRate, streamRate: options.streamRate, seed: options.seed, server: url, model },
    load: {
      wallS: Math.round(wallS * 100) / 100,
      requests: { total: records.length, completions: completions.length, streamed: completions.filter((r) => r.stream).length, feedback: feedback.length },
      throughput: { requestsPerS: rate(records.length), completionsPerS: rate(okCompletions.length), completionTokensPerS: rate(tokens) },
      completionTokens: tokens,
      latencyMs: {
        completion: summarize(okCompletions.map((r) => r.ms)),
        completionFirstToken: summarize(okCompletions.filter((r) => r.firstTokenMs !== undefined).map((r) => r.firstTokenMs!)),
        feedback: summarize(feedback.filter((r) => r.status === 202).map((r) => r.ms)),
      },
      statuses,
      errors: { total: failed.length, byStatus, serverErrors, network, other, samples: [...new Set(failed.map((r) => `${r.kind} ${r.status}: ${r.error ?? ''}`))].slice(0, 5) },
    },
    drain: { seconds: Math.round(drain.seconds * 10) / 10, drained: drain.drained, timeoutS: drain.timeoutS },
    learner: { ...verification.jobs, versions: verification.versions },
    feedback: verification.feedback,
    problems,
  };
}

const ms = (x: number | null) => (x === null ? '-' : `${Math.round(x)} ms`);
const line = (name: string, s: LatencySummary) => `  ${name.padEnd(22)} n ${String(s.n).padStart(5)}   p50 ${ms(s.p50).padStart(8)}   p95 ${ms(s.p95).padStart(8)}   p99 ${ms(s.p99).padStart(8)}   max ${ms(s.max).padStart(8)}`;

export function formatReport(r: LoadtestReport): string {
  const l = r.load;
  const errors = l.errors.total === 0 ? 'none' : Object.entries(l.errors.byStatus).map(([s, n]) => `${s}: ${n}`).join(', ');
  const reasons = Object.entries(r.learner.failedReasons).map(([why, n]) => `\n    ${n} x ${why}`).join('');
  return [
    `imprint loadtest: ${r.config.users} users, ${r.config.durationS} s, max_tokens ${r.config.maxTokens}, feedback rate ${r.config.feedbackRate}, model ${r.config.model} at ${r.config.server}`,
    `requests     ${l.requests.total} in ${l.wallS} s (${l.requests.completions} completions, ${l.requests.streamed} of them streamed; ${l.requests.feedback} feedback)`,
    `throughput   ${l.throughput.requestsPerS} req/s, ${l.throughput.completionsPerS} completions/s, ${l.throughput.completionTokensPerS} completion tokens/s (${l.completionTokens} tokens)`,
    'latency',
    line('completion (whole)', l.latencyMs.completion),
    line('stream first token', l.latencyMs.completionFirstToken),
    line('feedback (202)', l.latencyMs.feedback),
    `statuses     ${Object.entries(l.statuses).map(([s, n]) => `${s === '0' ? 'no answer' : s}: ${n}`).join(', ')}`,
    `errors       ${errors}`,
    `drain        ${r.drain.drained ? `queues empty after ${r.drain.seconds} s` : `NOT drained after ${r.drain.seconds} s`}`,
    `learner      ${r.learner.total} jobs: ${r.learner.applied} applied (${r.learner.trained} trained, one version each; ${r.learner.gated} gated), ${r.learner.failed} failed, ${r.learner.notApplied} not applied${reasons}`,
    `feedback     ${r.feedback.acknowledged} acknowledged (202), ${r.feedback.found} found with their jobs, ${r.feedback.lost} lost`,
    r.ok ? 'OK: no feedback lost, every queued job applied, no 5xx' : `FAILED:\n${r.problems.slice(0, 20).map((p) => `  - ${p}`).join('\n')}${r.problems.length > 20 ? `\n  ... and ${r.problems.length - 20} more` : ''}`,
  ].join('\n');
}
