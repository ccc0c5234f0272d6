import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { type BenchSuiteConfig, reportFromCells, runBenchSuite } from '../eval/bench/benchSuite.js';
import { METHOD_NAMES, parseMethodName } from '../eval/bench/methods/registry.js';
import { benchMarkdown } from '../eval/bench/report.js';
import { SCENARIO_NAMES, type ScenarioFamily } from '../eval/bench/scenarios.js';
import { BENCH_SUITES } from '../eval/bench/suites.js';
import { ProgressBar } from '../ui/progressBar.js';
import { DEFAULT_BUNDLE, resolveBundlePath } from './learnSetup.js';
import { asNumber, parseListFlag } from './listFlags.js';
import { loadModelArgument } from './modelArgument.js';

// `imprint eval --suite quick|full|tune`: the continual-learning benchmark
// (src/eval/bench). Every method on every scenario, resumable per cell.

const CODING_BUNDLE = 'coding-roles';
// A worker holds its own model and method states; past 8 the memory grows faster than the suite shrinks on most machines.
const MAX_DEFAULT_JOBS = 8;

const help = `usage: imprint eval --suite quick|full|tune [--model DIR] [--out DIR] [--seeds LIST]
       [--methods LIST] [--scenarios LIST] [--jobs N] [--report-only] [--json]

The continual-learning benchmark: each method adapts to simulated users and
coding environments from their reactions only, and is measured without memory
in the prompt (and with it, for memory methods): the judges' score on the
users' axes against interactions, forgetting (general-text loss, fact-QA,
backward transfer across environments in sequence), drift under garbage, and
cost. quick (1 seed, tiny sizes) takes about 10 minutes here; full is the real
comparison (hours; every finished cell is saved, rerun the same command to go on).

  --model DIR        default: the shipped model; it needs bundles ${DEFAULT_BUNDLE} (home) and
                     ${CODING_BUNDLE} (coding) in its bundles/ folder
  --out DIR          where cells.jsonl, summary.json, report.md and report.html go
                     (default runs/bench-SUITE)
  --seeds LIST       override the suite's seeds
  --methods LIST     a subset of: ${METHOD_NAMES.join(', ')};
                     a learning method at another rate than its tuned one (see
                     src/eval/bench/methods/tunedRates.ts) is NAME@RATE, e.g. lora-r8@3e-3
  --scenarios LIST   a subset of: ${SCENARIO_NAMES.join(', ')}
  --jobs N           cells run side by side in N worker processes (default: the number
                     of cores, at most ${MAX_DEFAULT_JOBS}); each cell's numbers are the same
                     whatever N is
  --report-only      write summary.json and the reports from the cells in --out as they
                     stand (a run going on elsewhere, or stopped part way), running nothing
                     and loading no model; they say how many cells are in. A running
                     suite also rewrites them after every cell.
  --json             the summary as JSON on stdout

Progress (a bar with an ETA over interactions) goes to stderr.`;

export async function runEvalBench(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      suite: { type: 'string' },
      model: { type: 'string' },
      out: { type: 'string' },
      seeds: { type: 'string' },
      methods: { type: 'string' },
      scenarios: { type: 'string' },
      jobs: { type: 'string' },
      'report-only': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  const suiteName = values.suite ?? 'quick';
  const base = BENCH_SUITES[suiteName];
  if (base === undefined) throw new RangeError(`--suite must be ${Object.keys(BENCH_SUITES).join(' or ')} for the benchmark, got '${suiteName}'`);
  const seeds = parseListFlag('seeds', values.seeds, asNumber((n) => Number.isSafeInteger(n) && n >= 0), 'a comma-separated list of integers >= 0');
  const methods = parseListFlag('methods', values.methods, (s) => {
    const parsed = parseMethodName(s);
    if (typeof parsed === 'string') throw new RangeError(parsed);
    return s;
  }, `a comma-separated list of methods (${METHOD_NAMES.join(', ')}; a learning method may take @RATE, e.g. lora-r8@3e-3)`);
  const scenarios = parseListFlag('scenarios', values.scenarios, (s) => ((SCENARIO_NAMES as readonly string[]).includes(s) ? s as ScenarioFamily : undefined), `a comma-separated list of scenarios (${SCENARIO_NAMES.join(', ')})`);
  const jobs = values.jobs === undefined ? Math.min(availableParallelism(), MAX_DEFAULT_JOBS) : Number(values.jobs);
  if (!Number.isSafeInteger(jobs) || jobs < 1) throw new RangeError(`--jobs must be a whole number >= 1, got '${values.jobs}'`);
  const config: BenchSuiteConfig = {
    ...base, ...(seeds === undefined ? {} : { seeds }), ...(methods === undefined ? {} : { methods }), ...(scenarios === undefined ? {} : { scenarios }),
  };

  const outDir = values.out ?? `runs/bench-${suiteName}`;
  if (values['report-only']) {
    const report = reportFromCells(config, outDir);
    if (values.json) console.log(JSON.stringify({ suite: suiteName, out: outDir, cells: report.cells, of: report.of, files: report.files, summary: report.summary }));
    else {
      console.log(benchMarkdown({ suite: suiteName, config, summary: report.summary, progress: { cells: report.cells, of: report.of } }));
      console.log(`\nwrote ${report.files.markdown}, ${report.files.html}, ${report.files.summary} (${report.cells} of ${report.of} cells)`);
    }
    return 0;
  }

  const loaded = loadModelArgument(values.model, 'eval');
  const bundles = { home: resolveBundlePath(loaded.dir, DEFAULT_BUNDLE), coding: resolveBundlePath(loaded.dir, CODING_BUNDLE) };
  let bar: ProgressBar | null = null;
  process.once('SIGINT', () => {
    process.stderr.write(`\ninterrupted; finished cells are in ${outDir}/cells.jsonl; rerun the same command to continue\n`);
    process.exit(130);
  });
  const result = await runBenchSuite({
    config, modelDir: loaded.dir, bundles, outDir, jobs,
    log: (line) => {
      // On a terminal the bar owns the current line: end it before a log line.
      if (bar !== null && process.stderr.isTTY) process.stderr.write('\n');
      process.stderr.write(`${line}\n`);
    },
    onProgress: (cell, index, cells, done, total) => {
      bar ??= new ProgressBar({ total, unit: 'interactions' });
      bar.update(done, done, { cell: `${index + 1}/${cells} ${cell.method} on ${cell.scenario}` });
    },
  });
  if (bar !== null && process.stderr.isTTY) process.stderr.write('\n');
  if (values.json) {
    console.log(JSON.stringify({ suite: suiteName, out: outDir, ran: result.ran, resumed: result.resumed, files: result.files, summary: result.summary }));
    return 0;
  }
  console.log(benchMarkdown({ suite: suiteName, config, summary: result.summary }));
  if (result.files !== null) console.log(`\nwrote ${result.files.markdown}, ${result.files.html}, ${result.files.summary} (cells in ${result.files.cells})`);
  return 0;
}
