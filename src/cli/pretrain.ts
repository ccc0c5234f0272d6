import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultBaseSuiteOptions, runBaseSuite } from '../eval/baseSuite.js';
import { shippedModelConfig, tinyConfig, totalSteps, type PretrainConfig } from '../pretrain/config.js';
import { modelCard } from '../pretrain/modelCard.js';
import { ProgressBar } from '../ui/progressBar.js';
import { pretrain, writePretrainOutputs } from '../pretrain/trainer.js';

// `imprint pretrain`: builds the shipped model from scratch (or the tiny smoke model).

const help = `usage: imprint pretrain [--config shipped|tiny] [--resume] [--run-dir DIR] [--out DIR] [--steps N] [--skip-eval]

Pretrains a Llama-architecture model from scratch on the generated world plus
general text: trains the tokenizer, then the model (AdamW, warm-up + cosine,
clipping, held-out evaluation), checkpointing as it goes. Ctrl-C checkpoints and
stops; --resume continues exactly where it stopped. At the end it writes the model
directory (config.json, model.safetensors, tokenizer, loss-curve.svg), runs the
base probes and writes the model card (README.md).

  --config NAME   shipped (default: the model in models/) or tiny (a seconds-long smoke run)
  --run-dir DIR   checkpoints and the tokenizer (default runs/<name>)
  --out DIR       the model directory (default models/<name>)
  --resume        continue the checkpoint in --run-dir
  --steps N       override the number of steps (the schedule follows)
  --skip-eval     do not run the base probes (the card then has no probe results)`;

export async function runPretrain(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', default: 'shipped' },
      'run-dir': { type: 'string' },
      out: { type: 'string' },
      resume: { type: 'boolean', default: false },
      steps: { type: 'string' },
      'skip-eval': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  const presets: Record<string, PretrainConfig> = { shipped: shippedModelConfig, tiny: tinyConfig };
  const preset = presets[values.config];
  if (preset === undefined) throw new RangeError(`--config must be one of ${Object.keys(presets).join(', ')}, got '${values.config}'`);
  let config = preset;
  if (values.steps !== undefined) {
    const steps = Number(values.steps);
    if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`--steps must be a positive integer, got '${values.steps}'`);
    config = { ...config, steps, warmupSteps: Math.min(config.warmupSteps, Math.max(1, Math.floor(steps / 10))), evalEvery: Math.min(config.evalEvery, steps) };
  }
  const runDir = values['run-dir'] ?? join('runs', config.name);
  const outDir = values.out ?? join('models', config.name);
  let stopRequested = false;
  const onSignal = () => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    process.stderr.write('\nimprint pretrain: stopping after this step and checkpointing (Ctrl-C again to quit at once)\n');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Created at the first step, so a resumed run's rate and ETA count only this run's steps.
  let bar: ProgressBar | null = null;
  let lastLoss = Number.NaN;
  const result = pretrain(config, {
    runDir,
    resume: values.resume,
    shouldStop: () => stopRequested,
    onStep: (step, record, tokensThisRun) => {
      lastLoss = Number.isNaN(lastLoss) ? record.loss : 0.95 * lastLoss + 0.05 * record.loss;
      bar ??= new ProgressBar({ total: totalSteps(config), unit: 'tokens' }, step - 1);
      bar.update(step, tokensThisRun, { loss: lastLoss.toFixed(3), lr: record.lr.toExponential(1) });
    },
  });
  (bar as ProgressBar | null)?.finish();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (result.stoppedEarly) {
    console.error(`imprint pretrain: stopped at step ${result.log.train.length}; continue with: imprint pretrain --config ${values.config} --resume${values['run-dir'] ? ` --run-dir ${runDir}` : ''}`);
    return 130;
  }
  writePretrainOutputs(result, outDir);
  const suite = values['skip-eval'] ? null : await runBaseSuite(result.model, result.tokenizer, {
    ...defaultBaseSuiteOptions,
    ...(values.config === 'tiny' ? { promptsPerDomain: 4, maxTokens: 16, generalPassages: 4 } : {}),
    onProgress: (stage, done, total) => process.stderr.write(`\reval ${stage}: ${done}/${total}\x1b[K`),
  });
  if (suite !== null) {
    process.stderr.write('\n');
    writeFileSync(join(outDir, 'eval-base.json'), `${JSON.stringify(suite, null, 2)}\n`);
  }
  const parameters = result.model.parameters().reduce((n, p) => n + p.size, 0);
  const command = `npx imprint pretrain --config ${values.config}${values.steps ? ` --steps ${values.steps}` : ''}${values.out ? ` --out ${values.out}` : ''}`;
  writeFileSync(join(outDir, 'README.md'), modelCard({
    name: config.name, parameters, log: result.log, suite, command, bytes: statSync(join(outDir, 'model.safetensors')).size,
  }));
  console.log(`wrote ${outDir} (${parameters.toLocaleString('en-US')} parameters, ${result.log.tokensSeen.toLocaleString('en-US')} tokens, ${(result.log.seconds / 60).toFixed(1)} min)`);
  return 0;
}
