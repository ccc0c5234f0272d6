import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { defaultBaseSuiteOptions, runBaseSuite } from '../eval/baseSuite.js';
import { qualityBars } from '../pretrain/modelCard.js';
import { shippedModelConfig } from '../pretrain/config.js';
import { loadModelArgument, parseNumberFlag } from './modelArgument.js';

// `imprint eval --suite base`: the base probes of a model (default: the shipped one).
// eval.ts has chosen this suite; --suite is parsed again here only so that strict parsing accepts it.

export const baseSuiteHelp = `usage: imprint eval --suite base [--model DIR] [--json] [--prompts N] [--temperature T] [--seed S] [--out FILE]

Runs the base probes: style/role following with the style stated in context,
the mixture of styles when unstated, fact QA accuracy, and held-out general-text
loss, all judged from generated text. Default model: models/${shippedModelConfig.name}.`;

export async function runEvalBase(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      suite: { type: 'string' },
      model: { type: 'string' },
      json: { type: 'boolean', default: false },
      prompts: { type: 'string' },
      temperature: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(baseSuiteHelp);
    return 0;
  }
  const { model, tokenizer, dir } = loadModelArgument(values.model, 'eval');
  if (tokenizer === null) throw new RangeError(`imprint eval: ${dir} has no tokenizer.json`);
  const options = {
    ...defaultBaseSuiteOptions,
    promptsPerDomain: parseNumberFlag('prompts', values.prompts, (n) => Number.isInteger(n) && n >= 1, 'a positive integer') ?? defaultBaseSuiteOptions.promptsPerDomain,
    temperature: parseNumberFlag('temperature', values.temperature, (n) => n >= 0 && Number.isFinite(n), 'a number >= 0') ?? defaultBaseSuiteOptions.temperature,
    seed: parseNumberFlag('seed', values.seed, (n) => Number.isSafeInteger(n), 'an integer') ?? defaultBaseSuiteOptions.seed,
    onProgress: values.json ? undefined : (stage: string, done: number, total: number) => process.stderr.write(`\r${stage}: ${done}/${total}\x1b[K`),
  };
  const result = await runBaseSuite(model, tokenizer, options);
  if (values.out) writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
  if (values.json) {
    console.log(JSON.stringify({ model: dir, ...result, bars: qualityBars(result) }));
    return 0;
  }
  process.stderr.write('\n');
  for (const row of qualityBars(result)) console.log(`${row.pass ? 'pass' : 'FAIL'}  ${row.name.padEnd(36)} ${row.value.padStart(7)}  (bar ${row.bar})`);
  console.log(`      general-text held-out loss ${result.general.heldOutLoss} nats/token`);
  return 0;
}
