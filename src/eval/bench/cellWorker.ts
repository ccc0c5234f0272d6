import { type BenchBundles, benchQualityDetectors, loadBenchResources } from './benchResources.js';
import { type CellRunSetup, type CellRunner, type CellTask, makeCellRunner } from './cellRunner.js';

// Entry of a benchmark worker process (forked by cellPool.ts for --jobs N).
// It loads the model and methods itself, then runs the cells the suite's
// process sends it one at a time, reporting progress and each finished cell
// over the IPC channel. It exits when that channel closes, so an interrupted
// suite leaves no worker behind.

export interface WorkerInit {
  modelDir: string;
  bundles: BenchBundles;
  methods: string[];
  /** The run's folder, where the suite's process has already written the quality detectors. */
  outDir: string;
  setup: CellRunSetup;
}

export type ToWorker = { type: 'init'; init: WorkerInit } | { type: 'run'; index: number; task: CellTask };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'progress'; index: number; done: number }
  | { type: 'result'; index: number; cell: import('./runCell.js').CellResult }
  | { type: 'fatal'; message: string };

function send(message: FromWorker): void {
  process.send!(message);
}

if (process.send === undefined) {
  process.stderr.write('cellWorker.js is started by `imprint eval --jobs N`, not run directly\n');
  process.exit(2);
}

let runner: CellRunner | null = null;
// One cell at a time: a run message is only sent to an idle worker, but the queue keeps that true even if it were not.
let queue: Promise<void> = Promise.resolve();

process.on('disconnect', () => process.exit(0));
// Ctrl-C reaches the whole process group: the suite's process handles it (its cells file is
// already saved) and its exit closes the channel, which ends this worker.
process.on('SIGINT', () => {});
process.on('message', (message: ToWorker) => {
  if (message.type === 'init') {
    try {
      const resources = loadBenchResources(message.init.modelDir, message.init.bundles, message.init.methods);
      runner = makeCellRunner(resources, benchQualityDetectors(message.init.outDir, resources), message.init.setup);
      send({ type: 'ready' });
    } catch (error) {
      send({ type: 'fatal', message: (error as Error).message ?? String(error) });
    }
    return;
  }
  if (message.type === 'run') {
    const { index, task } = message;
    queue = queue.then(async () => {
      if (runner === null) {
        send({ type: 'fatal', message: 'a cell was sent before the worker was initialised' });
        return;
      }
      try {
        const cell = await runner(task, (done) => send({ type: 'progress', index, done }));
        send({ type: 'result', index, cell });
      } catch (error) {
        // Only a task the worker cannot place (an unknown method or scenario) gets here; a method's own errors are failed cells.
        send({ type: 'fatal', message: (error as Error).message ?? String(error) });
      }
    });
  }
});
