import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FeatureSpace } from '../adapt/index.js';
import { writeFileAtomic } from '../io/atomicWrite.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import {
  type AxisTarget, type LearnerOptions, type ProofKind, type ProofSelection, type ProofRunRecord, type ProofRunResult,
  describeProofRun, formatLr, loadBundleFeatureSpace, prepareProof, proofConfig, proofRunOne, proofSettings, proofTargets, summariseProof,
} from '../learn/index.js';
import type { CausalLm } from '../model/causalLm.js';
import { type LearnProofGrid, type LearnProofIdentity, bundleSha256, fixedDifferences, gridOmissions, modelSha256 } from './learnProofConfig.js';
import { forgettingSvg, learningCurvesSvg } from './learnProofPlots.js';
import { RUNS_FILE, readRunsFile, writeRunsFile } from './learnProofRunsFile.js';

// `imprint eval --suite learn-proof`: the learner's proof (src/learn/proofRun.ts)
// as a benchmark that can be stopped and resumed. Every (kind, lr, seed) run is
// saved to OUT/runs.jsonl as it finishes; a rerun of the same command skips the
// runs already there (a run interrupted halfway is redone from its start: a run
// is minutes, and its learner state is not worth a checkpoint format). At the
// end the summary, the text report and two charts go to OUT.

export const OUTPUT_FILES = {
  runs: RUNS_FILE,
  result: 'proof-result.json',
  text: 'proof.txt',
  learningCurves: 'learning-curves.svg',
  forgetting: 'forgetting.svg',
  qualityCache: 'quality-detector.json',
} as const;

export interface LearnProofSuiteOptions {
  model: CausalLm;
  tokenizer: TextTokenizer;
  /** Where the model came from (recorded for people; the weights' hash is what is compared). */
  modelDir: string;
  bundlePath: string;
  grid: LearnProofGrid;
  interactions?: number;
  rank?: number;
  target?: AxisTarget;
  /** How the `selected` kind picks the user's features. */
  selection?: Partial<ProofSelection>;
  /** Measurement settings (the real proof uses the defaults; tests make them small). */
  evaluateAt?: number[];
  heldOutPrompts?: number;
  generalPassages?: number;
  /** Learner options other than the learning rate, which the grid gives. */
  learner?: Omit<LearnerOptions, 'lr'>;
  /** The output directory; without it nothing is saved and nothing can be resumed. */
  outDir?: string;
  /** Progress and warnings, one line each. */
  log?: (line: string) => void;
  /** Called as each run starts (`index` of `total` runs left to do). */
  onRunStart?: (run: { kind: ProofKind; lr: number; seed: number }, index: number, total: number) => void;
}

export interface LearnProofSuiteResult {
  result: ProofRunResult;
  identity: LearnProofIdentity;
  /** Runs made now, and runs found finished in the output directory. */
  ran: number;
  resumed: number;
  /** Paths written, by role; null without an output directory. */
  files: Record<keyof typeof OUTPUT_FILES, string> | null;
}

export async function runLearnProofSuite(options: LearnProofSuiteOptions): Promise<LearnProofSuiteResult> {
  const { model, tokenizer, grid } = options;
  const log = options.log ?? (() => {});
  checkGrid(grid);
  const settings = proofSettings(options);
  const learner = { ...(options.learner ?? {}) } as LearnerOptions;
  delete learner.lr;
  const space: FeatureSpace = loadBundleFeatureSpace(options.bundlePath, model);
  const targets = proofTargets(space, model.spec.layers);
  const identity: LearnProofIdentity = {
    format: 'imprint.learn-proof', version: 1,
    model: { dir: resolve(options.modelDir), sha256: modelSha256(model) },
    bundle: { name: space.name, path: resolve(options.bundlePath), hookPoint: space.hookPoint, sha256: bundleSha256(space) },
    target: settings.target, interactions: settings.interactions, rank: settings.rank, evaluateAt: settings.evaluateAt,
    heldOutPrompts: settings.heldOutPrompts, generalPassages: settings.generalPassages, learner,
    ...(grid.kinds.includes('selected') ? { selection: settings.selection } : {}), grid,
  };

  // Check what the directory holds before the slow part (the quality detector, the runs).
  const files = options.outDir === undefined ? null : outputPaths(options.outDir);
  let done: ProofRunRecord[] = [];
  if (files !== null) {
    mkdirSync(options.outDir!, { recursive: true });
    const stored = readRunsFile(files.runs);
    if (stored !== null) {
      const differences = [...fixedDifferences(stored.identity, identity), ...gridOmissions(stored.identity.grid, grid)];
      if (differences.length > 0) {
        throw new RangeError(`${files.runs} holds runs of a different config: ${differences.join('; ')}. Rerun with the flags it was made with (kinds, learning rates and seeds may be added to), or use another --out`);
      }
      for (const warning of stored.warnings) log(`warning: ${warning}`);
      done = stored.runs.filter((r) => grid.kinds.includes(r.kind) && grid.lrs.includes(r.lr) && grid.seeds.includes(r.seed));
    }
    // Records the (possibly extended) grid now, and drops a torn line before anything is added after it.
    writeRunsFile(files.runs, identity, done);
  }

  const isDone = (kind: ProofKind, lr: number, seed: number) => done.some((r) => r.kind === kind && r.lr === lr && r.seed === seed);
  // Seed-major: an interrupted sweep has every kind and lr of its first seeds, enough for matched comparisons.
  const todo: { kind: ProofKind; lr: number; seed: number }[] = [];
  for (const seed of grid.seeds) for (const lr of grid.lrs) for (const kind of grid.kinds) if (!isDone(kind, lr, seed)) todo.push({ kind, lr, seed });
  const total = grid.kinds.length * grid.lrs.length * grid.seeds.length;
  const resumed = total - todo.length;
  log(`learn-proof: ${total} run${total === 1 ? '' : 's'} (${grid.kinds.join(',')} × lr ${grid.lrs.map(formatLr).join(',')} × seeds ${grid.seeds.join(',')}), ${settings.interactions} interactions each${resumed > 0 ? `; ${resumed} already in ${files!.runs}, ${todo.length} to run` : ''}`);

  const setup = todo.length === 0 ? null : prepareProof({ model, tokenizer, bundlePath: options.bundlePath, space, qualityCache: files?.qualityCache });
  const started = performance.now();
  const runs = [...done];
  for (let index = 0; index < todo.length; index++) {
    const run = todo[index];
    options.onRunStart?.(run, index, todo.length);
    const prefix = `[run ${index + 1}/${todo.length}]`;
    log(`${prefix} ${run.kind} lr ${formatLr(run.lr)} seed ${run.seed}: starting`);
    const record = await proofRunOne(setup!, settings, { kind: run.kind, seed: run.seed, learner: { ...learner, lr: run.lr } }, (line, point) => {
      // Progress in interactions, the unit a run's time goes into; measurements are dense early, so the first ETAs run high.
      const doneWork = index * settings.interactions + (point?.interactions ?? settings.interactions);
      const elapsed = performance.now() - started;
      const eta = doneWork > 0 ? formatDuration((elapsed / doneWork) * (todo.length * settings.interactions - doneWork)) : 'unknown';
      log(`${prefix} ${line} · ${formatDuration(elapsed)} elapsed, ETA ${eta}`);
    });
    runs.push(record);
    if (files !== null) writeRunsFile(files.runs, identity, runs);
  }

  const result = summariseProof(proofConfig({ model, space, ...targets }, settings, grid, learner), runs);
  if (files !== null) writeOutputs(files, identity, result);
  return { result, identity, ran: todo.length, resumed, files };
}

/** "41s", "4m10s", "1h02m". */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function checkGrid(grid: LearnProofGrid): void {
  if (grid.kinds.length === 0 || grid.lrs.length === 0 || grid.seeds.length === 0) {
    throw new RangeError(`learn-proof: kinds, lrs and seeds must each have at least one value, got kinds [${grid.kinds}], lrs [${grid.lrs}], seeds [${grid.seeds}]`);
  }
}

function outputPaths(outDir: string): Record<keyof typeof OUTPUT_FILES, string> {
  return Object.fromEntries(Object.entries(OUTPUT_FILES).map(([role, name]) => [role, join(outDir, name)])) as Record<keyof typeof OUTPUT_FILES, string>;
}

function writeOutputs(files: Record<keyof typeof OUTPUT_FILES, string>, identity: LearnProofIdentity, result: ProofRunResult): void {
  const text = (s: string) => [Buffer.from(s, 'utf8')];
  writeFileAtomic(files.result, text(`${JSON.stringify({ format: 'imprint.learn-proof-result', version: 1, identity, ...result }, null, 2)}\n`));
  writeFileAtomic(files.text, text(`${describeProofRun(result)}\n`));
  writeFileAtomic(files.learningCurves, text(learningCurvesSvg(result)));
  writeFileAtomic(files.forgetting, text(forgettingSvg(result)));
}
