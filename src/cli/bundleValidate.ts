import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../io/atomicWrite.js';
import { DEFAULT_MIN_Z, loadBundle, renderBundleCard, saveBundle, type BundleFeature } from '../features/bundles/index.js';
import { SteeringProbe, type SteeringCheckResult } from '../eval/steeringCheck.js';
import { resolveBundleArgument, saeResolverFor } from './bundle.js';
import { commandLine } from './features.js';
import { loadModelArgument, parseNumberFlag } from './modelArgument.js';

// `imprint bundle validate`: the causal check behind every shipped feature. Each
// feature with an axis and side is steered on unstated prompts; the judge's rate
// for its side with steering minus without is the margin. Picking the best of
// several scales and then reporting that same run would let noise pass, so the
// scale is selected on one seed and confirmed on fresh prompts (seed + 1000);
// only the confirmation counts, and it passes when z = margin / SE >= --min-z.
// With --write the confirmation goes into the bundle (feature.steering) and the
// bundle's card NAME.md is written beside it.

/** The confirmation seed is the selection seed plus this, so its prompts are new. */
export const CONFIRMATION_SEED_OFFSET = 1000;

export const validateHelp = `usage: imprint bundle validate PATH|NAME [--model DIR] [--scale S[,S...]] [--prompts N] [--max-tokens N] [--seed S] [--min-z Z] [--max-reply-loss L] [--write [--build-script FILE] [--drop-failing]] [--json]

Steers each feature that names an axis and side, and reports how far the
matching judge's rate for that side moves (the margin). With several scales,
each feature's scale is the one with the largest margin on --seed (default 7);
it is then confirmed on fresh prompts (seed + ${CONFIRMATION_SEED_OFFSET}), and only that run is
reported. A feature passes when the confirmation's z = margin / SE is at least
--min-z (default ${DEFAULT_MIN_Z}); the exit status is 1 when any feature fails.
--write stores the results in the bundle and writes its card NAME.md beside it;
--build-script FILE puts the script that built the bundle into the card.
--drop-failing removes the features that fail from the written bundle (the card
lists them with their figures). A steered reply counts only when fluent: the unsteered model's mean loss on it
is at most L nats/token (default: the unsteered replies' 95th percentile + 1).`;

export interface FeatureValidation {
  feature: string;
  axis: string;
  side: string;
  /** The scale confirmed: the selection's best, or the only scale given. */
  scale: number;
  /** One run per scale on the selection seed; empty when only one scale is given (nothing to select). */
  selection: SteeringCheckResult[];
  /** The run at `scale` on fresh prompts; its margin, SE and z are the reported ones. */
  confirmation: SteeringCheckResult;
  /** confirmation.z (rounded as written to the bundle) >= minZ. */
  pass: boolean;
}

function rounded(x: number): number {
  return Number(x.toFixed(4));
}

function figures(r: SteeringCheckResult): string {
  const sign = r.margin >= 0 ? '+' : '';
  return `${(r.baselineRate * 100).toFixed(1)}% -> ${(r.steeredRate * 100).toFixed(1)}% (margin ${sign}${(r.margin * 100).toFixed(1)} ± ${(r.standardError * 100).toFixed(1)} points, z ${r.z.toFixed(2)}, ${(r.steeredFluent * 100).toFixed(0)}% fluent)`;
}

function readBuildScript(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  if (!existsSync(path)) throw new RangeError(`--build-script ${path} does not exist; expected the script that built the bundle`);
  return readFileSync(path, 'utf8');
}

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
      'min-z': { type: 'string', default: String(DEFAULT_MIN_Z) },
      'max-reply-loss': { type: 'string' },
      'drop-failing': { type: 'boolean', default: false },
      write: { type: 'boolean', default: false },
      'build-script': { type: 'string' },
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
  // Every flag is checked before the model loads and the (long) runs start.
  const scales = values.scale.split(',').map((text) => parseNumberFlag('scale', text, (n) => Number.isFinite(n) && n !== 0, 'a comma-separated list of non-zero numbers')!);
  const prompts = parseNumberFlag('prompts', values.prompts, (n) => Number.isInteger(n) && n >= 1, 'a positive integer')!;
  const maxTokens = parseNumberFlag('max-tokens', values['max-tokens'], (n) => Number.isInteger(n) && n >= 1, 'a positive integer')!;
  const seed = parseNumberFlag('seed', values.seed, (n) => Number.isSafeInteger(n) && Number.isSafeInteger(n + CONFIRMATION_SEED_OFFSET), 'an integer')!;
  const temperature = parseNumberFlag('temperature', values.temperature, (n) => n >= 0 && Number.isFinite(n), 'a number >= 0')!;
  const maxReplyLoss = parseNumberFlag('max-reply-loss', values['max-reply-loss'], (n) => Number.isFinite(n) && n > 0, 'a positive number of nats/token');
  const minZ = parseNumberFlag('min-z', values['min-z'], (n) => Number.isFinite(n) && n > 0, 'a positive number (the z a confirmation run needs to pass)')!;
  if (values['drop-failing'] && !values.write) throw new RangeError('--drop-failing removes features from the written bundle, which only --write writes; add --write');
  if (values['build-script'] !== undefined && !values.write) throw new RangeError('--build-script goes into the card, which only --write writes; add --write');
  const buildScript = readBuildScript(values['build-script']);

  const path = resolveBundleArgument(positionals[0]);
  const { bundle, vectors } = loadBundle(path);
  const { model, tokenizer, dir } = loadModelArgument(values.model, 'bundle validate');
  if (tokenizer === null) throw new RangeError(`imprint bundle validate: ${dir} has no tokenizer.json`);
  // One probe for the whole bundle: each domain's unsteered replies are generated once per seed.
  const probe = new SteeringProbe(model, tokenizer, bundle, vectors, { prompts, maxTokens, temperature, saeResolver: saeResolverFor(path), ...(maxReplyLoss === undefined ? {} : { maxReplyLoss }) });
  const confirmationSeed = seed + CONFIRMATION_SEED_OFFSET;
  const say = (line: string) => { if (!values.json) console.log(line); };

  const results: FeatureValidation[] = [];
  const skipped: string[] = [];
  for (const feature of bundle.features) {
    if (feature.axis === undefined || feature.side === undefined) {
      say(`skip  ${feature.id}: no axis/side to judge`);
      skipped.push(feature.id);
      continue;
    }
    const selection: SteeringCheckResult[] = [];
    let scale = scales[0];
    // With one scale there is nothing to select, so its selection run would be wasted.
    if (scales.length > 1) {
      for (const candidate of scales) {
        const attempt = await probe.check(feature, candidate, seed);
        say(`      ${feature.id} at scale ${candidate}: ${figures(attempt)}`);
        selection.push(attempt);
      }
      scale = selection.reduce((best, r) => (r.margin > best.margin ? r : best)).scale;
    }
    const confirmation = await probe.check(feature, scale, confirmationSeed);
    const pass = rounded(confirmation.z) >= minZ;
    results.push({ feature: feature.id, axis: feature.axis, side: feature.side, scale, selection, confirmation, pass });
    // The coding judge leaves some replies unlabelled; the rates are over those it labelled.
    const unjudged = confirmation.judged < prompts || confirmation.baselineJudged < prompts
      ? ` (judged ${confirmation.baselineJudged} unsteered, ${confirmation.judged} steered)` : '';
    say(`${pass ? 'ok  ' : 'FAIL'}  ${feature.id.padEnd(28)} ${feature.axis}=${feature.side}: ${figures(confirmation)} at scale ${scale}, confirmed on ${prompts} fresh prompts${unjudged}`);
    if (values.write) writeSteering(feature, confirmation, { prompts, seed: confirmationSeed, scales });
  }
  const passed = results.every((r) => r.pass);
  if (values.write) {
    // --drop-failing keeps only what passed: a shipped bundle holds causal features only,
    // and the card still lists what was checked and dropped, with its figures.
    const failing = new Set(values['drop-failing'] ? results.filter((r) => !r.pass).map((r) => r.feature) : []);
    const dropped = bundle.features.filter((f) => failing.has(f.id));
    if (dropped.length === bundle.features.length) throw new RangeError(`imprint bundle validate: every feature failed, so --drop-failing would leave ${bundle.name} empty; nothing was written`);
    bundle.features = bundle.features.filter((f) => !failing.has(f.id));
    const kept = new Map([...vectors].filter(([name]) => bundle.features.some((f) => f.kind === 'vector' && f.tensor === name)));
    const saved = saveBundle(dirname(path), bundle, kept);
    const card = renderBundleCard(saved.bundle, { validateCommand: commandLine('bundle', ['validate', ...args]), buildScript, minZ, selectionSeed: seed, dropped });
    const cardPath = join(dirname(path), `${saved.bundle.name}.md`);
    writeFileAtomic(cardPath, [new TextEncoder().encode(card)]);
    say(`wrote ${saved.jsonPath} and ${cardPath}`);
  }
  if (values.json) {
    console.log(JSON.stringify({
      bundle: bundle.name,
      protocol: { scales, selectionSeed: seed, confirmationSeed, prompts, maxTokens, temperature, minZ },
      passed, results, skipped,
    }));
  }
  return passed ? 0 : 1;
}

function writeSteering(feature: BundleFeature, r: SteeringCheckResult, run: { prompts: number; seed: number; scales: number[] }): void {
  feature.steering = {
    scale: r.scale,
    margin: rounded(r.margin),
    judge: `${r.axis} judge, rate of "${r.side}"`,
    baseline: rounded(r.baselineRate),
    steered: rounded(r.steeredRate),
    standardError: rounded(r.standardError),
    z: rounded(r.z),
    prompts: run.prompts,
    seed: run.seed,
    selectedFrom: [...run.scales],
    fluent: rounded(r.steeredFluent),
    fluencyLimit: rounded(r.fluencyLimit),
  };
}
