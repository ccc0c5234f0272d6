import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { type AdapterKind, type AdapterSet, type AdapterStore, AdapterStoreError, AdapterStoreLockError } from '../adapt/index.js';
import {
  type LearnerOptions, OnlineLearner, type QualityDetector, type StepLog, checkExperience, decodeLearnerState, encodeLearnerState, loadOrBuildQualityDetector, worldChatEncoding,
} from '../learn/index.js';
import { loadModel } from '../model/load.js';
import { type Db, openDatabase } from './db.js';
import { type LearnJob, claim, finish, requeue } from './learnQueue.js';
import { type AdapterRecipe, adapterRecipe, loadVersion, openUserStore, userStoreDir } from './userAdapter.js';

// The learner, in a worker thread (started by learnerHost.ts) so that a learner
// step, which holds a CPU for a few hundred milliseconds on the shipped model,
// never stalls the HTTP thread's replies. It has its own copy of the model and
// its own database connection, and works through the durable queue
// (learnQueue.ts) one job at a time, oldest first:
//
//   claim a job -> the user's adapter and learner (cached, reloaded when the
//   store's current version is not the one it holds: a rollback or reset from
//   the HTTP thread) -> one learner step -> when it trained, commit a version
//   whose metrics name the job -> mark the job done.
//
// A kill -9 between the commit and "done" leaves a running job whose update is
// already the current version; on restart the job is requeued, and the check
// "does the current version name this job?" marks it done instead of learning
// from it twice. A commit never half-happens (the store is atomic), so the
// current version is always a complete one.

export interface LearnerWorkerData {
  dataDir: string;
  dbPath: string;
  modelDir: string;
  bundlePath: string;
  kind?: AdapterKind;
  rank?: number;
  seed: number;
  quality: boolean;
  learner: LearnerOptions;
  /** Most users whose learner stays in memory (the least recently used is dropped and reloaded from its store when needed). */
  cachedUsers: number;
}

/** What the worker tells the HTTP thread. */
export type WorkerEvent =
  | { type: 'ready'; qualityDetector: boolean }
  | { type: 'job'; jobId: number; userId: number; state: 'done' | 'failed' | 'requeued'; trained: boolean; version: number | null; reason?: string }
  | { type: 'stopped' }
  | { type: 'fatal'; message: string };

/** What the HTTP thread tells the worker. */
export type WorkerCommand = { type: 'wake' } | { type: 'stop' };

interface UserLearner {
  store: AdapterStore;
  version: number;
  adapters: AdapterSet;
  learner: OnlineLearner;
}

export const QUALITY_CACHE_FILE = 'quality-detector.json';
/** How long an idle worker sleeps before looking at the queue again, if nobody wakes it. */
const IDLE_POLL_MS = 2000;

class LearnerWorker {
  private readonly users = new Map<number, UserLearner>();
  private stopping = false;
  private wake: (() => void) | null = null;
  private readonly loaded;
  private readonly recipe: AdapterRecipe;
  private readonly quality: QualityDetector | null;
  private readonly db: Db;

  constructor(private readonly init: LearnerWorkerData, private readonly post: (event: WorkerEvent) => void) {
    this.loaded = loadModel(init.modelDir);
    if (this.loaded.tokenizer === null) throw new RangeError(`${init.modelDir} has no tokenizer.json; the learner needs one`);
    this.recipe = adapterRecipe(this.loaded.model, init.bundlePath, { kind: init.kind, rank: init.rank }, init.seed);
    this.quality = init.quality
      ? loadOrBuildQualityDetector(join(init.dataDir, QUALITY_CACHE_FILE), this.loaded.model, this.loaded.tokenizer, this.recipe.space.hookPoint)
      : null;
    this.db = openDatabase(init.dbPath);
  }

  command(message: WorkerCommand): void {
    if (message.type === 'stop') this.stopping = true;
    this.wake?.();
  }

  async run(): Promise<void> {
    this.post({ type: 'ready', qualityDetector: this.quality !== null });
    while (!this.stopping) {
      const job = claim(this.db);
      if (job === null) {
        await Promise.race([new Promise<void>((done) => { this.wake = done; }), sleep(IDLE_POLL_MS)]);
        this.wake = null;
        continue;
      }
      this.process(job);
      // Let messages (wake, stop) in between jobs.
      await new Promise<void>((done) => setImmediate(done));
    }
    this.db.close();
    this.post({ type: 'stopped' });
  }

  private userName(userId: number): string {
    return (this.db.prepare('SELECT name FROM users WHERE id = ?').get(userId) as { name: string } | undefined)?.name ?? String(userId);
  }

  /** The user's learner on the store's current version: cached, or loaded (with the learner's saved state) when the version moved. */
  private learnerFor(userId: number): UserLearner {
    const cached = this.users.get(userId);
    const store = cached?.store ?? openUserStore(userStoreDir(this.init.dataDir, userId), this.loaded.model, this.recipe, this.userName(userId));
    const current = store.current()!;
    if (cached !== undefined && cached.version === current) {
      this.users.delete(userId);
      this.users.set(userId, cached);
      return cached;
    }
    const adapters = loadVersion(store, current, this.loaded.model);
    const learner = new OnlineLearner({
      model: this.loaded.model, tokenizer: this.loaded.tokenizer!, adapters, encoding: worldChatEncoding(this.loaded.tokenizer!), quality: this.quality, config: this.init.learner,
    });
    try {
      const saved = store.readLearnerState(current);
      if (saved !== null) learner.restoreState(decodeLearnerState(saved.state, saved.path));
    } catch (error) {
      // The adapter itself is fine; the optimiser starts fresh rather than refusing to learn.
      if (!(error instanceof AdapterStoreError || error instanceof RangeError)) throw error;
    }
    const entry = { store, version: current, adapters, learner };
    this.users.delete(userId);
    this.users.set(userId, entry);
    while (this.users.size > this.init.cachedUsers) this.users.delete(this.users.keys().next().value!);
    return entry;
  }

  private process(job: LearnJob): void {
    const done = (state: 'done' | 'failed', trained: boolean, version: number | null, result: Record<string, unknown>) => {
      finish(this.db, job.id, state, result);
      this.post({ type: 'job', jobId: job.id, userId: job.userId, state, trained, version, ...(typeof result.error === 'string' ? { reason: result.error } : {}) });
    };
    let user: UserLearner;
    let alreadyCommitted: boolean;
    try {
      user = this.learnerFor(job.userId);
      alreadyCommitted = user.store.show(user.version).metrics.queueJob === job.id;
    } catch (error) {
      this.users.delete(job.userId);
      done('failed', false, null, { error: `the user's adapter could not be loaded: ${(error as Error).message}` });
      return;
    }
    if (alreadyCommitted) {
      // Committed before a crash that came before the job was marked done.
      done('done', true, user.version, { trained: true, version: user.version, recovered: true });
      return;
    }
    const check = checkExperience(job.experience);
    if (!check.ok) {
      done('failed', false, null, { error: `not a valid experience: ${check.reason}` });
      return;
    }
    let log: StepLog;
    try {
      log = user.learner.step(check.experience);
    } catch (error) {
      this.users.delete(job.userId);
      done('failed', false, null, { error: `the learner step failed: ${(error as Error).message}` });
      return;
    }
    const e = log.experiences[0];
    const summary = {
      trained: log.trained, skipped: log.skipped, gateWeight: e?.gate.weight ?? null, gateReason: e?.gate.reason ?? null,
      loss: e?.loss ?? null, stepMs: Math.round(log.wallMs),
    };
    if (!log.trained) {
      done('done', false, null, { ...summary, version: null });
      return;
    }
    try {
      const committed = user.store.commit(user.adapters, {
        ifCurrent: user.version,
        learner: encodeLearnerState(user.learner.exportState()),
        metrics: {
          source: 'imprint serve', queueJob: job.id, completion: job.completionId, feedback: job.feedbackId, reaction: check.experience.reaction.kind,
          gateWeight: e.gate.weight, gate: e.gate.factors, loss: e.loss, terms: e.terms, background: log.loss.background, replay: log.loss.replay,
          stepMs: Math.round(log.wallMs), adapterNorm: { total: log.adapterNorm.total, byFeature: log.adapterNorm.byFeature },
        },
      });
      user.version = committed.version;
      done('done', true, committed.version, { ...summary, version: committed.version });
    } catch (error) {
      if (!(error instanceof AdapterStoreError)) throw error;
      // A rollback or reset made another version current while this step ran, or another writer
      // held the store's lock past the wait: learn from the job again, on the version that is
      // current then (acknowledged feedback is not dropped). Only a lock that stays held ends it.
      this.users.delete(job.userId);
      const state = requeue(this.db, job, error.message, error instanceof AdapterStoreLockError);
      this.post({ type: 'job', jobId: job.id, userId: job.userId, state, trained: false, version: null, reason: error.message });
    }
  }
}

// An error nobody expected ends the thread (thrown outside any handler, it reaches the host as the
// worker's 'error' event and then 'exit'); the host starts a new worker, which resumes the queue.
if (parentPort !== null) {
  const port = parentPort;
  const post = (event: WorkerEvent) => port.postMessage(event);
  const worker = new LearnerWorker(workerData as LearnerWorkerData, post);
  port.on('message', (message: WorkerCommand) => worker.command(message));
  worker.run().catch((error: unknown) => setImmediate(() => { throw error; }));
}
