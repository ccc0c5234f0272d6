import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { AdapterSet, AdapterStore } from '../src/adapt/index.js';
import { loadModel } from '../src/model/load.js';
import { DEFAULT_LIMITS, type ServeOptions, startServer as startInProcess } from '../src/serve/server.js';
import { addUser } from '../src/serve/users.js';
import { TINY_BUNDLE, makeTinyServeModel } from './support/serveModel.js';

// Crash safety of `imprint serve`, with a real server process killed by
// SIGKILL while its worker thread is learning: every feedback the server
// acknowledged is still in the database with its learning job; the adapter
// store's current version is complete and loads; on restart the queue resumes
// and every job finishes, and no update is applied twice (each trained job
// made exactly one version).

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
let scratch: string;
let modelDir: string;
let dataDir: string;
let key: string;
const children = new Set<ChildProcess>();

interface Server { child: ChildProcess; url: string; stderr: () => string }

async function startServer(): Promise<Server> {
  const child = spawn(process.execPath, [cli, 'serve', '--data', dataDir, '--model', modelDir, '--bundle', TINY_BUNDLE, '--port', '0', '--no-quality', '--rank', '2', '--max-tokens', '4', '--rate-limit', '100000', '--burst', '1000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => { err += d; });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start in 30 s: ${err}`)), 30_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+) /.exec(out);
      if (m !== null) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`the server exited (${code}) before listening: ${err}`)); });
  });
  return { child, url, stderr: () => err };
}

async function kill9(server: Server): Promise<void> {
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGKILL');
  await exited;
}

async function post(url: string, path: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

async function adapterState(url: string): Promise<any> {
  return (await fetch(`${url}/v1/adapter?jobs=200`, { headers: { authorization: `Bearer ${key}` } })).json();
}

before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'imprint-serve-crash-'));
  modelDir = makeTinyServeModel(scratch);
  dataDir = join(scratch, 'data');
  const added = spawnSync(process.execPath, [cli, 'users', 'add', 'maya', '--data', dataDir, '--json'], { encoding: 'utf8' });
  assert.equal(added.status, 0, added.stderr);
  key = JSON.parse(added.stdout).key;
  const listed = spawnSync(process.execPath, [cli, 'users', 'list', '--data', dataDir], { encoding: 'utf8' });
  assert.match(listed.stdout, /^maya {2}keys: imp_/);
  assert.ok(!listed.stdout.includes(key), 'the list shows key prefixes only');
  const zed = spawnSync(process.execPath, [cli, 'users', 'add', 'zed', '--data', dataDir], { encoding: 'utf8' });
  assert.match(zed.stdout, /API key .*\nimp_\S{43}\n/);
  assert.equal(spawnSync(process.execPath, [cli, 'users', 'add', 'zed', '--data', dataDir], { encoding: 'utf8' }).status, 1, 'a name is taken once');
  assert.match(spawnSync(process.execPath, [cli, 'users', 'revoke', 'zed', '--data', dataDir], { encoding: 'utf8' }).stdout, /revoked user zed \(1 key\)/);
  assert.match(spawnSync(process.execPath, [cli, 'users', 'list', '--data', dataDir], { encoding: 'utf8' }).stdout, /^zed \[revoked\] {2}keys: imp_\S+\.\.\. \(revoked\)/m);
});
after(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});

describe('imprint serve: kill -9', () => {
  test('acknowledged feedback survives, the adapter stays whole, the queue resumes on restart, and no update is applied twice', async () => {
    const acknowledged: string[] = [];
    // Jobs a kill left running: the next start must say it put them back in the queue.
    let interrupted = 0;
    for (let round = 0; round < 2; round++) {
      const server = await startServer();
      const expectResume = interrupted > 0;
      const completion = await post(server.url, '/v1/chat/completions', { model: 'model', messages: [{ role: 'user', content: `Set a timer, round ${round}.` }] });
      assert.equal(completion.status, 200, JSON.stringify(completion.body));
      // Corrections with a reply to learn from train (they pass the gate), so the worker commits versions while we kill it.
      for (let i = 0; i < 24; i++) {
        const fb = await post(server.url, '/v1/feedback', { completion_id: completion.body.id, reaction: 'correction', text: `Be direct (${round}.${i}).`, corrected_reply: 'Timer set.' });
        assert.equal(fb.status, 202, JSON.stringify(fb.body));
        acknowledged.push(fb.body.id);
      }
      // Kill while the worker is part way through the queue.
      for (let waited = 0; ; waited += 5) {
        const state = await adapterState(server.url);
        if (state.queue.done >= 3 + round * 25 || waited > 20_000) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      await kill9(server);
      if (expectResume) assert.match(server.stderr(), /resumed the learning queue: \d+ interrupted job/);

      // Straight after the kill, before any restart: everything acknowledged is on disk.
      const db = new Database(join(dataDir, 'imprint.sqlite'), { readonly: true });
      const stored = new Set((db.prepare('SELECT id FROM feedback').all() as { id: string }[]).map((r) => r.id));
      const jobs = db.prepare('SELECT feedback_id, state FROM learn_jobs WHERE feedback_id IS NOT NULL').all() as { feedback_id: string; state: string }[];
      db.close();
      for (const id of acknowledged) assert.ok(stored.has(id), `acknowledged feedback ${id} was lost`);
      assert.deepEqual(new Set(jobs.map((j) => j.feedback_id)), new Set(acknowledged));
      assert.ok(jobs.some((j) => j.state !== 'done'), 'the kill came before the queue was empty (else the test proves less)');
      interrupted = jobs.filter((j) => j.state === 'running').length;
      const storeDir = join(dataDir, 'adapters', readdirSync(join(dataDir, 'adapters'))[0]);
      const store = AdapterStore.open(storeDir);
      assert.doesNotThrow(() => store.readState(store.current()!));
      assert.ok(!readdirSync(join(storeDir, 'versions')).some((n) => n.startsWith('.tmp')), 'open() removed what a crashed commit left');
    }

    const server = await startServer();
    try {
      let state: any;
      for (const until = Date.now() + 120_000; ;) {
        state = await adapterState(server.url);
        // Idle, and no commit caught half way (a version published whose HEAD update is a moment behind).
        const settled = state.current_version === state.versions[state.versions.length - 1]?.version;
        if ((state.queue.pending === 0 && state.queue.running === 0 && settled) || Date.now() > until) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(state.queue.pending + state.queue.running, 0, JSON.stringify(state.queue));
      assert.equal(state.queue.failed, 0, JSON.stringify(state.jobs.filter((j: any) => j.state === 'failed')));
      // A kill between two steps leaves no job running; one during a step leaves it running, and the restart requeues it.
      if (interrupted > 0) assert.match(server.stderr(), /resumed the learning queue: \d+ interrupted job/);
      // Every trained job made exactly one version: none was learned from twice after a restart.
      const byJob = new Map<number, number>();
      for (const v of state.versions) {
        if (v.metrics.queueJob !== undefined) byJob.set(v.metrics.queueJob, (byJob.get(v.metrics.queueJob) ?? 0) + 1);
      }
      assert.ok([...byJob.values()].every((n) => n === 1), JSON.stringify([...byJob]));
      const trained = state.jobs.filter((j: any) => j.result?.trained === true);
      assert.ok(trained.length >= 40, `${trained.length} trained jobs`);
      assert.deepEqual(new Set(trained.map((j: any) => j.id)), new Set(byJob.keys()));
      assert.equal(state.current_version, state.versions[state.versions.length - 1].version);
      const reply = await post(server.url, '/v1/chat/completions', { model: 'model', messages: [{ role: 'user', content: 'Still there?' }] });
      assert.equal(reply.status, 200);
      assert.equal(reply.body.imprint.adapter_version, state.current_version);
    } finally {
      const exited = new Promise((resolve) => server.child.once('exit', resolve));
      server.child.kill('SIGTERM');
      await exited;
      assert.ok(!existsSync(join(dataDir, 'adapters', '1', 'LOCK')), 'a clean stop leaves no lock');
    }
  });
});

describe('imprint serve: a crash between the commit and "done"', () => {
  test('the job whose update is already the current version is marked done on restart, not learned from again', async () => {
    const data = join(scratch, 'data-recover');
    const options = (learn: boolean): ServeOptions => ({
      dataDir: data, modelDir, bundle: TINY_BUNDLE, host: '127.0.0.1', port: 0, rank: 2, seed: 0, learn, quality: false, learner: { seed: 0 },
      rateLimit: { perMinute: 6000, burst: 1000 }, limits: { ...DEFAULT_LIMITS, defaultMaxTokens: 4 },
    });
    // Without a learner: a completion and a feedback leave one pending job.
    const first = await startInProcess(options(false));
    const user = addUser(first.db, 'ines');
    const headers = { authorization: `Bearer ${user.key}`, 'content-type': 'application/json' };
    const c = await (await fetch(`${first.url}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify({ model: 'model', messages: [{ role: 'user', content: 'hi' }] }) })).json() as any;
    const fb = await (await fetch(`${first.url}/v1/feedback`, { method: 'POST', headers, body: JSON.stringify({ completion_id: c.id, reaction: 'up' }) })).json() as any;
    const jobId = fb.job.id as number;
    // What a worker killed right after its commit leaves: the job running, a version naming it.
    first.db.prepare("UPDATE learn_jobs SET state = 'running', attempts = 1 WHERE id = ?").run(jobId);
    await first.close();
    const storeDir = join(data, 'adapters', String(user.user.id));
    const store = AdapterStore.open(storeDir);
    const loaded = loadModel(modelDir);
    const set = AdapterSet.fromState(loaded.model, store.readState(1).state);
    store.commit(set, { ifCurrent: 1, metrics: { source: 'test', queueJob: jobId } });

    const second = await startInProcess(options(true));
    try {
      for (const until = Date.now() + 120_000; ;) {
        const row = second.db.prepare('SELECT state, result_json FROM learn_jobs WHERE id = ?').get(jobId) as { state: string; result_json: string | null };
        if (row.state === 'done') {
          assert.equal(JSON.parse(row.result_json!).recovered, true);
          break;
        }
        assert.ok(Date.now() < until, `job ${jobId} is still ${row.state}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual(store.versions(), [1, 2]);
      assert.equal(store.current(), 2);
    } finally {
      await second.close();
    }
  });
});
