import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ActivationDataset } from '../features/activations/index.js';
import { residualHookPoint, saeMetrics, saveSaeLens, splicedCrossEntropy, trainTopKSae } from '../features/sae/index.js';
import { Random } from '../tensor/index.js';
import { corpusDocument, defaultMix } from '../world/corpus.js';
import { loadSaeArgument, printFeatureLabels, requireTokenizer, saeDecoderRow, saeScorer } from './features.js';
import { loadModelArgument, parseNumberFlag } from './modelArgument.js';

// `imprint sae train | eval | show`: TopK SAEs on an activation dataset, in the
// SAELens format (cfg.json + sae_weights.safetensors) so SAELens tools read them.

const trainHelp = `usage: imprint sae train --data DIR --latents N --k K --out DIR [--point P] [options]

Trains a TopK SAE (Gao et al. 2024) on the rows of an activation dataset and
writes it in the SAELens format. Progress goes to stderr.

  --data DIR        activation dataset (imprint activations)
  --point P         hook point to read (default: the dataset's only point)
  --latents N       number of latents
  --k K             active latents per row
  --steps N         optimiser steps (default 1000)
  --batch N         rows per step (default 1024)
  --lr X            peak learning rate (default 2e-4 * sqrt(16384 / latents), the paper's scaling)
  --warmup N        linear warm-up steps (default steps / 20)
  --seed S          initialisation and shuffling (default 0)
  --b-dec INIT      geometric-median (default) or mean of the data
  --out DIR         the SAE directory`;

const evalHelp = `usage: imprint sae eval --sae DIR --data DIR [--model DIR --sequences N] [--json]

Measures an SAE on a dataset's rows: explained variance, mean L0, the share of
dead latents; with --model, the spliced cross-entropy (the model's loss with the
stream replaced by the reconstruction) on held-out world documents.

  --sae DIR         SAELens directory
  --data DIR        activation dataset holding the SAE's hook point
  --rows N          rows to measure at most (default 65536)
  --model DIR       measure the spliced cross-entropy on this model
  --sequences N     held-out documents for it (default 16)
  --seed S          seed of those documents (default 2)
  --json            print one JSON object`;

const showHelp = `usage: imprint sae show --sae DIR --data DIR --model DIR --feature I [--top N]

One latent: its top-activating contexts in the dataset and the tokens its
decoder direction promotes and suppresses (same as features label --sae).`;

export async function runSae(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'train') return runTrain(rest);
  if (sub === 'eval') return runEval(rest);
  if (sub === 'show') return runShow(rest);
  if (sub === undefined || sub === '--help' || sub === '-h') {
    console.log([trainHelp, evalHelp, showHelp].join('\n\n'));
    return sub === undefined ? 2 : 0;
  }
  throw new RangeError(`imprint sae: unknown subcommand '${sub}'; expected train, eval or show`);
}

const positive = (n: number) => Number.isSafeInteger(n) && n >= 1;

function openDataset(dir: string | undefined, command: string): ActivationDataset {
  if (dir === undefined) throw new RangeError(`imprint sae ${command}: --data DIR (an activation dataset) is required`);
  if (!existsSync(dir)) throw new RangeError(`--data ${dir} does not exist; expected an activation dataset (imprint activations --out)`);
  const dataset = ActivationDataset.open(dir);
  if (dataset.rows === 0) throw new RangeError(`--data ${dir} holds no rows`);
  if (!dataset.complete) console.error(`warning: ${dir} is an interrupted build (${dataset.rows} rows so far); using what it holds`);
  return dataset;
}

function choosePoint(dataset: ActivationDataset, point: string | undefined): string {
  if (point !== undefined) {
    if (!dataset.points.includes(point)) throw new RangeError(`--point ${point} is not in ${dataset.dir}; it holds ${dataset.points.join(', ')}`);
    return point;
  }
  if (dataset.points.length !== 1) throw new RangeError(`${dataset.dir} holds ${dataset.points.join(', ')}; choose one with --point`);
  return dataset.points[0];
}

/** Up to `limit` rows of one point, in dataset order. */
function readRows(dataset: ActivationDataset, point: string, limit: number): Float32Array {
  const rows = Math.min(limit, dataset.rows);
  const out = new Float32Array(rows * dataset.d);
  let filled = 0;
  for (let shard = 0; shard < dataset.shardCount && filled < rows; shard++) {
    const data = dataset.readShard(shard, point);
    const take = Math.min(data.length / dataset.d, rows - filled);
    out.set(data.subarray(0, take * dataset.d), filled * dataset.d);
    filled += take;
  }
  return out;
}

async function runTrain(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      data: { type: 'string' },
      point: { type: 'string' },
      latents: { type: 'string' },
      k: { type: 'string' },
      steps: { type: 'string', default: '1000' },
      batch: { type: 'string', default: '1024' },
      lr: { type: 'string' },
      warmup: { type: 'string' },
      seed: { type: 'string', default: '0' },
      'b-dec': { type: 'string', default: 'geometric-median' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(trainHelp);
    return 0;
  }
  if (values.latents === undefined || values.k === undefined) throw new RangeError('imprint sae train: --latents N and --k K are required');
  if (values.out === undefined) throw new RangeError('imprint sae train: --out DIR is required');
  const latents = parseNumberFlag('latents', values.latents, positive, 'a positive integer')!;
  const k = parseNumberFlag('k', values.k, (n) => positive(n) && n <= latents, `an integer in [1, --latents ${latents}]`)!;
  const steps = parseNumberFlag('steps', values.steps, positive, 'a positive integer')!;
  const batchSize = parseNumberFlag('batch', values.batch, positive, 'a positive integer')!;
  const lr = parseNumberFlag('lr', values.lr, (n) => n > 0 && Number.isFinite(n), 'a positive number') ?? 2e-4 * Math.sqrt(16384 / latents);
  const warmupSteps = parseNumberFlag('warmup', values.warmup, (n) => Number.isSafeInteger(n) && n >= 0, 'an integer >= 0') ?? Math.floor(steps / 20);
  const seed = parseNumberFlag('seed', values.seed, (n) => Number.isSafeInteger(n), 'an integer')!;
  const bDecInit = values['b-dec'];
  if (bDecInit !== 'mean' && bDecInit !== 'geometric-median') throw new RangeError(`--b-dec must be mean or geometric-median, got '${bDecInit}'`);
  const dataset = openDataset(values.data, 'train');
  const point = choosePoint(dataset, values.point);

  // Shuffled passes over the dataset, one after another, for as many steps as asked;
  // shard-local shuffling keeps memory at one shard however large the dataset.
  const rng = new Random(seed);
  const stream = (function* () { for (;;) yield* dataset.batches(point, batchSize, rng); })();
  const config = { architecture: 'topk' as const, dIn: dataset.d, dSae: latents, k, hookName: point, modelName: dataset.manifest.model.name };
  const result = trainTopKSae(stream, config, { steps, batchSize, lr, warmupSteps, seed, bDecInit, progress: true });
  saveSaeLens(result.sae, values.out);
  const last = result.last!;
  console.log(`trained ${latents} latents (k ${k}) at ${point} for ${result.steps} steps on ${result.tokens} rows: explained variance ${last.explainedVariance.toFixed(3)}, L0 ${last.meanL0.toFixed(1)}, dead ${last.deadLatents} -> ${values.out}`);
  return 0;
}

async function runEval(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      sae: { type: 'string' },
      data: { type: 'string' },
      rows: { type: 'string', default: '65536' },
      model: { type: 'string' },
      sequences: { type: 'string', default: '16' },
      seed: { type: 'string', default: '2' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(evalHelp);
    return 0;
  }
  if (values.sae === undefined) throw new RangeError('imprint sae eval: --sae DIR is required');
  const rowLimit = parseNumberFlag('rows', values.rows, positive, 'a positive integer')!;
  const sequenceCount = parseNumberFlag('sequences', values.sequences, positive, 'a positive integer')!;
  const seed = parseNumberFlag('seed', values.seed, (n) => Number.isSafeInteger(n), 'an integer')!;
  const sae = loadSaeArgument(values.sae, '--sae');
  const dataset = openDataset(values.data, 'eval');
  const point = choosePoint(dataset, residualHookPoint(sae.config.hookName));
  if (dataset.d !== sae.dIn) throw new RangeError(`--data ${dataset.dir} holds rows of width ${dataset.d}, but the SAE reads ${sae.dIn}`);
  const metrics = saeMetrics(sae, readRows(dataset, point, rowLimit));
  const report: Record<string, unknown> = {
    point, rows: metrics.rows, explainedVariance: metrics.explainedVariance, mse: metrics.mse, meanL0: metrics.meanL0, deadFraction: metrics.deadFraction,
  };
  if (values.model !== undefined) {
    const loaded = loadModelArgument(values.model, 'sae eval');
    const tokenizer = requireTokenizer(loaded, 'sae eval');
    // Held-out documents: the world corpus at its own seed, general text from the held-out split.
    const context = loaded.model.spec.maxPositions;
    const sequences = Array.from({ length: sequenceCount }, (_, i) => tokenizer.encode(corpusDocument(seed, i, defaultMix, 'heldOut').text).slice(0, context));
    report.splicedCrossEntropy = splicedCrossEntropy(loaded.model, sae, sequences);
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return 0;
  }
  console.log(`SAE ${values.sae} at ${point} on ${metrics.rows} rows:`);
  console.log(`  explained variance ${metrics.explainedVariance.toFixed(4)}, mse ${metrics.mse.toExponential(3)}`);
  console.log(`  mean L0 ${metrics.meanL0.toFixed(2)}, dead latents ${(metrics.deadFraction * 100).toFixed(1)}%`);
  const ce = report.splicedCrossEntropy as ReturnType<typeof splicedCrossEntropy> | undefined;
  if (ce !== undefined) {
    console.log(`  cross-entropy over ${ce.tokens} tokens: clean ${ce.clean.toFixed(4)}, spliced ${ce.spliced.toFixed(4)}, zero-ablated ${ce.zeroAblation.toFixed(4)}; recovered ${(ce.recovered * 100).toFixed(1)}%`);
  }
  return 0;
}

async function runShow(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      sae: { type: 'string' },
      data: { type: 'string' },
      model: { type: 'string' },
      feature: { type: 'string' },
      top: { type: 'string', default: '10' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(showHelp);
    return 0;
  }
  if (values.sae === undefined || values.data === undefined || values.feature === undefined) throw new RangeError('imprint sae show: --sae DIR, --data DIR and --feature I are required');
  const index = parseNumberFlag('feature', values.feature, (n) => Number.isSafeInteger(n) && n >= 0, 'a latent index (an integer >= 0)')!;
  const top = parseNumberFlag('top', values.top, positive, 'a positive integer')!;
  const sae = loadSaeArgument(values.sae, '--sae');
  const loaded = loadModelArgument(values.model, 'sae show');
  const tokenizer = requireTokenizer(loaded, 'sae show');
  const direction = saeDecoderRow(sae, index, `--sae ${values.sae}`);
  console.log(`latent ${index} of ${values.sae}`);
  printFeatureLabels(loaded.model, tokenizer, values.data, saeScorer(sae, index), direction, residualHookPoint(sae.config.hookName), top);
  return 0;
}
