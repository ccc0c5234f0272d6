import { type ChildProcess, fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import type { CellTask } from './cellRunner.js';
import type { FromWorker, ToWorker, WorkerInit } from './cellWorker.js';
import type { CellResult } from './runCell.js';

// Runs benchmark cells in N worker processes (`imprint eval --jobs N`). Most of
// a cell is batch-1 decoding, which uses one core, so on a machine with N cores
// N workers finish a suite about N times sooner. Each worker is told to use
// cores / N native threads (unless IMPRINT_THREADS is set).
//
// The suite's process stays the only writer of cells.jsonl: workers send each
// finished cell back and the caller saves it. A cell's numbers do not depend on
// which process ran it (every cell is seeded on its own and the kernels'
// results do not depend on the thread count; test/bench-jobs.test.ts checks it).
// A worker that dies mid-cell (a crash, the out-of-memory killer's SIGKILL)
// leaves that cell recorded as failed with the exit reason, and a fresh worker
// takes the remaining cells. One stopped by SIGINT, SIGTERM or SIGHUP stops the
// run instead, with nothing recorded for its cell.

export interface CellPoolOptions {
  jobs: number;
  init: WorkerInit;
  tasks: CellTask[];
  onProgress?: (index: number, done: number) => void;
  onResult: (index: number, cell: CellResult) => void;
  /** Called with each worker's process id as it is started (a restarted worker included). */
  onWorkerStart?: (pid: number) => void;
}

const WORKER_SCRIPT = new URL('./cellWorker.js', import.meta.url);

export function threadsPerJob(jobs: number): number {
  return Math.max(1, Math.floor(availableParallelism() / jobs));
}

export async function runCellsInProcesses(options: CellPoolOptions): Promise<void> {
  const { tasks } = options;
  const jobs = Math.min(options.jobs, tasks.length);
  if (!Number.isSafeInteger(jobs) || jobs < 1) {
    if (tasks.length === 0) return;
    throw new RangeError(`jobs must be a whole number >= 1, got ${options.jobs}`);
  }
  const env = { ...process.env, IMPRINT_THREADS: process.env.IMPRINT_THREADS ?? String(threadsPerJob(jobs)) };
  let next = 0;
  let finished = 0;
  // A worker restarted more often than there are cells is failing for a reason a new one will not fix.
  let restartsLeft = tasks.length;

  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const workers = new Set<ChildProcess>();
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      for (const w of workers) w.kill();
      reject(error);
    };
    const record = (index: number, cell: CellResult) => {
      options.onResult(index, cell);
      finished++;
      if (finished === tasks.length && !settled) {
        settled = true;
        for (const w of workers) w.disconnect();
        resolve();
      }
    };

    const start = () => {
      const child = fork(WORKER_SCRIPT, [], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
      workers.add(child);
      if (child.pid !== undefined) options.onWorkerStart?.(child.pid);
      let running: number | null = null;
      let ready = false;
      const sendNext = () => {
        if (next >= tasks.length) {
          child.disconnect();
          return;
        }
        running = next++;
        child.send({ type: 'run', index: running, task: tasks[running] } satisfies ToWorker);
      };
      child.on('message', (message: FromWorker) => {
        if (message.type === 'ready') {
          ready = true;
          sendNext();
        }
        else if (message.type === 'progress') options.onProgress?.(message.index, message.done);
        else if (message.type === 'result') {
          running = null;
          record(message.index, message.cell);
          if (!settled) sendNext();
        } else if (message.type === 'fatal') fail(new Error(`benchmark worker: ${message.message}`));
      });
      child.on('error', (error) => fail(new Error(`benchmark worker could not run: ${error.message}`)));
      child.on('exit', (code, signal) => {
        workers.delete(child);
        const how = signal === null ? `code ${code}` : `signal ${signal}`;
        if (!settled && !ready) fail(new Error(`benchmark worker exited (${how}) before it had loaded the model`));
        if (settled || running === null) return;
        if (signal === 'SIGINT' || signal === 'SIGTERM' || signal === 'SIGHUP') {
          // Stopped from outside, not broken by its cell: nothing is recorded, so a rerun does the cell again.
          fail(new Error(`benchmark worker was stopped (${signal}); finished cells are saved, rerun the same command to continue`));
          return;
        }
        const task = tasks[running];
        record(running, {
          method: task.method, scenario: task.scenario, seed: task.seed, status: 'failed',
          reason: `failed: its worker process exited (${how}) while running this cell`,
          agents: [], generalLoss: null, factQa: null, cost: null, wallMs: 0,
        });
        if (settled || next >= tasks.length) return;
        if (restartsLeft-- <= 0) fail(new Error('benchmark workers keep exiting; stopped (finished cells are saved)'));
        else start();
      });
      child.send({ type: 'init', init: options.init } satisfies ToWorker);
    };
    for (let i = 0; i < jobs; i++) start();
  });
}
