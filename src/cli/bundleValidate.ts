import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { saveBundle } from '../features/bundles/index.js';
import { checkFeatureSteering } from '../eval/steeringCheck.js';
import { resolveBundleArgument, saeResolverFor } from './bundle.js';
import { loadModelArgument, parseNumberFlag } from './modelArgument.js';
import { loadBundle } from '../features/bundles/index.js';

// `imprint bundle validate`: the causal check behind every shipped feature. Each
// feature with an axis and side is steered at --scale on unstated prompts; the
// judge's hit rate for its side with steering minus without is the margin. With
// --write the results go into the bundle (feature.steering), for its card.

export const validateHelp = `usage: imprint bundle validate PATH|NAME [--model DIR] [--scale S[,S...]] [--prompts N] [--max-tokens N] [--seed S] [--write] [--json]

Steers each feature that names an axis and side, and reports how far the
matching judge's rate for that side moves (the margin). With several scales,
each feature keeps the scale with the largest margin (all are printed).`;

export async function runValidate(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      model: { type: 'string' },
      scale: { type: 'string', default: '8' },
      prompts: { type: 'string', default: '32' },
      'max-tokens': { type: 'string', default: '80' },
      seed: { type: 'string', default: '7' },
      temperature: { type: 'string', default: '0.7' },
      write: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(validateHelp);
    return 0;
  }
  if (positionals.length !== 1) throw new RangeError(`imprint bundle validate: give one bundle (a .bundle.json path or a name), got ${positionals.length}`);
  const path = resolveBundleArgument(positionals[0]);
  const { bundle, vectors } = loadBundle(path);
  const { model, tokenizer, dir } = loadModelArgument(values.model, 'bundle validate');
  if (tokenizer === null) throw new RangeError(`imprint bundle validate: ${dir} has no tokenizer.json`);
  const options = {
    prompts: parseNumberFlag('prompts', values.prompts, (n) => Number.isInteger(n) && n >= 1, 'a positive integer')!,
    maxTokens: parseNumberFlag('max-tokens', values['max-tokens'], (n) => Number.isInteger(n) && n >= 1, 'a positive integer')!,
    seed: parseNumberFlag('seed', values.seed, (n) => Number.isSafeInteger(n), 'an integer')!,
    temperature: parseNumberFlag('temperature', values.temperature, (n) => n >= 0 && Number.isFinite(n), 'a number >= 0')!,
    saeResolver: saeResolverFor(path),
  };
  const scales = values.scale.split(',').map((text) => parseNumberFlag('scale', text, (n) => Number.isFinite(n) && n !== 0, 'a comma-separated list of non-zero numbers')!);
  const results = [];
  for (const feature of bundle.features) {
    if (feature.axis === undefined || feature.side === undefined) {
      if (!values.json) console.log(`skip  ${feature.id}: no axis/side to judge`);
      continue;
    }
    let result = null;
    for (const scale of scales) {
      const attempt = await checkFeatureSteering(model, tokenizer, bundle, vectors, feature, { ...options, scale });
      if (scales.length > 1 && !values.json) console.log(`      ${feature.id} at scale ${scale}: ${(attempt.baselineRate * 100).toFixed(1)}% -> ${(attempt.steeredRate * 100).toFixed(1)}%`);
      if (result === null || attempt.margin > result.margin) result = attempt;
    }
    if (result === null) throw new RangeError('imprint bundle validate: give at least one --scale');
    results.push(result);
    if (!values.json) {
      console.log(`${result.margin > 0 ? 'ok  ' : 'FAIL'}  ${feature.id.padEnd(28)} ${feature.axis}=${feature.side}: ${(result.baselineRate * 100).toFixed(1)}% -> ${(result.steeredRate * 100).toFixed(1)}% at scale ${result.scale} (margin ${(result.margin * 100).toFixed(1)} points)`);
    }
    if (values.write) feature.steering = { scale: result.scale, margin: Number(result.margin.toFixed(4)), judge: `${feature.axis} judge, rate of "${feature.side}"` };
  }
  if (values.write) saveBundle(dirname(path), bundle, vectors);
  if (values.json) console.log(JSON.stringify({ bundle: bundle.name, results }));
  return results.every((r) => r.margin > 0) ? 0 : 1;
}
