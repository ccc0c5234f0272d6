import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { TextTokenizer } from '../io/tokenizer.js';
import type { CausalLm } from '../model/causalLm.js';
import { parseHookPoint } from '../model/hooks.js';
import { ActivationDataset } from '../features/activations/index.js';
import { PROVENANCE_METHODS, modelFingerprint, type ModelFingerprint, type Provenance } from '../features/bundles/index.js';
import { differenceOfMeans, firstPrincipalComponent, meanActivations, rankFeaturesByDifference, type FeatureDifference } from '../features/discovery/index.js';
import { promotedTokens, topActivatingContexts, type RowScorer } from '../features/labels/index.js';
import { loadSaeLens, residualHookPoint, type SparseAutoencoder } from '../features/sae/index.js';
import { loadModelArgument, parseNumberFlag } from './modelArgument.js';
import { readJsonFile, readJsonlTexts, writeTextFile } from './textFiles.js';

// `imprint features find`: a contrastive direction from two text sets (and, with
// an SAE, the latents that tell the sets apart), written as a direction file
// that `bundle create` takes. `imprint features label`: what a direction or an
// SAE latent responds to (top contexts) and what it says (logit lens).
// The direction file and SAE argument helpers here are shared with `sae` and `bundle`.

export const DIRECTION_FORMAT = 'imprint.direction';

/** What `features find --out` writes. */
export interface DirectionFile {
  format: typeof DIRECTION_FORMAT;
  version: 1;
  model: ModelFingerprint;
  point: string;
  method: 'diff-means' | 'pca';
  positions: 'all' | 'last';
  /** Unit vector of the model's hidden size; positives project higher. */
  direction: number[];
  /** Separation, accuracy, ... (non-finite values are written as null). */
  diagnostics: Record<string, number | boolean | null>;
  provenance: Provenance;
  /** With --sae: the latents ranked by differential activation. */
  saeFeatures?: { sae: string; ranked: FeatureDifference[] };
}

const findHelp = `usage: imprint features find --model DIR --pos FILE --neg FILE --point P [options]

Finds the direction separating two sets of texts (JSONL, {"text": ...} per line)
in the residual stream at P, reports how well it separates them, and with --sae
ranks the SAE's latents by differential activation.

  --model DIR            model directory (default: the shipped model)
  --pos FILE, --neg FILE the two sets (pairs, line by line, for pca)
  --point P              hook point, e.g. blocks.3.post
  --method M             diff-means (default) or pca (first principal component of the paired differences)
  --positions W          all (default: each text's mean over its tokens) or last (its last token)
  --sae DIR              also rank this SAE's latents (SAELens directory, trained at P)
  --top N                latents to list (default 10)
  --out FILE.json        write the direction, diagnostics and provenance (input of bundle create)`;

const labelHelp = `usage: imprint features label --model DIR --data DIR (--direction FILE.json | --sae DIR --feature I) [--top N] [--point P]

Labels a feature: the dataset's top-activating contexts (the activating token
marked «thus») and the tokens its direction promotes and suppresses through the
unembedding (the logit lens).

  --model DIR       model directory (default: the shipped model)
  --data DIR        an activation dataset (imprint activations) holding the feature's hook point
  --direction FILE  a direction file from features find --out
  --sae DIR         or an SAE (SAELens directory) ...
  --feature I       ... and the index of its latent
  --top N           contexts and tokens to show (default 10)
  --point P         the hook point (default: the direction's or the SAE's)`;

export async function runFeatures(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'find') return runFind(rest);
  if (sub === 'label') return runLabel(rest);
  if (sub === undefined || sub === '--help' || sub === '-h') {
    console.log(`${findHelp}\n\n${labelHelp}`);
    return sub === undefined ? 2 : 0;
  }
  throw new RangeError(`imprint features: unknown subcommand '${sub}'; expected find or label`);
}

/** The command line as typed (quoted where needed), recorded in provenance so a result can be rerun. */
export function commandLine(command: string, args: readonly string[]): string {
  const quote = (a: string) => (/^[\w./:=,#@+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return ['imprint', command, ...args].map(quote).join(' ');
}

export function requireTokenizer(loaded: { tokenizer: TextTokenizer | null; dir: string }, command: string): TextTokenizer {
  if (loaded.tokenizer === null) throw new RangeError(`imprint ${command}: ${loaded.dir} has no tokenizer.json, so text cannot be encoded`);
  return loaded.tokenizer;
}

export function modelNameOf(dir: string): string {
  return basename(resolve(dir));
}

/** Loads an SAELens directory named by `flag`, with an error that says what was expected. */
export function loadSaeArgument(dir: string, flag: string): SparseAutoencoder {
  if (!existsSync(dir)) throw new RangeError(`${flag} ${dir} does not exist; expected an SAE directory (cfg.json + sae_weights.safetensors, as sae train writes)`);
  return loadSaeLens(dir);
}

/** Latent `index`'s decoder row (its direction in the residual stream). */
export function saeDecoderRow(sae: SparseAutoencoder, index: number, what: string): Float32Array {
  if (!Number.isSafeInteger(index) || index < 0 || index >= sae.dSae) throw new RangeError(`${what}: latent ${index} is outside 0..${sae.dSae - 1}`);
  return Float32Array.from(sae.decoderWeight.data.subarray(index * sae.dIn, (index + 1) * sae.dIn));
}

/** Throws unless the SAE reads the residual stream at `point`. */
export function checkSaePoint(sae: SparseAutoencoder, point: string, what: string): void {
  const saePoint = residualHookPoint(sae.config.hookName);
  if (saePoint !== point) throw new RangeError(`${what} was trained at ${saePoint}, not at ${point}`);
}

export function readDirectionFile(path: string, flag: string): DirectionFile {
  const expected = 'a direction file written by imprint features find --out';
  const json = readJsonFile(path, flag, expected) as Partial<DirectionFile> | null;
  const fail = (detail: string): never => { throw new RangeError(`${flag} ${path}: ${detail}; expected ${expected}`); };
  if (json === null || typeof json !== 'object' || json.format !== DIRECTION_FORMAT) fail(`format is not "${DIRECTION_FORMAT}"`);
  const file = json as DirectionFile;
  if (typeof file.point !== 'string') fail('point is missing');
  if (!Array.isArray(file.direction) || file.direction.length === 0 || !file.direction.every(Number.isFinite)) fail('direction must be a non-empty array of finite numbers');
  const p = file.provenance as Partial<Provenance> | undefined;
  if (p === undefined || !PROVENANCE_METHODS.includes(p.method!) || typeof p.data !== 'string' || typeof p.created !== 'string') fail('provenance (method, data, created) is missing');
  if (typeof file.model !== 'object' || file.model === null || !Number.isSafeInteger(file.model.hiddenSize)) fail('model is missing');
  return file;
}

function finiteOrNull(record: object): Record<string, number | boolean | null> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, typeof v === 'number' && !Number.isFinite(v) ? null : v]));
}

const fixed = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : String(x));

async function runFind(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' },
      pos: { type: 'string' },
      neg: { type: 'string' },
      point: { type: 'string' },
      method: { type: 'string', default: 'diff-means' },
      positions: { type: 'string', default: 'all' },
      sae: { type: 'string' },
      top: { type: 'string', default: '10' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(findHelp);
    return 0;
  }
  for (const flag of ['pos', 'neg', 'point'] as const) {
    if (values[flag] === undefined) throw new RangeError(`imprint features find: --${flag} is required (see --help)`);
  }
  const method = values.method;
  if (method !== 'diff-means' && method !== 'pca') throw new RangeError(`--method must be diff-means or pca, got '${method}'`);
  const positions = values.positions;
  if (positions !== 'all' && positions !== 'last') throw new RangeError(`--positions must be all or last, got '${positions}'`);
  const top = parseNumberFlag('top', values.top, (n) => Number.isSafeInteger(n) && n >= 1, 'a positive integer')!;
  const posTexts = readJsonlTexts(values.pos!, '--pos');
  const negTexts = readJsonlTexts(values.neg!, '--neg');
  const point = values.point!;
  const loaded = loadModelArgument(values.model, 'features find');
  const tokenizer = requireTokenizer(loaded, 'features find');
  const { model } = loaded;
  parseHookPoint(point, model.spec.layers);
  const sae = values.sae === undefined ? null : loadSaeArgument(values.sae, '--sae');
  if (sae !== null) checkSaePoint(sae, point, `--sae ${values.sae}`);

  const d = model.spec.hiddenSize;
  const options = { positions, maxTokensPerText: model.spec.maxPositions } as const;
  const pos = meanActivations(model, tokenizer, posTexts, point, options);
  const neg = meanActivations(model, tokenizer, negTexts, point, options);
  const pca = method === 'pca' ? firstPrincipalComponent(pos, neg, d) : null;
  const { direction, diagnostics } = pca ?? differenceOfMeans(pos, neg, d);
  console.log(`direction at ${point} by ${method} over ${positions === 'all' ? 'all positions' : 'the last position'}: ${posTexts.length} positive, ${negTexts.length} negative texts`);
  console.log(`  separation ${fixed(diagnostics.separation)} (gap ${fixed(diagnostics.gap)}, pooled std ${fixed(diagnostics.pooledStd)}), accuracy ${fixed(diagnostics.accuracy)}`);
  const extra = pca === null ? {} : { pairAccuracy: pca.pairAccuracy, explainedVariance: pca.explainedVariance, converged: pca.converged };
  if (pca !== null) console.log(`  pair accuracy ${fixed(pca.pairAccuracy)}, explained variance of the differences ${fixed(pca.explainedVariance)}`);

  let saeFeatures: DirectionFile['saeFeatures'];
  if (sae !== null) {
    const ranked = rankFeaturesByDifference((rows, n) => sae.encode(rows, n), sae.dSae, pos, neg, d).slice(0, top);
    saeFeatures = { sae: resolve(values.sae!), ranked };
    console.log(`SAE latents by differential activation (${values.sae}):`);
    console.log('  latent     score    effect  mean+    mean-    fire+  fire-');
    for (const f of ranked) {
      console.log(`  ${String(f.feature).padStart(6)} ${fixed(f.score).padStart(9)} ${fixed(f.effectSize).padStart(9)}  ${fixed(f.meanPos).padEnd(8)} ${fixed(f.meanNeg).padEnd(8)} ${f.firingPos.toFixed(2)}   ${f.firingNeg.toFixed(2)}`);
    }
  }

  if (values.out !== undefined) {
    const provenance: Provenance = {
      method: method === 'pca' ? 'contrastive-pca' : 'contrastive-diff-means',
      data: `${posTexts.length} texts of ${values.pos} against ${negTexts.length} of ${values.neg}, ${positions === 'all' ? 'mean over all positions' : 'last position'}`,
      counts: { positive: posTexts.length, negative: negTexts.length },
      created: new Date().toISOString(),
      command: commandLine('features', ['find', ...args]),
    };
    const file: DirectionFile = {
      format: DIRECTION_FORMAT, version: 1, model: modelFingerprint(modelNameOf(loaded.dir), model.spec), point, method, positions,
      direction: Array.from(direction), diagnostics: finiteOrNull({ ...diagnostics, ...extra }), provenance,
      ...(saeFeatures === undefined ? {} : { saeFeatures }),
    };
    writeTextFile(values.out, `${JSON.stringify(file, null, 2)}\n`);
    console.log(`wrote ${values.out}`);
  }
  return 0;
}

async function runLabel(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' },
      data: { type: 'string' },
      direction: { type: 'string' },
      sae: { type: 'string' },
      feature: { type: 'string' },
      top: { type: 'string', default: '10' },
      point: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(labelHelp);
    return 0;
  }
  if (values.data === undefined) throw new RangeError('imprint features label: --data DIR (an activation dataset) is required');
  if ((values.direction === undefined) === (values.sae === undefined)) throw new RangeError('imprint features label: give either --direction FILE.json or --sae DIR --feature I');
  if (values.sae !== undefined && values.feature === undefined) throw new RangeError('imprint features label: --sae needs --feature I (the latent index)');
  const top = parseNumberFlag('top', values.top, (n) => Number.isSafeInteger(n) && n >= 1, 'a positive integer')!;
  const loaded = loadModelArgument(values.model, 'features label');
  const tokenizer = requireTokenizer(loaded, 'features label');
  if (values.direction !== undefined) {
    const file = readDirectionFile(values.direction, '--direction');
    const direction = Float32Array.from(file.direction);
    printFeatureLabels(loaded.model, tokenizer, values.data, { direction }, direction, values.point ?? file.point, top);
    return 0;
  }
  const index = parseNumberFlag('feature', values.feature, (n) => Number.isSafeInteger(n) && n >= 0, 'a latent index (an integer >= 0)')!;
  const sae = loadSaeArgument(values.sae!, '--sae');
  const point = values.point ?? residualHookPoint(sae.config.hookName);
  printFeatureLabels(loaded.model, tokenizer, values.data, saeScorer(sae, index), saeDecoderRow(sae, index, `--sae ${values.sae}`), point, top);
  return 0;
}

export function saeScorer(sae: SparseAutoencoder, latent: number): RowScorer {
  return { encode: (rows, n) => sae.encode(rows, n), dSae: sae.dSae, latent };
}

/** Top contexts over the dataset at `point`, then the logit lens of `direction`. */
export function printFeatureLabels(model: CausalLm, tokenizer: TextTokenizer, dataDir: string, scorer: RowScorer, direction: Float32Array, point: string, top: number): void {
  if (!existsSync(dataDir)) throw new RangeError(`--data ${dataDir} does not exist; expected an activation dataset (imprint activations --out)`);
  const dataset = ActivationDataset.open(dataDir);
  if (dataset.d !== model.spec.hiddenSize) throw new RangeError(`--data ${dataDir} holds rows of width ${dataset.d}, but the model's hidden size is ${model.spec.hiddenSize}`);
  const contexts = topActivatingContexts(dataset, scorer, { tokenizer, point, topN: top });
  console.log(`top ${contexts.length} contexts at ${point} (of ${dataset.rows} rows):`);
  for (const c of contexts) console.log(`  ${fixed(c.value).padStart(9)}  ${JSON.stringify(c.context)}`);
  const lens = promotedTokens(model, tokenizer, direction, top);
  const tokens = (list: typeof lens.promoted) => list.map((t) => `${JSON.stringify(t.token)} ${t.score.toFixed(2)}`).join(', ');
  console.log(`promoted:   ${tokens(lens.promoted)}`);
  console.log(`suppressed: ${tokens(lens.suppressed)}`);
}
