import { parseArgs } from 'node:util';
import { OUTPUT_FILES, runLearnProofSuite } from '../eval/learnProofSuite.js';
import { type AxisTarget, DEFAULT_LEARNING_RATE, DEFAULT_PROOF_SELECTION, PROOF_KINDS, type ProofKind, checkAxisTarget, describeProofRun, formatLr } from '../learn/index.js';
import { shippedModelConfig } from '../pretrain/config.js';
import type { HomeAxis } from '../world/home/styleStatements.js';
import { DEFAULT_BUNDLE, parseRankFlag, resolveBundlePath } from './learnSetup.js';
import { asNumber, parseListFlag } from './listFlags.js';
import { loadModelArgument, parseNumberFlag } from './modelArgument.js';

// `imprint eval --suite learn-proof`: the learner's proof as a reproducible
// benchmark (src/eval/learnProofSuite.ts does the work; this file reads flags
// and prints).

const help = `usage: imprint eval --suite learn-proof [--model DIR] [--bundle NAME|PATH] [--seeds 1,2,3]
       [--interactions 50] [--kinds write,selected,lora] [--rank 4] [--lr X[,X...]] [--target AXIS=VALUE]
       [--select-window N] [--select-keep K] [--held-out N] [--general N] [--out DIR] [--json]

The proof that the online learner learns: a simulated home user with a hidden
preference (default directness=direct) talks to the model for --interactions
turns per seed, with write-constrained FC-LoRA on the bundle's subspace, with
write-constrained FC-LoRA on the features the user's first interactions move
(per-user selection), and with plain LoRA of the same rank on the same layers. Measured without any
context in the prompt: the judge's score, the teacher gap (KL of the in-context
teacher against the adapted model) and the loss on held-out general text (the
forgetting probe). Several --lr values run every kind at every learning rate,
and forgetting is compared at equal teacher-gap reduction, each kind at its best
learning rate. The shipped model takes minutes per run.

  --model DIR        default: the shipped model (models/${shippedModelConfig.name})
  --bundle NAME|PATH default: ${DEFAULT_BUNDLE} (looked up in the model's bundles/)
  --seeds LIST       simulated users, default 1,2,3
  --interactions N   per run, default 50
  --kinds LIST       any of write (FC-LoRA on the whole bundle), selected (FC-LoRA on the
                     user's features) and lora (plain LoRA), default write,selected,lora
  --rank R           every kind's rank, default 4
  --select-window N  interactions the selected kind ranks the bundle's features on before
                     its adapter is built, default ${DEFAULT_PROOF_SELECTION.window}
  --select-keep K    most features it keeps (each within half the best score), default ${DEFAULT_PROOF_SELECTION.keep}
  --lr LIST          learner learning rates, default ${formatLr(DEFAULT_LEARNING_RATE)}
  --target AXIS=VAL  the hidden preference, default directness=direct
  --held-out N       held-out requests the judge score and the teacher gap are measured on,
                     default 32 (more: less noise in the matched-level comparison, slower)
  --general N        held-out general-text passages of the forgetting probe, default 24
  --out DIR          saves every finished run to DIR/${OUTPUT_FILES.runs} (rerunning the same
                     command skips them; kinds, lrs and seeds may be added), and at the end
                     ${OUTPUT_FILES.result}, ${OUTPUT_FILES.text}, ${OUTPUT_FILES.learningCurves} and ${OUTPUT_FILES.forgetting}
  --json             one JSON object on stdout (summary, comparisons, file paths)

Progress goes to stderr, a line per measurement, with the run's number, the
time elapsed and an estimate of the time left.`;

function parseTargetFlag(raw: string | undefined): AxisTarget | undefined {
  if (raw === undefined) return undefined;
  const m = /^\s*([a-z]+)\s*=\s*([a-z-]+)\s*$/.exec(raw);
  if (m === null) throw new RangeError(`--target must be AXIS=VALUE, e.g. directness=direct, got '${raw}'`);
  const target = { axis: m[1] as HomeAxis, wanted: m[2] };
  try {
    checkAxisTarget(target);
  } catch (error) {
    throw new RangeError(`--target ${raw}: ${(error as Error).message}`);
  }
  return target;
}

export async function runEvalLearnProof(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      suite: { type: 'string' },
      model: { type: 'string' },
      bundle: { type: 'string' },
      seeds: { type: 'string' },
      interactions: { type: 'string' },
      kinds: { type: 'string' },
      rank: { type: 'string' },
      lr: { type: 'string' },
      target: { type: 'string' },
      'held-out': { type: 'string' },
      'select-window': { type: 'string' },
      'select-keep': { type: 'string' },
      general: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  // Every flag is checked before the model loads.
  const seeds = parseListFlag('seeds', values.seeds, asNumber((n) => Number.isSafeInteger(n) && n >= 0), 'a comma-separated list of integers >= 0 (e.g. 1,2,3)') ?? [1, 2, 3];
  const interactions = parseNumberFlag('interactions', values.interactions, (n) => Number.isSafeInteger(n) && n >= 1 && n <= 100_000, 'an integer in [1, 100000]') ?? 50;
  const kinds = parseListFlag('kinds', values.kinds, (s) => ((PROOF_KINDS as readonly string[]).includes(s) ? s as ProofKind : undefined), 'a comma-separated list of write (FC-LoRA on the bundle), selected (FC-LoRA on the user\'s features) and lora (plain LoRA)') ?? [...PROOF_KINDS];
  const rank = parseRankFlag(values.rank) ?? 4;
  const lrs = parseListFlag('lr', values.lr, asNumber((n) => Number.isFinite(n) && n > 0), 'a comma-separated list of learning rates, each a number > 0 (e.g. 1e-2,3e-3)') ?? [DEFAULT_LEARNING_RATE];
  const target = parseTargetFlag(values.target);
  const heldOutPrompts = parseNumberFlag('held-out', values['held-out'], (n) => Number.isSafeInteger(n) && n >= 1 && n <= 10_000, 'an integer in [1, 10000]');
  const selectWindow = parseNumberFlag('select-window', values['select-window'], (n) => Number.isSafeInteger(n) && n >= 1 && n <= 1000, 'an integer in [1, 1000]');
  const selectKeep = parseNumberFlag('select-keep', values['select-keep'], (n) => Number.isSafeInteger(n) && n >= 1, 'an integer >= 1');
  const generalPassages = parseNumberFlag('general', values.general, (n) => Number.isSafeInteger(n) && n >= 1 && n <= 10_000, 'an integer in [1, 10000]');

  const loaded = loadModelArgument(values.model, 'eval');
  if (loaded.tokenizer === null) throw new RangeError(`imprint eval: ${loaded.dir} has no tokenizer.json, which the simulated user's dialogues need`);
  let bundlePath: string;
  try {
    bundlePath = resolveBundlePath(loaded.dir, values.bundle ?? DEFAULT_BUNDLE);
  } catch (error) {
    if (values.bundle !== undefined) throw error;
    throw new RangeError(`the default bundle "${DEFAULT_BUNDLE}" cannot be used: ${(error as Error).message}; pass --bundle NAME|PATH, a bundle made for this model`);
  }

  if (values.out !== undefined) {
    // Finished runs are on disk already (each is written whole); say how to go on.
    process.once('SIGINT', () => {
      process.stderr.write(`\ninterrupted; finished runs are in ${values.out}/${OUTPUT_FILES.runs}; rerun the same command to continue\n`);
      process.exit(130);
    });
  }
  const suite = await runLearnProofSuite({
    model: loaded.model, tokenizer: loaded.tokenizer, modelDir: loaded.dir, bundlePath,
    grid: { kinds, lrs, seeds }, interactions, rank, target, outDir: values.out,
    selection: { ...(selectWindow === undefined ? {} : { window: selectWindow }), ...(selectKeep === undefined ? {} : { keep: selectKeep }) },
    ...(heldOutPrompts === undefined ? {} : { heldOutPrompts }), ...(generalPassages === undefined ? {} : { generalPassages }),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const { result, files } = suite;
  if (values.json) {
    console.log(JSON.stringify({
      suite: 'learn-proof', model: loaded.dir, config: result.config, summary: result.summary, matched: result.matched, levels: result.levels,
      runs: { total: result.runs.length, ran: suite.ran, resumed: suite.resumed }, files,
    }));
    return 0;
  }
  console.log(describeProofRun(result));
  if (files !== null) console.log(`\nwrote ${files.result}, ${files.text}, ${files.learningCurves}, ${files.forgetting} (runs in ${files.runs})`);
  return 0;
}
