import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadBundle } from '../../features/bundles/index.js';
import { writeFileAtomic } from '../../io/atomicWrite.js';
import { type LearnerOptions, generalTextProbe, loadBundleFeatureSpace, loadOrBuildQualityDetector, worldChatEncoding } from '../../learn/index.js';
import { loadModel } from '../../model/load.js';
import { modelSha256 } from '../learnProofConfig.js';
import { type BenchIdentity, CELLS_FILE, identityDifferences, readCellsFile, writeCellsFile } from './cellsFile.js';
import { methodsNamed } from './methods/registry.js';
import { type BaseFigures, type CellResult, type CellSettings, measureBase, runCell } from './runCell.js';
import { type Scenario, type ScenarioFamily, type ScenarioSizes, buildScenarios } from './scenarios.js';
import { writeBenchReport } from './report.js';
import { type MethodScenarioSummary, summarise } from './summary.js';

// `imprint eval --suite quick|full`: every chosen method on every scenario, for
// each seed, one cell at a time. Each finished cell goes to cells.jsonl at once
// (rewritten atomically), so an interrupted run resumes where it stopped; at the
// end the summary, a Markdown table and the HTML report are written.

/**
 * Bump when a change to the harness changes what a cell measures (agents, scenarios,
 * methods, metrics): cells made by another version are then refused instead of being
 * mixed into a summary, even though the suite's sizes and settings are the same.
 */
export const BENCH_HARNESS_VERSION = 2;

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
  /** Bundles per domain: paths of assistant-style (home) and coding-roles (coding). */
  bundles: { home: string; coding: string };
  outDir?: string;
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
  const loaded = loadModel(options.modelDir);
  if (loaded.tokenizer === null) throw new RangeError(`${options.modelDir} has no tokenizer.json, which the benchmark's agents need`);
  const { model, tokenizer } = loaded;
  const encoding = worldChatEncoding(tokenizer);
  const spaces = { home: loadBundleFeatureSpace(options.bundles.home, model), coding: loadBundleFeatureSpace(options.bundles.coding, model) };
  const steeringScales = new Map<string, number>();
  for (const path of [options.bundles.home, options.bundles.coding]) {
    for (const f of loadBundle(path).bundle.features) if (f.steering !== undefined) steeringScales.set(f.id, f.steering.scale);
  }
  const methods = methodsNamed({ loadModelCopy: () => loadModel(options.modelDir).model, steeringScales }, config.methods);

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

  const scenariosBySeed = new Map<number, Scenario[]>(config.seeds.map((seed) => [seed, buildScenarios(seed, config.sizes, config.scenarios)]));
  const todo: { method: (typeof methods)[number]; scenario: Scenario; seed: number }[] = [];
  for (const seed of config.seeds) {
    for (const scenario of scenariosBySeed.get(seed)!) {
      for (const method of methods) {
        if (!done.some((c) => c.method === method.name && c.scenario === scenario.name && c.seed === seed)) todo.push({ method, scenario, seed });
      }
    }
  }
  const resumed = done.length;
  log(`bench ${config.name}: ${methods.length} methods × ${scenariosBySeed.get(config.seeds[0])!.length} scenarios × ${config.seeds.length} seed${config.seeds.length === 1 ? '' : 's'}; ${resumed > 0 ? `${resumed} cells already in ${files!.cells}, ` : ''}${todo.length} to run`);

  let base: BaseFigures | null = null;
  let passages: number[][] = [];
  if (todo.length > 0) {
    passages = generalTextProbe(tokenizer, config.generalPassages);
    base = await measureBase(model, encoding, passages, config.settings.facts);
  }
  const quality = todo.length > 0 ? { home: loadOrBuildQualityDetector(join(options.outDir ?? '.', 'quality-home.json'), model, tokenizer, spaces.home.hookPoint), coding: loadOrBuildQualityDetector(join(options.outDir ?? '.', 'quality-coding.json'), model, tokenizer, spaces.coding.hookPoint) } : null;
  const totalInteractions = todo.reduce((s, t) => s + t.scenario.agents.length * t.scenario.interactions, 0);
  let finishedInteractions = 0;
  for (const [index, { method, scenario, seed }] of todo.entries()) {
    const cellStarted = performance.now();
    const cell = await runCell({
      method, scenario, seed, settings: config.settings, passages, base: base!,
      context: {
        model, tokenizer, encoding, learner: config.learner, quality: scenario.domain === 'home' ? quality!.home : quality!.coding,
        spaceFor: (domain) => spaces[domain],
      },
      onProgress: (n) => options.onProgress?.({ method: method.name, scenario: scenario.name, seed }, index, todo.length, finishedInteractions + n, totalInteractions),
    }).catch((error: unknown): CellResult => ({
      // A method that breaks (its model's logits overflow, say) is a result about that method, not the end of the run.
      method: method.name, scenario: scenario.name, seed, status: 'failed', reason: `failed: ${(error as Error).message ?? String(error)}`,
      agents: [], generalLoss: null, factQa: null, cost: null, wallMs: performance.now() - cellStarted,
    }));
    finishedInteractions += scenario.agents.length * scenario.interactions;
    done.push(cell);
    if (files !== null) writeCellsFile(files.cells, identity, done);
    log(`[cell ${index + 1}/${todo.length}] ${method.name} on ${scenario.name} seed ${seed}: ${cell.status === 'ok' ? `${(cell.wallMs / 1000).toFixed(0)} s` : `${cell.status} (${cell.reason})`}`);
  }
  const summary = summarise(done);
  if (files === null) return { cells: done, summary, ran: todo.length, resumed, files: null };
  writeFileAtomic(files.summary, [Buffer.from(`${JSON.stringify({ suite: config.name, config, summary }, null, 1)}\n`, 'utf8')]);
  const report = writeBenchReport(options.outDir!, { suite: config.name, config, summary });
  return { cells: done, summary, ran: todo.length, resumed, files: { cells: resolve(files.cells), summary: resolve(files.summary), ...report } };
}
