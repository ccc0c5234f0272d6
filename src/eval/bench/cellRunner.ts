import type { LearnerOptions, QualityDetector } from '../../learn/index.js';
import type { BenchResources } from './benchResources.js';
import { type BaseFigures, type CellResult, type CellSettings, runCell } from './runCell.js';
import { type Scenario, type ScenarioFamily, type ScenarioSizes, buildScenarios } from './scenarios.js';

// Runs one (method, scenario, seed) cell by name: the step shared by the suite's
// own process and its worker processes (--jobs). A method that raises becomes a
// failed cell carrying its error, not the end of the run.

export interface CellTask {
  method: string;
  scenario: string;
  seed: number;
}

/** Everything a cell's numbers depend on besides the task and the loaded resources; plain data, so it can be sent to a worker. */
export interface CellRunSetup {
  sizes: ScenarioSizes;
  scenarios: ScenarioFamily[];
  settings: CellSettings;
  learner: LearnerOptions;
  /** General-text probe passages (token ids), the same for every cell. */
  passages: number[][];
  base: BaseFigures;
}

export type CellRunner = (task: CellTask, onProgress?: (done: number, total: number) => void) => Promise<CellResult>;

export function makeCellRunner(resources: BenchResources, quality: { home: QualityDetector; coding: QualityDetector }, setup: CellRunSetup): CellRunner {
  const scenariosBySeed = new Map<number, Scenario[]>();
  const scenarioFor = (task: CellTask): Scenario => {
    let scenarios = scenariosBySeed.get(task.seed);
    if (scenarios === undefined) {
      scenarios = buildScenarios(task.seed, setup.sizes, setup.scenarios);
      scenariosBySeed.set(task.seed, scenarios);
    }
    const scenario = scenarios.find((s) => s.name === task.scenario);
    if (scenario === undefined) throw new RangeError(`no scenario "${task.scenario}" for seed ${task.seed}; the suite has ${scenarios.map((s) => s.name).join(', ')}`);
    return scenario;
  };
  return async (task, onProgress) => {
    const method = resources.methods.find((m) => m.name === task.method);
    if (method === undefined) throw new RangeError(`method "${task.method}" was not loaded; loaded: ${resources.methods.map((m) => m.name).join(', ')}`);
    const scenario = scenarioFor(task);
    const started = performance.now();
    return runCell({
      method, scenario, seed: task.seed, settings: setup.settings, passages: setup.passages, base: setup.base, flops: resources.flops,
      context: {
        model: resources.model, tokenizer: resources.tokenizer, encoding: resources.encoding, learner: setup.learner,
        quality: scenario.domain === 'home' ? quality.home : quality.coding,
        spaceFor: (domain) => resources.spaces[domain],
      },
      ...(onProgress === undefined ? {} : { onProgress }),
    }).catch((error: unknown): CellResult => ({
      // A method that breaks (its model's logits overflow, say) is a result about that method, not the end of the run.
      method: task.method, scenario: task.scenario, seed: task.seed, ...(method.learningRate === undefined ? {} : { learningRate: method.learningRate }), status: 'failed', reason: `failed: ${(error as Error).message ?? String(error)}`,
      agents: [], generalLoss: null, factQa: null, cost: null, wallMs: performance.now() - started,
    }));
  };
}
