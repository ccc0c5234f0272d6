import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { CausalLm } from '../model/causalLm.js';
import { parseHookPoint } from '../model/hooks.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import { ActivationDataset } from '../features/activations/index.js';
import {
  BUNDLE_FORMAT, BUNDLE_NAME_PATTERN, BUNDLE_VERSION, loadBundle, modelFingerprint, renderBundleHtml, renderBundleText, saveBundle,
  type Bundle, type BundleFeature, type LoadedBundle, type Provenance, type SaeDirectionResolver,
} from '../features/bundles/index.js';
import { promotedTokens, topActivatingContexts, type RowScorer } from '../features/labels/index.js';
import type { SparseAutoencoder } from '../features/sae/index.js';
import { ResidualHooks } from '../model/hooks.js';
import { bundleToControlVector, exportControlVectorGguf, parseSteerSpec, steeringHooksFor, type SteerSpec } from '../features/steering/index.js';
import { checkSaePoint, commandLine, loadSaeArgument, modelNameOf, readDirectionFile, requireTokenizer, saeDecoderRow, saeScorer } from './features.js';
import { loadModelArgument, parseNumberFlag, shippedModelDir } from './modelArgument.js';
import { writeTextFile } from './textFiles.js';
import { runValidate, validateHelp } from './bundleValidate.js';

// `imprint bundle create | show | export`: named sets of features. create turns
// `features find` direction files and SAE latents into a bundle (their provenance
// carried over), show prints it (or writes an HTML page), export writes a
// llama.cpp control vector. The bundle-argument and SAE-resolver helpers are
// shared with `generate --steer`.

const createHelp = `usage: imprint bundle create --name NAME --model DIR --point P --out DIR --feature LABEL=FILE.json[:axis:side] ... [options]

  --name NAME                          bundle name (letters, digits, ".", "_", "-"); files NAME.bundle.json (+ .safetensors)
  --model DIR                          the model the features belong to (default: the shipped model)
  --point P                            the hook point of every feature, e.g. blocks.3.post
  --out DIR                            directory to write the bundle into
  --feature LABEL=FILE.json[:axis:side]   a direction from features find --out (repeatable)
  --sae-feature LABEL=SAEDIR#INDEX[:axis:side]   latent INDEX of an SAE (repeatable); with FILE.json#INDEX
                                       instead of SAEDIR, a features find --sae result that ranks the latent
                                       (its provenance then records the ranking)
  --description TEXT                   what the bundle is for
  --data DIR                           label every feature with its top contexts in this activation dataset
  --top N                              contexts and promoted tokens kept per feature (default 5)`;

const showHelp = `usage: imprint bundle show PATH|NAME [--html FILE]

Prints a bundle (PATH of a .bundle.json, or a NAME in the shipped model's bundles/);
--html also writes it as a standalone HTML page.`;

const exportHelp = `usage: imprint bundle export PATH|NAME --to control-vector --out FILE.gguf --scale FEATURE=S ... [--model DIR]

Writes sum(S x unit direction) over the given features as a llama.cpp control
vector (llama-cli --control-vector FILE.gguf). FEATURE is an id or a label.`;

export async function runBundle(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'create') return runCreate(rest);
  if (sub === 'show') return runShow(rest);
  if (sub === 'export') return runExport(rest);
  if (sub === 'validate') return runValidate(rest);
  if (sub === undefined || sub === '--help' || sub === '-h') {
    console.log([createHelp, showHelp, exportHelp, validateHelp].join('\n\n'));
    return sub === undefined ? 2 : 0;
  }
  throw new RangeError(`imprint bundle: unknown subcommand '${sub}'; expected create, show, export or validate`);
}

/**
 * A bundle given on the command line: a path to a .bundle.json, or a bare name
 * looked up in `<model>/bundles/` for each model directory given (the shipped
 * model's by default).
 */
export function resolveBundleArgument(ref: string, modelDirs: readonly string[] = [shippedModelDir()]): string {
  if (ref.endsWith('.bundle.json') || ref.includes('/') || ref.includes('\\')) {
    if (!existsSync(ref)) throw new RangeError(`bundle ${ref} does not exist; expected a NAME.bundle.json file or a bundle name`);
    return ref;
  }
  if (!BUNDLE_NAME_PATTERN.test(ref)) throw new RangeError(`bundle "${ref}" is neither a .bundle.json path nor a bundle name (letters, digits, ".", "_", "-")`);
  const candidates = modelDirs.map((dir) => join(dir, 'bundles', `${ref}.bundle.json`));
  const found = candidates.find((path) => existsSync(path));
  if (found === undefined) throw new RangeError(`bundle "${ref}" not found; looked for ${candidates.join(', ')} (give a .bundle.json path instead)`);
  return found;
}

/** SAE features name their SAE by a path relative to the bundle's directory (or absolute); each SAE is loaded once. */
export function saeResolverFor(bundlePath: string): SaeDirectionResolver {
  const cache = new Map<string, SparseAutoencoder>();
  return (sae, index) => {
    const dir = isAbsolute(sae) ? sae : resolve(dirname(bundlePath), sae);
    let loaded = cache.get(dir);
    if (loaded === undefined) {
      loaded = loadSaeArgument(dir, `bundle ${bundlePath}: SAE`);
      cache.set(dir, loaded);
    }
    return saeDecoderRow(loaded, index, `bundle ${bundlePath}: SAE ${sae}`);
  };
}

const STEER_FORM = 'expected BUNDLE:FEATURE=SCALE, BUNDLE a .bundle.json path or a bundle name, e.g. tone:casual=4';

/**
 * Hooks for --steer arguments. The bundle part ends at ".bundle.json:" when the
 * argument names a file (so a path may hold ":"), else at the first ":". Names
 * are looked up in the bundles/ of the model in use, then of the shipped model.
 */
export function steeringHooksForArguments(model: CausalLm, texts: readonly string[], modelDir: string | undefined): ResidualHooks {
  const modelDirs = [...new Set([...(modelDir === undefined ? [] : [modelDir]), shippedModelDir()])];
  const bundles = new Map<string, { loaded: LoadedBundle; specs: SteerSpec[] }>();
  for (const text of texts) {
    const marker = text.indexOf('.bundle.json:');
    const colon = marker >= 0 ? marker + '.bundle.json'.length : text.indexOf(':');
    if (colon < 0) throw new RangeError(`--steer '${text}': no ":" between the bundle and the feature; ${STEER_FORM}`);
    if (colon === 0) throw new RangeError(`--steer '${text}': the bundle before ":" is empty; ${STEER_FORM}`);
    const path = resolve(resolveBundleArgument(text.slice(0, colon), modelDirs));
    let entry = bundles.get(path);
    if (entry === undefined) {
      entry = { loaded: loadBundle(path), specs: [] };
      bundles.set(path, entry);
    }
    try {
      // The spec parser wants a bundle name; the name is the loaded bundle's, whatever the path.
      entry.specs.push(parseSteerSpec(`${entry.loaded.bundle.name}:${text.slice(colon + 1)}`));
    } catch (error) {
      throw new RangeError(`--steer '${text}': ${(error as Error).message.replace(/^steering spec "[^"]*": /, '')}`);
    }
  }
  const hooks = new ResidualHooks(model.spec.layers);
  for (const [path, { loaded, specs }] of bundles) {
    steeringHooksFor(model, loaded.bundle, loaded.vectors, specs, { saeResolver: saeResolverFor(path), hooks });
  }
  return hooks;
}

interface FeatureArgument { label: string; source: string; axis?: string; side?: string }

/** LABEL=SOURCE[:axis[:side]]; the label ends at the first "=" and the axis starts at the first ":" after it. */
function parseFeatureArgument(text: string, flag: string, sourceForm: string): FeatureArgument {
  const expected = `expected LABEL=${sourceForm}[:axis:side]`;
  const equals = text.indexOf('=');
  if (equals <= 0) throw new RangeError(`${flag} '${text}': no LABEL= before the source; ${expected}`);
  const label = text.slice(0, equals).trim();
  if (label === '') throw new RangeError(`${flag} '${text}': the LABEL before "=" is empty; ${expected}`);
  const [source, axis, side, ...more] = text.slice(equals + 1).split(':');
  if (source === '' || more.length > 0 || axis === '' || side === '') throw new RangeError(`${flag} '${text}': ${expected}`);
  return { label, source, ...(axis === undefined ? {} : { axis }), ...(side === undefined ? {} : { side }) };
}

/** A feature id from its label: the label's letters and digits, dashes between, unique within the bundle. */
function featureId(label: string, taken: Set<string>): string {
  const base = label.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+|-+$/g, '') || 'feature';
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
  taken.add(id);
  return id;
}

interface Labeller { model: CausalLm; tokenizer: TextTokenizer; dataset: ActivationDataset | null; top: number; point: string }

/** Top contexts (when a dataset is given) and promoted tokens, stored with the feature so show can print them. */
function addLabels(feature: BundleFeature, scorer: RowScorer, direction: Float32Array, labeller: Labeller): void {
  const { model, tokenizer, dataset, top, point } = labeller;
  feature.promotedTokens = promotedTokens(model, tokenizer, direction, top).promoted.map((t) => ({ token: t.token, logit: t.score }));
  if (dataset !== null) {
    feature.topContexts = topActivatingContexts(dataset, scorer, { tokenizer, point, topN: top }).map((c) => ({ text: c.context, activation: c.value }));
  }
}

async function runCreate(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      name: { type: 'string' },
      model: { type: 'string' },
      point: { type: 'string' },
      out: { type: 'string' },
      feature: { type: 'string', multiple: true, default: [] },
      'sae-feature': { type: 'string', multiple: true, default: [] },
      description: { type: 'string', default: '' },
      data: { type: 'string' },
      top: { type: 'string', default: '5' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(createHelp);
    return 0;
  }
  for (const flag of ['name', 'point', 'out'] as const) {
    if (values[flag] === undefined) throw new RangeError(`imprint bundle create: --${flag} is required (see --help)`);
  }
  if (values.feature.length + values['sae-feature'].length === 0) throw new RangeError('imprint bundle create: give at least one --feature or --sae-feature');
  const top = parseNumberFlag('top', values.top, (n) => Number.isSafeInteger(n) && n >= 1, 'a positive integer')!;
  const name = values.name!;
  const point = values.point!;
  const outDir = values.out!;
  if (!BUNDLE_NAME_PATTERN.test(name)) throw new RangeError(`--name '${name}' may only hold letters, digits, ".", "_" and "-", starting with a letter or digit`);
  const loaded = loadModelArgument(values.model, 'bundle create');
  const tokenizer = requireTokenizer(loaded, 'bundle create');
  const { model } = loaded;
  const { layer } = parseHookPoint(point, model.spec.layers);
  if (values.data !== undefined && !existsSync(values.data)) throw new RangeError(`--data ${values.data} does not exist; expected an activation dataset (imprint activations --out)`);
  const dataset = values.data === undefined ? null : ActivationDataset.open(values.data);
  const labeller: Labeller = { model, tokenizer, dataset, top, point };
  const created = new Date().toISOString();
  const command = commandLine('bundle', ['create', ...args]);
  const taken = new Set<string>();
  const features: BundleFeature[] = [];
  const vectors = new Map<string, Float32Array>();

  for (const text of values.feature) {
    const arg = parseFeatureArgument(text, '--feature', 'FILE.json');
    const file = readDirectionFile(arg.source, '--feature');
    if (file.point !== point) throw new RangeError(`--feature ${arg.source} was found at ${file.point}, but the bundle's --point is ${point}`);
    const made = file.model;
    if (file.direction.length !== model.spec.hiddenSize || made.modelType !== model.spec.modelType || made.layers !== model.spec.layers) {
      throw new RangeError(`--feature ${arg.source} was found on ${made.name} (${made.modelType}, hidden ${made.hiddenSize}, ${made.layers} layers), but --model is ${model.spec.modelType}, hidden ${model.spec.hiddenSize}, ${model.spec.layers} layers`);
    }
    const id = featureId(arg.label, taken);
    const direction = Float32Array.from(file.direction);
    const feature: BundleFeature = { kind: 'vector', id, label: arg.label, tensor: id, provenance: file.provenance, ...axisOf(arg) };
    addLabels(feature, { direction }, direction, labeller);
    features.push(feature);
    vectors.set(id, direction);
  }
  for (const text of values['sae-feature']) {
    const arg = parseFeatureArgument(text, '--sae-feature', 'SAEDIR#INDEX');
    const hash = arg.source.lastIndexOf('#');
    const index = Number(arg.source.slice(hash + 1));
    if (hash <= 0 || !Number.isSafeInteger(index) || index < 0 || arg.source.slice(hash + 1).trim() === '') {
      throw new RangeError(`--sae-feature '${text}': expected LABEL=SAEDIR#INDEX[:axis:side] with INDEX a latent number`);
    }
    const { saeDir, provenance } = saeFeatureSource(arg.source.slice(0, hash), index, text, created, command);
    const sae = loadSaeArgument(saeDir, '--sae-feature');
    checkSaePoint(sae, point, `--sae-feature ${saeDir}`);
    const direction = saeDecoderRow(sae, index, `--sae-feature ${saeDir}`);
    const feature: BundleFeature = {
      kind: 'sae', id: featureId(arg.label, taken), label: arg.label,
      // Relative to the bundle, so a bundle moved together with its SAE still finds it.
      sae: relative(resolve(outDir), resolve(saeDir)) || '.', index,
      provenance,
      ...axisOf(arg),
    };
    addLabels(feature, saeScorer(sae, index), direction, labeller);
    features.push(feature);
  }

  const bundle: Bundle = {
    format: BUNDLE_FORMAT, version: BUNDLE_VERSION, name, description: values.description,
    model: modelFingerprint(modelNameOf(loaded.dir), model.spec), hookPoint: point as Bundle['hookPoint'], layer, features,
  };
  const saved = saveBundle(outDir, bundle, vectors);
  console.log(`bundle ${name}: ${features.length} feature${features.length === 1 ? '' : 's'} (${features.map((f) => f.id).join(', ')}) at ${point} -> ${saved.jsonPath}`);
  return 0;
}

/**
 * Where an --sae-feature comes from: an SAE directory (the latent was chosen by
 * hand), or a `features find --sae` result file whose ranking lists the latent
 * (found by differential activation: the provenance says between what, and its rank).
 */
function saeFeatureSource(source: string, index: number, text: string, created: string, command: string): { saeDir: string; provenance: Provenance } {
  if (!source.endsWith('.json')) {
    return { saeDir: source, provenance: { method: 'manual', data: `latent ${index} of the SAE at ${source}, chosen on the command line`, created, command } };
  }
  const file = readDirectionFile(source, '--sae-feature');
  if (file.saeFeatures === undefined) throw new RangeError(`--sae-feature '${text}': ${source} holds no SAE ranking; run features find with --sae to make one`);
  const rank = file.saeFeatures.ranked.findIndex((r) => r.feature === index);
  if (rank < 0) {
    throw new RangeError(`--sae-feature '${text}': latent ${index} is not in the ranking of ${source} (it lists ${file.saeFeatures.ranked.map((r) => r.feature).join(', ')})`);
  }
  const entry = file.saeFeatures.ranked[rank];
  const saeDir = relative(process.cwd(), file.saeFeatures.sae) || '.';
  return {
    saeDir,
    provenance: {
      method: 'sae-differential',
      data: `latent ${index} of the SAE at ${saeDir}, ranked ${rank + 1} of ${file.saeFeatures.ranked.length} by differential activation (score ${entry.score.toFixed(3)}, effect size ${entry.effectSize.toFixed(3)}) between ${file.provenance.data} (${source})`,
      created, command,
    },
  };
}

function axisOf(arg: FeatureArgument): { axis?: string; side?: string } {
  return { ...(arg.axis === undefined ? {} : { axis: arg.axis }), ...(arg.side === undefined ? {} : { side: arg.side }) };
}

function loadBundleArgument(positionals: string[], command: string): LoadedBundle {
  if (positionals.length !== 1) throw new RangeError(`imprint bundle ${command}: give one bundle (a .bundle.json path or a name), got ${positionals.length}`);
  return loadBundle(resolveBundleArgument(positionals[0]));
}

async function runShow(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { html: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(showHelp);
    return 0;
  }
  const { bundle } = loadBundleArgument(positionals, 'show');
  process.stdout.write(`${renderBundleText(bundle)}\n`);
  if (values.html !== undefined) {
    writeTextFile(values.html, renderBundleHtml(bundle));
    console.log(`wrote ${values.html}`);
  }
  return 0;
}

async function runExport(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      to: { type: 'string' },
      out: { type: 'string' },
      scale: { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(exportHelp);
    return 0;
  }
  if (values.to !== 'control-vector') throw new RangeError(`--to must be control-vector, got '${values.to ?? ''}'`);
  if (values.out === undefined) throw new RangeError('imprint bundle export: --out FILE.gguf is required');
  if (values.scale.length === 0) throw new RangeError('imprint bundle export: give at least one --scale FEATURE=S');
  const scales = new Map<string, number>();
  for (const text of values.scale) {
    const equals = text.lastIndexOf('=');
    const scale = Number(text.slice(equals + 1));
    if (equals <= 0 || text.slice(equals + 1).trim() === '' || !Number.isFinite(scale)) throw new RangeError(`--scale '${text}': expected FEATURE=S with S a finite number, e.g. formal=4`);
    scales.set(text.slice(0, equals).trim(), scale);
  }
  const { bundle, vectors, path } = loadBundleArgument(positionals, 'export');
  const exported = exportControlVectorGguf(values.out, bundleToControlVector(bundle, vectors, scales, saeResolverFor(path)));
  console.log(`control vector of bundle ${bundle.name} (${[...scales].map(([f, s]) => `${f}=${s}`).join(', ')}) with ${exported.layerCount} layer${exported.layerCount === 1 ? '' : 's'} -> ${values.out}`);
  return 0;
}
