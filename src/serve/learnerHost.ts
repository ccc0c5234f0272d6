import { Worker } from 'node:worker_threads';
import type { LearnerWorkerData, WorkerCommand, WorkerEvent } from './learnerWorker.js';

// The HTTP thread's handle on the learner's worker thread: starts it, wakes it
// when a job is queued (it also polls, so a lost wake only delays learning),
// passes its events on, and stops it after its current step.
//
// A worker that dies on its own (an error nobody expected, memory) is started
// again after a pause that doubles with each death in a row (1 s up to 1 min),
// so learning does not silently end while the server keeps answering. Before
// the restart, `beforeRestart` gets the dead thread's id, puts the job it was
// running back in the queue (learnQueue.resume, which also fails a job that
// keeps killing it) and removes any adapter-store lock that thread held: a
// thread shares the process's pid, so its lock would otherwise never go stale.

const FIRST_PAUSE_MS = 1000;
const LONGEST_PAUSE_MS = 60_000;

export class LearnerHost {
  private worker: Worker;
  private readonly listeners = new Set<(event: WorkerEvent) => void>();
  private stopping = false;
  private stopped: Promise<void> | null = null;
  private pauseMs = FIRST_PAUSE_MS;
  private restartTimer: NodeJS.Timeout | null = null;
  private alive = false;
  /** Resolves when the first worker is ready; rejects if it cannot start (a bad model or bundle). */
  readonly ready: Promise<void>;
  /** How many times the worker was started again after dying. */
  restarts = 0;

  constructor(private readonly data: LearnerWorkerData, onEvent: (event: WorkerEvent) => void = () => {}, private readonly beforeRestart: (endedThreadId: number) => void = () => {}) {
    this.listeners.add(onEvent);
    this.worker = this.spawn();
    const first = this.worker;
    this.ready = new Promise((resolve, reject) => {
      const off = this.on((event) => {
        if (event.type === 'ready') { off(); resolve(); } else if (event.type === 'fatal') { off(); reject(new Error(`the learner's worker failed to start: ${event.message}`)); }
      });
      first.once('exit', () => { off(); reject(new Error('the learner\'s worker exited before it was ready')); });
    });
    // The first start's failure is reported through `ready`; no restart loop for a setup that cannot work.
    this.ready.catch(() => { this.stopping = true; });
  }

  private emit(event: WorkerEvent): void {
    for (const listener of [...this.listeners]) listener(event);
  }

  private spawn(): Worker {
    const worker = new Worker(new URL('./learnerWorker.js', import.meta.url), { workerData: this.data });
    // Read now: once the thread has exited, worker.threadId reads -1.
    const threadId = worker.threadId;
    this.alive = true;
    worker.on('message', (event: WorkerEvent) => {
      if (event.type === 'ready' && this.restarts > 0) this.pauseMs = FIRST_PAUSE_MS;
      this.emit(event);
    });
    worker.on('error', (error) => this.emit({ type: 'fatal', message: error.stack ?? error.message }));
    worker.on('exit', (code) => {
      if (worker === this.worker) this.alive = false;
      if (this.stopping || worker !== this.worker) return;
      const pause = this.pauseMs;
      this.pauseMs = Math.min(LONGEST_PAUSE_MS, this.pauseMs * 2);
      this.emit({ type: 'fatal', message: `the learner's worker stopped (exit code ${code}); starting it again in ${pause} ms` });
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        if (this.stopping) return;
        try {
          this.beforeRestart(threadId);
        } catch (error) {
          this.emit({ type: 'fatal', message: `before restarting the learner: ${(error as Error).message}` });
        }
        this.restarts++;
        this.worker = this.spawn();
      }, pause);
    });
    return worker;
  }

  on(listener: (event: WorkerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The current worker's thread id (what its adapter-store locks record). */
  get threadId(): number {
    return this.worker.threadId;
  }

  wake(): void {
    this.worker.postMessage({ type: 'wake' } satisfies WorkerCommand);
  }

  /** Ends the worker thread now, as a crash would (for tests of the restart). */
  async kill(): Promise<void> {
    await this.worker.terminate();
  }

  /** Lets the current step finish (its version committed), then ends the thread. */
  stop(timeoutMs = 30_000): Promise<void> {
    if (this.stopped !== null) return this.stopped;
    this.stopping = true;
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    const worker = this.worker;
    if (!this.alive) {
      this.stopped = Promise.resolve();
      return this.stopped;
    }
    this.stopped = new Promise<void>((resolve) => {
      const timer = setTimeout(() => { void worker.terminate(); }, timeoutMs);
      worker.once('exit', () => { clearTimeout(timer); resolve(); });
      const off = this.on((event) => {
        if (event.type !== 'stopped') return;
        off();
        void worker.terminate();
      });
      worker.postMessage({ type: 'stop' } satisfies WorkerCommand);
    });
    return this.stopped;
  }
}
