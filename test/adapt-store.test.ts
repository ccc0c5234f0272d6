import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Worker, threadId } from 'node:worker_threads';
import {
  AdapterSet, type AdapterSetState, AdapterStore, AdapterStoreError, AdapterStoreLockError, type CommitStep, type FeatureSpace,
  LOCK_FILE, type StoredLearnerState, featureSpaceFromDirections, removeLockOfEndedThread,
} from '../src/adapt/index.js';
import { SafetensorsFile } from '../src/io/safetensors.js';
import type { CausalLm } from '../src/model/causalLm.js';
import { withInferenceTape } from '../src/model/inference.js';
import { Random, type Tensor } from '../src/tensor/index.js';
import { randomModel, tinyConfigs } from './support/randomModels.js';

// The adapter store: a version per update with its metrics, rollback as a new
// version, retention with pins, atomic publication (in-process failures and
// real crashes of a writer process at every step), corrupt files reported per
// version, two writer processes racing for version numbers, and the learner
// state a version can carry.

const scratch = mkdtempSync(join(tmpdir(), 'imprint-adapt-store-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let dirCount = 0;
const freshDir = () => join(scratch, `store-${dirCount++}`);
const storeModule = new URL('../src/adapt/store/index.js', import.meta.url).href;

function space(seed: number): FeatureSpace {
  const rng = new Random(seed);
  return featureSpaceFromDirections({ name: 'tone', hookPoint: 'blocks.0.post', width: 16, ids: ['formal', 'warm', 'brief'], directions: Float32Array.from({ length: 48 }, () => rng.normal()) });
}

function randomize(params: Tensor[], seed: number, std: number): void {
  const rng = new Random(seed);
  for (const p of params) rng.fillNormal(p.data, std);
}

function logitsOf(model: CausalLm, set: AdapterSet): Float64Array {
  const ids = Int32Array.from([3, 1, 4, 1, 5, 9, 2, 6]);
  return withInferenceTape((tape) => Float64Array.from(model.forward(tape, ids, 1, ids.length, set.forwardOptions()).logits!.data));
}

/** A model and a set with FC kinds, a residual adapter and a representation edit, so every kind of tensor is stored. */
function fixture() {
  const { model } = randomModel(tinyConfigs.llama, 1);
  const set = AdapterSet.create(model, {
    seed: 1,
    adapters: [
      { kind: 'write', target: { modules: ['o_proj'], layers: [0] }, rank: 2, residual: { rank: 1 } },
      { kind: 'lora', target: { modules: ['q_proj'], layers: [1] }, rank: 2, projectGradients: true },
      { kind: 'reft' },
    ],
  }, space(2));
  return { model, set };
}

/** The set after "training step" k: fresh random parameters. */
function step(set: AdapterSet, k: number): AdapterSet {
  randomize(set.parameters(), 100 + k, 0.3);
  return set;
}

describe('versions', () => {
  test('each commit is a new version with parent, time, metrics and sha256; load(n) computes what was committed', () => {
    const { model, set } = fixture();
    const dir = freshDir();
    const store = AdapterStore.open(dir);
    assert.equal(store.current(), null);
    assert.throws(() => store.load(model), /the store has no versions yet/);
    const expected: Float64Array[] = [];
    for (let k = 1; k <= 3; k++) {
      const record = store.commit(step(set, k), { metrics: { loss: 1 / k, gate: { trust: 0.5 } } });
      assert.equal(record.version, k);
      expected.push(logitsOf(model, set));
    }
    assert.equal(store.current(), 3);
    assert.equal(readFileSync(join(dir, 'HEAD'), 'utf8'), '000003\n');
    assert.deepEqual(readdirSync(join(dir, 'versions')).sort(), ['000001', '000002', '000003']);
    assert.deepEqual(readdirSync(join(dir, 'versions', '000002')).sort(), ['adapter.json', 'adapter.safetensors']);

    const record = store.show(2);
    assert.equal(record.parent, 1);
    assert.equal(record.rollbackOf, null);
    assert.deepEqual(record.metrics, { loss: 0.5, gate: { trust: 0.5 } });
    assert.ok(Date.now() - Date.parse(record.created) < 60_000);
    assert.deepEqual(record.state.spec, set.config);
    const bytes = readFileSync(join(dir, 'versions', '000002', 'adapter.safetensors'));
    assert.equal(record.tensors.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(store.show(1).parent, null);
    // The tensor file keeps the shapes the state gives.
    const file = SafetensorsFile.open(join(dir, 'versions', '000002', 'adapter.safetensors'));
    assert.deepEqual(file.entries.get('model.layers.0.self_attn.o_proj.fc_write.fc_U')!.shape, [16, 3]);
    file.close();

    for (let k = 1; k <= 3; k++) assert.deepEqual(logitsOf(model, store.load(model, k)), expected[k - 1], `version ${k}`);
    assert.deepEqual(logitsOf(model, store.load(model)), expected[2], 'default: the current version');
    assert.deepEqual(store.list().map((v) => [v.version, v.current, v.record?.metrics.loss]), [[1, false, 1], [2, false, 0.5], [3, true, 1 / 3]]);
    // A second store object on the same directory sees the same history.
    assert.equal(AdapterStore.open(dir).current(), 3);
    assert.throws(() => store.show(9), /versions\/000009: version 9 does not exist \(the store has 1\.\.3, 3 in all\)/);
  });

  test('rollback(n) makes a new version that copies n; history is kept and later commits build on it', () => {
    const { model, set } = fixture();
    const store = AdapterStore.open(freshDir());
    store.commit(step(set, 1), { metrics: { loss: 1 } });
    const first = logitsOf(model, set);
    store.commit(step(set, 2), { metrics: { loss: 2 } });
    store.commit(step(set, 3), { metrics: { loss: 3 } });
    const back = store.rollback(1, { metrics: { reason: 'user asked' } });
    assert.deepEqual([back.version, back.parent, back.rollbackOf], [4, 3, 1]);
    assert.deepEqual(back.metrics, { reason: 'user asked' });
    assert.equal(back.tensors.sha256, store.show(1).tensors.sha256);
    assert.equal(store.current(), 4);
    assert.deepEqual(logitsOf(model, store.load(model)), first);
    assert.deepEqual(store.versions(), [1, 2, 3, 4]);
    const next = store.commit(step(set, 5));
    assert.deepEqual([next.version, next.parent], [5, 4]);
    assert.throws(() => store.rollback(12), /version 12 does not exist/);
  });

  test('ifCurrent refuses a commit made from a stale version; parent can be given', () => {
    const { set } = fixture();
    const store = AdapterStore.open(freshDir());
    store.commit(set, { ifCurrent: null });
    store.commit(set);
    assert.throws(() => store.commit(set, { ifCurrent: 1 }), /the current version is 2, not 1 as the commit required/);
    assert.equal(store.commit(set, { ifCurrent: 2, parent: 1 }).parent, 1);
    assert.throws(() => store.commit(set, { parent: 8 }), /parent version 8 does not exist/);
    assert.deepEqual(store.versions(), [1, 2, 3]);
  });

  test('retention keeps the newest N, the current one and pinned ones', () => {
    const { set } = fixture();
    const dir = freshDir();
    const store = AdapterStore.open(dir, { keep: 2 });
    store.commit(set);
    store.pin(1);
    for (let k = 0; k < 4; k++) store.commit(set);
    assert.deepEqual(store.versions(), [1, 4, 5]);
    assert.deepEqual(store.pinned(), [1]);
    store.unpin(1);
    assert.deepEqual(AdapterStore.open(dir).prune(1), [1, 4]);
    assert.deepEqual(store.versions(), [5]);
    // Numbers are never reused.
    assert.equal(store.commit(set).version, 6);
    assert.throws(() => store.pin(2), /version 2 does not exist, so it cannot be pinned/);
    assert.throws(() => AdapterStore.open(dir, { keep: 0 }), /keep must be an integer >= 1/);
  });
});

describe('damaged versions', () => {
  function threeVersions() {
    const { model, set } = fixture();
    const dir = freshDir();
    const store = AdapterStore.open(dir);
    for (let k = 1; k <= 3; k++) store.commit(step(set, k));
    return { model, dir, store };
  }

  test('a tensor file that does not match its sha256 is an error naming the file and both hashes; other versions load', () => {
    const { model, dir, store } = threeVersions();
    const path = join(dir, 'versions', '000002', 'adapter.safetensors');
    const bytes = readFileSync(path);
    bytes[bytes.length - 3] ^= 0x40;
    writeFileSync(path, bytes);
    assert.throws(() => store.load(model, 2), (error: Error) => {
      assert.ok(error instanceof AdapterStoreError);
      assert.match(error.message, /versions\/000002\/adapter\.safetensors: corrupt: \d+ bytes with sha256 [0-9a-f]{64}, but adapter\.json expects \d+ bytes with sha256 [0-9a-f]{64}/);
      assert.match(error.message, /other versions are not affected/);
      return true;
    });
    assert.throws(() => store.rollback(2), /000002\/adapter\.safetensors: corrupt/);
    assert.equal(store.current(), 3, 'a corrupt version is never made current');
    store.load(model, 1);
    store.load(model, 3);
    rmSync(path);
    assert.throws(() => store.load(model, 2), /000002\/adapter\.safetensors: missing/);
  });

  test('a malformed adapter.json names the file and the field; list() reports it and still lists the others', () => {
    const { model, dir, store } = threeVersions();
    const path = join(dir, 'versions', '000003', 'adapter.json');
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.slice(0, text.length / 2));
    assert.throws(() => store.load(model, 3), /versions\/000003\/adapter\.json: is not valid JSON .*expected a version record of format "imprint\.adapter-version"/);
    const listed = store.list();
    assert.deepEqual(listed.map((v) => [v.version, v.record !== undefined, v.problem !== undefined]), [[1, true, false], [2, true, false], [3, false, true]]);
    // The current version is broken: load() says so rather than falling back; rollback repairs it.
    assert.throws(() => store.load(model), /000003\/adapter\.json/);
    assert.equal(store.rollback(2).version, 4);
    store.load(model);
    const record = JSON.parse(text);
    for (const [change, pattern] of [
      [(r: any) => { r.version = 9; }, /version: expected 3, the number of its directory, got 9/],
      [(r: any) => { r.tensors.sha256 = 'abc'; }, /tensors\.sha256: expected 64 lowercase hex digits, got "abc"/],
      [(r: any) => { r.state.format = 'x'; }, /state\.format: expected "imprint\.adapters", got "x"/],
      [(r: any) => { r.metrics = [1]; }, /metrics: expected an object, got \[1\]/],
    ] as const) {
      const copy = structuredClone(record);
      change(copy);
      writeFileSync(path, JSON.stringify(copy));
      assert.throws(() => store.show(3), pattern);
    }
    writeFileSync(join(dir, 'HEAD'), 'latest\n');
    assert.throws(() => store.current(), /HEAD: expected a version number like 000007, got "latest\\n"/);
  });
});

describe('learner state', () => {
  /** A learner state as the store sees it: named float32 tensors and a JSON object (what they mean is the learner's business). */
  function learnerState(seed: number): StoredLearnerState {
    const rng = new Random(seed);
    const tensor = (shape: number[]) => {
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      rng.fillNormal(data);
      return { shape, data };
    };
    return {
      tensors: new Map([['adamw.m.a', tensor([3, 4])], ['adamw.v.a', tensor([3, 4])], ['adamw.m.b', tensor([5])]]),
      meta: { steps: seed, replay: { next: 1, items: [{ prompt: [1, 2], reply: [3], weight: 0.1 + seed / 7, label: 'x' }] }, spare: null },
    };
  }

  test('a commit can carry it: published in the version, read back exactly, null for a version without one', () => {
    const { set } = fixture();
    const dir = freshDir();
    const store = AdapterStore.open(dir);
    const plain = store.commit(step(set, 1));
    assert.equal('learner' in plain, false, 'a version without learner state has no learner field, like records written before it existed');
    const state = learnerState(3);
    const record = store.commit(step(set, 2), { learner: state });
    assert.deepEqual(readdirSync(join(dir, 'versions', '000002')).sort(), ['adapter.json', 'adapter.safetensors', 'learner.safetensors']);
    const bytes = readFileSync(join(dir, 'versions', '000002', 'learner.safetensors'));
    assert.deepEqual(record.learner, { file: 'learner.safetensors', sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.byteLength });
    assert.deepEqual(store.show(2).learner, record.learner);
    const read = store.readLearnerState()!;
    assert.equal(read.version, 2);
    assert.match(read.path, /versions\/000002\/learner\.safetensors$/);
    assert.deepEqual(read.state, state);
    assert.equal(store.readLearnerState(1), null);
    assert.throws(() => store.readLearnerState(7), /version 7 does not exist/);
  });

  test('a corrupt or missing learner file is an error naming the file and both hashes; the version\'s adapter still loads', () => {
    const { model, set } = fixture();
    const dir = freshDir();
    const store = AdapterStore.open(dir);
    store.commit(step(set, 1), { learner: learnerState(1) });
    const expected = logitsOf(model, set);
    const path = join(dir, 'versions', '000001', 'learner.safetensors');
    const bytes = readFileSync(path);
    bytes[bytes.length - 2] ^= 0x10;
    writeFileSync(path, bytes);
    assert.throws(() => store.readLearnerState(1), (error: Error) => {
      assert.ok(error instanceof AdapterStoreError);
      assert.match(error.message, /versions\/000001\/learner\.safetensors: corrupt: \d+ bytes with sha256 [0-9a-f]{64}, but adapter\.json expects \d+ bytes with sha256 [0-9a-f]{64}/);
      assert.match(error.message, /learner state cannot be read; its adapter is not affected/);
      return true;
    });
    assert.deepEqual(logitsOf(model, store.load(model, 1)), expected, 'the adapter tensors are still readable');
    assert.throws(() => store.rollback(1), /000001\/learner\.safetensors: corrupt/, 'a corrupt learner file is never copied');
    assert.equal(store.current(), 1);
    rmSync(path);
    assert.throws(() => store.readLearnerState(1), /000001\/learner\.safetensors: missing: version 1's record names it/);
    store.readState(1);
  });

  test('a malformed learner field of adapter.json names the field', () => {
    const { set } = fixture();
    const dir = freshDir();
    const store = AdapterStore.open(dir);
    store.commit(set, { learner: learnerState(1) });
    const path = join(dir, 'versions', '000001', 'adapter.json');
    const record = JSON.parse(readFileSync(path, 'utf8'));
    for (const [change, pattern] of [
      [(r: any) => { r.learner.sha256 = 'abc'; }, /learner\.sha256: expected 64 lowercase hex digits, got "abc"/],
      [(r: any) => { r.learner.file = 'other.bin'; }, /learner\.file: expected "learner\.safetensors", got "other\.bin"/],
      [(r: any) => { r.learner = 5; }, /learner: expected absent or \{ file, sha256, bytes \}, got 5/],
    ] as const) {
      const copy = structuredClone(record);
      change(copy);
      writeFileSync(path, JSON.stringify(copy));
      assert.throws(() => store.show(1), pattern);
    }
  });

  test('rollback(n) copies n\'s learner state with its weights, and copies none when n has none', () => {
    const { set } = fixture();
    const store = AdapterStore.open(freshDir());
    store.commit(step(set, 1), { learner: learnerState(1) });
    store.commit(step(set, 2), { learner: learnerState(2) });
    store.commit(step(set, 3));
    const back = store.rollback(1);
    assert.deepEqual([back.version, back.rollbackOf], [4, 1]);
    assert.deepEqual(back.learner, store.show(1).learner);
    assert.deepEqual(store.readLearnerState()!.state, learnerState(1));
    const toPlain = store.rollback(3);
    assert.equal(toPlain.learner, undefined);
    assert.equal(store.readLearnerState(), null);
  });

  test('a failure while writing the learner file leaves no version and the current one as it was', () => {
    const { set } = fixture();
    const dir = freshDir();
    let fail = false;
    const store = AdapterStore.open(dir, { onStep: (s) => { if (fail && s === 'write-learner') throw new Error('simulated failure at write-learner'); } });
    store.commit(step(set, 1), { learner: learnerState(1) });
    fail = true;
    assert.throws(() => store.commit(step(set, 2), { learner: learnerState(2) }), /simulated failure at write-learner/);
    assert.deepEqual(readdirSync(join(dir, 'versions')), ['000001'], 'no temp directory, no new version');
    assert.deepEqual(store.readLearnerState()!.state, learnerState(1));
    assert.throws(() => store.commit(set, { learner: { tensors: new Map([['m', { shape: [2, 2], data: new Float32Array(3) }]]), meta: {} } }),
      /commit: learner tensor m has shape \[2,2\] but 3 values/);
  });
});

describe('atomicity', () => {
  test('a failure at any step of a commit leaves the current version as it was, no partial version and no lock', () => {
    const { model, set } = fixture();
    const dir = freshDir();
    let failAt: CommitStep | null = null;
    const store = AdapterStore.open(dir, { onStep: (s) => { if (s === failAt) throw new Error(`simulated failure at ${s}`); } });
    store.commit(step(set, 1));
    const before = logitsOf(model, set);
    let published = 1;
    for (const at of ['locked', 'write-tensors', 'write-record', 'publish', 'head'] as const) {
      failAt = at;
      assert.throws(() => store.commit(step(set, 2)), new RegExp(`simulated failure at ${at}`));
      failAt = null;
      assert.equal(store.current(), 1, `after a failure at ${at}`);
      assert.deepEqual(logitsOf(model, store.load(model)), before);
      // Failing just before HEAD leaves a complete version that never became current.
      if (at === 'head') published += 1;
      assert.equal(store.versions().length, published, `after a failure at ${at}`);
      assert.deepEqual(readdirSync(join(dir, 'versions')).filter((n) => n.startsWith('.')), [], 'no temp directory is left');
      assert.equal(existsSync(join(dir, LOCK_FILE)), false, 'the lock is released');
    }
    const next = store.commit(step(set, 3));
    assert.deepEqual([next.version, next.parent], [3, 1], 'the orphan\'s number is not reused; the parent is the current version');
    assert.deepEqual(store.list().map((v) => v.current), [false, false, true]);
  });

  test('a writer process killed at any step never leaves a corrupt current version; the next open and commit clean up', () => {
    const { model, set } = fixture();
    for (const at of ['write-tensors', 'write-record', 'publish', 'head', 'unlock'] as const) {
      const dir = freshDir();
      const store = AdapterStore.open(dir);
      store.commit(step(set, 1));
      const before = logitsOf(model, set);
      const statePath = saveStateJson(set.toState(), `${dir}-state.json`);
      const child = spawnSync(process.execPath, [writerScript(), storeModule, dir, statePath, 'crasher', '1', at, ''], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(child.signal, 'SIGKILL', `the writer was killed at ${at}: ${child.stderr}`);
      assert.equal(existsSync(join(dir, LOCK_FILE)), true, 'the dead writer left its lock');
      if (at === 'write-tensors' || at === 'write-record' || at === 'publish') {
        assert.ok(readdirSync(join(dir, 'versions')).some((n) => n.startsWith('.tmp-')), 'and its temp directory');
      }
      const reopened = AdapterStore.open(dir);
      assert.deepEqual(readdirSync(join(dir, 'versions')).filter((n) => n.startsWith('.')), [], `open() removed the leftovers (${at})`);
      assert.equal(existsSync(join(dir, LOCK_FILE)), false, 'and the dead writer\'s lock');
      const current = reopened.current();
      if (at === 'unlock') {
        assert.equal(current, 2, 'killed after HEAD moved: the new version is current and complete');
        reopened.readState();
      } else {
        assert.equal(current, 1, `killed at ${at}: the old version is still current`);
        assert.deepEqual(logitsOf(model, reopened.load(model)), before);
      }
      const next = reopened.commit(step(set, 2));
      assert.equal(next.version, at === 'head' || at === 'unlock' ? 3 : 2, `next number after a kill at ${at}`);
      reopened.load(model);
    }
  });

  test('leftovers of a crash (half-written temp directory, stale lock, HEAD temp file) are removed on open', () => {
    const { set } = fixture();
    const dir = freshDir();
    AdapterStore.open(dir).commit(set);
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    mkdirSync(join(dir, 'versions', `.tmp-${dead}-abcdef`));
    writeFileSync(join(dir, 'versions', `.tmp-${dead}-abcdef`, 'adapter.safetensors'), 'half');
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: dead, host: hostname(), since: new Date().toISOString(), token: 't' }));
    writeFileSync(join(dir, `HEAD.tmp-${dead}-123456`), '0000');
    const store = AdapterStore.open(dir);
    assert.deepEqual(readdirSync(dir).sort(), ['HEAD', 'versions']);
    assert.deepEqual(readdirSync(join(dir, 'versions')), ['000001']);
    assert.equal(store.commit(set).version, 2);
  });
});

describe('concurrency', () => {
  test('a live writer\'s lock makes another wait, then fail naming the owner', () => {
    const { set } = fixture();
    const dir = freshDir();
    const store = AdapterStore.open(dir, { timeoutMs: 150 });
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: process.ppid, host: hostname(), since: '2024-01-01T00:00:00.000Z', token: 'other' }));
    const started = Date.now();
    assert.throws(() => store.commit(set), (error: Error) => error instanceof AdapterStoreLockError &&
      new RegExp(`LOCK: the store is locked by pid ${process.ppid} on ${hostname()} since 2024-01-01T00:00:00.000Z; waited 150 ms`).test(error.message));
    assert.ok(Date.now() - started >= 150);
    rmSync(join(dir, LOCK_FILE));
    assert.equal(store.commit(set).version, 1);
  });

  test('a worker thread ended while it held the lock: its pid still runs, so only removeLockOfEndedThread frees the store', async () => {
    const { set } = fixture();
    const dir = freshDir();
    const store = AdapterStore.open(dir, { timeoutMs: 100 });
    const lockPath = join(dir, LOCK_FILE);
    // The thread takes the lock (as the serve learner does mid-commit) and is then terminated.
    const worker = new Worker(`import(${JSON.stringify(storeModule)}).then((m) => { m.StoreLock.acquire(${JSON.stringify(lockPath)}); require('node:worker_threads').parentPort.postMessage('locked'); setInterval(() => {}, 1000); });`, { eval: true });
    const thread = worker.threadId;
    await new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
    await worker.terminate();
    const owner = JSON.parse(readFileSync(lockPath, 'utf8'));
    assert.equal(owner.pid, process.pid);
    assert.equal(owner.thread, thread);
    assert.throws(() => store.commit(set), (error: Error) => error instanceof AdapterStoreLockError && error.message.includes(`pid ${process.pid} (worker thread ${thread})`));
    assert.equal(removeLockOfEndedThread(lockPath, thread + 1), false, 'another thread\'s id leaves it');
    assert.throws(() => removeLockOfEndedThread(lockPath, threadId), /thread \d+ is the calling thread/);
    assert.equal(existsSync(lockPath), true);
    assert.equal(removeLockOfEndedThread(lockPath, thread), true);
    assert.equal(existsSync(lockPath), false);
    assert.equal(store.commit(set).version, 1);
    // Another process's lock is never this process's thread's, whatever its thread field says.
    writeFileSync(lockPath, JSON.stringify({ pid: process.ppid, thread, host: hostname(), since: '2024-01-01T00:00:00.000Z', token: 'other' }));
    assert.equal(removeLockOfEndedThread(lockPath, thread), false);
    rmSync(lockPath);
  });

  test('two writer processes committing at once never take the same version number', { timeout: 120_000 }, async (t) => {
    const { set } = fixture();
    const dir = freshDir();
    const store = AdapterStore.open(dir);
    store.commit(set, { metrics: { writer: 'setup', i: 0 } });
    const statePath = saveStateJson(set.toState(), `${dir}-state.json`);
    const perWriter = 12;
    const go = `${dir}-go`;
    const writers = ['a', 'b'].map((name) => new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [writerScript(), storeModule, dir, statePath, name, String(perWriter), '', go], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => { stderr += String(d); });
      child.on('close', (code) => resolve({ code, stderr }));
    }));
    // Both have started and opened the store before either commits.
    while (!['a', 'b'].every((name) => existsSync(`${go}.ready-${name}`))) await new Promise((resolve) => setTimeout(resolve, 5));
    writeFileSync(go, '');
    for (const { code, stderr } of await Promise.all(writers)) assert.equal(code, 0, stderr);

    const all = store.versions();
    assert.deepEqual(all, Array.from({ length: 1 + 2 * perWriter }, (_, i) => i + 1), 'every number once, none skipped');
    assert.equal(store.current(), all.length);
    const records = all.map((n) => store.readState(n).record);
    for (const name of ['a', 'b']) {
      assert.deepEqual(records.filter((r) => r.metrics.writer === name).map((r) => r.metrics.i), Array.from({ length: perWriter }, (_, i) => i), `writer ${name}'s commits, in order`);
    }
    records.slice(1).forEach((r) => assert.equal(r.parent, r.version - 1, `version ${r.version}'s parent is the version current when it was committed`));
    const switches = records.slice(2).filter((r, i) => r.metrics.writer !== records[i + 1].metrics.writer).length;
    t.diagnostic(`the writers took turns ${switches} times over ${2 * perWriter} commits`);
    assert.ok(switches >= 2, 'the writers interleaved');
  });
});

// ---- writer processes ----

function saveStateJson(state: AdapterSetState, path: string): string {
  writeFileSync(path, JSON.stringify({ config: state.config, tensors: Object.fromEntries([...state.tensors].map(([k, v]) => [k, Array.from(v)])) }));
  return path;
}

/**
 * A writer in its own process: commits `count` times; with a step name, kills
 * itself (SIGKILL, so nothing is cleaned up) when the commit reaches that step;
 * with a go file, says it is ready and waits for that file, so that two writers start together, and
 * pauses 0-4 ms between commits so that they take turns.
 */
function writerScript(): string {
  const path = join(scratch, 'writer.mjs');
  if (!existsSync(path)) {
    writeFileSync(path, `
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
const [storeModule, dir, statePath, writer, count, killAt, go] = process.argv.slice(2);
const { AdapterStore } = await import(storeModule);
const raw = JSON.parse(readFileSync(statePath, 'utf8'));
const state = { config: raw.config, tensors: new Map(Object.entries(raw.tensors).map(([k, v]) => [k, Float32Array.from(v)])) };
const cell = new Int32Array(new SharedArrayBuffer(4));
const store = AdapterStore.open(dir, { timeoutMs: 60000, pollMs: 1, onStep: (step) => { if (step === killAt) process.kill(process.pid, 'SIGKILL'); } });
if (go) {
  writeFileSync(go + '.ready-' + writer, '');
  while (!existsSync(go)) Atomics.wait(cell, 0, 0, 1);
}
for (let i = 0; i < Number(count); i++) {
  store.commit(state, { metrics: { writer, i } });
  Atomics.wait(cell, 0, 0, Math.floor(Math.random() * 5));
}
`);
  }
  return path;
}
