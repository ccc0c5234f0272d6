import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../../io/atomicWrite.js';
import { type LearnerOptions, generalTextProbe } from '../../learn/index.js';
import { modelSha256 } from '../learnProofConfig.js';
import { type BenchBundles, benchQualityDetectors, loadBenchResources } from './benchResources.js';
import { runCellsInProcesses } from './cellPool.js';
import { type CellRunSetup, type CellTask, makeCellRunner } from './cellRunner.js';
import { type BenchIdentity, CELLS_FILE, identityDifferences, readCellsFile, writeCellsFile } from './cellsFile.js';
import { type CellResult, type CellSettings, measureBase } from './runCell.js';
import { type Scenario, type ScenarioFamily, type ScenarioSizes, buildScenarios } from './scenarios.js';
import { writeBenchReport } from './report.js';
import { type MethodScenarioSummary, summarise } from './summary.js';

// `imprint eval --suite quick|full`: every chosen method on every scenario, for
// each seed, one cell at a time. Each finished cell goes to cells.jsonl at once
// (rewritten atomically), so an interrupted run resumes where it stopped; at the
// end the summary, a Markdown table and the HTML report are written. With
// jobs > 1 the cells run in worker processes (cellPool.ts) and this process
// saves each as it comes back.

/**
 * Bump when a change to the harness changes what a cell measures (agents, scenarios,
 * methods, metrics): cells made by another version are then refused instead of being
 * mixed into a summary, even though the suite's sizes and settings are the same.
 */
export const BENCH_HARNESS_VERSION = 4;

export interface BenchSuiteConfig {
  name: string;
  seeds: number[];
  sizes: ScenarioSizes;
  scenarios: ScenarioFamily[];
  methods: string[];
  settings: CellSettings;
  generalPassages: number;
  learner: LearnerOptions;
}

export interface BenchSuiteOptions {
  config: BenchSuiteConfig;
  modelDir: string;
  bundles: BenchBundles;
  outDir?: string;
  /** Worker processes running cells side by side (default 1: every cell in this process). More than 1 needs outDir. */
  jobs?: number;
  log?: (line: string) => void;
  onProgress?: (cell: { method: string; scenario: string; seed: number }, cellIndex: number, cells: number, done: number, total: number) => void;
}

export interface BenchSuiteResult {
  cells: CellResult[];
  summary: MethodScenarioSummary[];
  ran: number;
  resumed: number;
  files: { cells: string; summary: string; markdown: string; html: string } | null;
}

export async function runBenchSuite(options: BenchSuiteOptions): Promise<BenchSuiteResult> {
  const { config } = options;
  const log = options.log ?? (() => {});
  const jobs = options.jobs ?? 1;
  if (!Number.isSafeInteger(jobs) || jobs < 1) throw new RangeError(`jobs must be a whole number >= 1, got ${jobs}`);
  if (jobs > 1 && options.outDir === undefined) throw new RangeError('jobs > 1 needs an output folder: the workers read the quality detectors from it');
  const resources = loadBenchResources(options.modelDir, options.bundles, config.methods);
  const { model, tokenizer, encoding, spaces, methods } = resources;

  const identity: BenchIdentity = {
    format: 'imprint.bench', version: 1, suite: config.name, model: modelSha256(model),
    settings: { harness: BENCH_HARNESS_VERSION, sizes: config.sizes, settings: config.settings, generalPassages: config.generalPassages, learner: config.learner, bundles: { home: spaces.home.name, coding: spaces.coding.name } },
  };
  const files = options.outDir === undefined ? null : { cells: join(options.outDir, CELLS_FILE), summary: join(options.outDir, 'summary.json') };
  let done: CellResult[] = [];
  if (files !== null) {
    mkdirSync(options.outDir!, { recursive: true });
    const stored = readCellsFile(files.cells);
    if (stored !== null) {
      const differences = identityDifferences(stored.identity, identity);
      if (differences.length > 0) throw new RangeError(`${files.cells} holds cells of a different config: ${differences.join('; ')}. Rerun with the same suite and flags, or use another --out`);
      for (const warning of stored.warnings) log(`warning: ${warning}`);
      done = stored.cells;
    }
    writeCellsFile(files.cells, identity, done);
  }

  // A cell made at another learning rate than the method's now (tunedRates.ts changed, say) is stale: redone, not reused.
  const stale = done.filter((c) => {
    const method = methods.find((m) => m.name === c.method);
    return method !== undefined && method.learningRate !== c.learningRate;
  });
  if (stale.length > 0) {
    log(`${stale.length} cell${stale.length === 1 ? '' : 's'} in ${files!.cells} ran at another learning rate than ${stale.length === 1 ? 'its method has' : 'their methods have'} now (${[...new Set(stale.map((c) => c.method))].join(', ')}); redoing ${stale.length === 1 ? 'it' : 'them'}`);
    done = done.filter((c) => !stale.includes(c));
  }
  const scenariosBySeed = new Map<number, Scenario[]>(config.seeds.map((seed) => [seed, buildScenarios(seed, config.sizes, config.scenarios)]));
  const todo: (CellTask & { interactions: number })[] = [];
  for (const seed of config.seeds) {
    for (const scenario of scenariosBySeed.get(seed)!) {
      for (const method of methods) {
        if (!done.some((c) => c.method === method.name && c.scenario === scenario.name && c.seed === seed)) {
          todo.push({ method: method.name, scenario: scenario.name, seed, interactions: scenario.agents.length * scenario.interactions });
        }
      }
    }
  }
  const resumed = done.length;
  const workers = Math.min(jobs, todo.length);
  log(`bench ${config.name}: ${methods.length} methods × ${scenariosBySeed.get(config.seeds[0])!.length} scenarios × ${config.seeds.length} seed${config.seeds.length === 1 ? '' : 's'}; ${resumed > 0 ? `${resumed} cells already in ${files!.cells}, ` : ''}${todo.length} to run${workers > 1 ? ` in ${workers} worker processes` : ''}`);

  if (todo.length > 0) {
    const passages = generalTextProbe(tokenizer, config.generalPassages);
    const setup: CellRunSetup = {
      sizes: config.sizes, scenarios: config.scenarios, settings: config.settings, learner: config.learner,
      passages, base: await measureBase(model, encoding, passages, config.settings.facts),
    };
    const quality = benchQualityDetectors(options.outDir ?? '.', resources);
    const totalInteractions = todo.reduce((s, t) => s + t.interactions, 0);
    // Interactions of finished cells plus those of the cells in flight, for one bar over the whole run.
    let finishedInteractions = 0;
    const inFlight = new Map<number, number>();
    const progress = (index: number, n: number) => {
      inFlight.set(index, n);
      let running = 0;
      for (const v of inFlight.values()) running += v;
      options.onProgress?.(todo[index], index, todo.length, finishedInteractions + running, totalInteractions);
    };
    const save = (index: number, cell: CellResult) => {
      const task = todo[index];
      inFlight.delete(index);
      finishedInteractions += task.interactions;
      done.push(cell);
      if (files !== null) {
        writeCellsFile(files.cells, identity, done);
        // A run takes hours: the report is kept current (marked partial) so it can be read while the run goes on.
        writeSummaryAndReport(options.outDir!, config, done, { cells: done.length, of: resumed + todo.length });
      }
      log(`[cell ${done.length - resumed}/${todo.length}] ${task.method} on ${task.scenario} seed ${task.seed}: ${cell.status === 'ok' ? `${(cell.wallMs / 1000).toFixed(0)} s` : `${cell.status} (${cell.reason})`}`);
    };
    if (workers > 1) {
      await runCellsInProcesses({
        jobs: workers, tasks: todo, onProgress: progress, onResult: save,
        init: { modelDir: options.modelDir, bundles: options.bundles, methods: config.methods, outDir: options.outDir!, setup },
      });
    } else {
      const runCell = makeCellRunner(resources, quality, setup);
      for (const [index, task] of todo.entries()) save(index, await runCell(task, (n) => progress(index, n)));
    }
  }
  if (files === null) return { cells: done, summary: summarise(done), ran: todo.length, resumed, files: null };
  const { summary, report } = writeSummaryAndReport(options.outDir!, config, done);
  return { cells: done, summary, ran: todo.length, resumed, files: { cells: resolve(files.cells), summary: resolve(files.summary), ...report } };
}

/** summary.json, report.md and report.html of the cells so far (each written atomically). */
function writeSummaryAndReport(outDir: string, config: BenchSuiteConfig, cells: readonly CellResult[], progress?: { cells: number; of: number }) {
  const summary = summarise(cells);
  const partial = progress !== undefined && progress.cells < progress.of ? { progress } : {};
  writeFileAtomic(join(outDir, 'summary.json'), [Buffer.from(`${JSON.stringify({ suite: config.name, config, ...partial, summary }, null, 1)}\n`, 'utf8')]);
  const report = writeBenchReport(outDir, { suite: config.name, config, summary, ...partial });
  return { summary, report };
}

/**
 * The report of a run's cells as they stand, without running anything or loading
 * the model (`imprint eval --report-only`): for a run still going on in another
 * process, or one stopped part way. The cells must have been made with `config`'s
 * sizes and settings; the expected cell count (for "partial") comes from it.
 */
export function reportFromCells(config: BenchSuiteConfig, outDir: string): { cells: number; of: number; summary: ReturnType<typeof summarise>; files: { summary: string; markdown: string; html: string } } {
  const path = join(outDir, CELLS_FILE);
  const stored = readCellsFile(path);
  if (stored === null) throw new RangeError(`${path} does not exist or is empty: nothing to report (run the suite first, with the same --out)`);
  const asked = { harness: BENCH_HARNESS_VERSION, sizes: config.sizes, settings: config.settings, generalPassages: config.generalPassages, learner: config.learner };
  const differences = identityDifferences(
    { ...stored.identity, model: '', settings: Object.fromEntries(Object.keys(asked).map((k) => [k, stored.identity.settings[k]])) },
    { ...stored.identity, suite: config.name, model: '', settings: asked },
  );
  if (differences.length > 0) throw new RangeError(`${path} holds cells of a different config: ${differences.join('; ')}. Name the suite and flags the run was made with`);
  const wanted = new Set(config.seeds.flatMap((seed) => buildScenarios(seed, config.sizes, config.scenarios).flatMap((scenario) => config.methods.map((m) => `${m}/${scenario.name}/${seed}`))));
  const cells = stored.cells.filter((c) => wanted.has(`${c.method}/${c.scenario}/${c.seed}`));
  const progress = { cells: cells.length, of: wanted.size };
  const { summary, report } = writeSummaryAndReport(outDir, config, cells, progress);
  return { ...progress, summary, files: { summary: resolve(join(outDir, 'summary.json')), ...report } };
}
