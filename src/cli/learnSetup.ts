import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  ADAPTER_KINDS, type AdapterChoice, type AdapterKind, AdapterSet, type AdapterSetConfig, AdapterStore, type AdapterVersionRecord,
  type FeatureSpace, type StoredState, VERSIONS_DIR, defaultAdapterConfig, featureSubspace,
} from '../adapt/index.js';
import { type Bundle, loadBundle, terminalSafe } from '../features/bundles/index.js';
import { type Experience, type QualityDetector, defaultFeatureSelection, loadBundleFeatureSpace, loadOrBuildQualityDetector, selectUserFeatures, worldChatEncoding } from '../learn/index.js';
import type { LoadedModel } from '../model/load.js';
import { resolveBundleArgument } from './bundle.js';
import { setOnModel } from './adapterStoreArgument.js';
import { parseNumberFlag, shippedModelDir } from './modelArgument.js';

// What `imprint learn` and `imprint chat` share: the adapter a run trains (a new
// one of the asked kind with targets the space rules allow, or the current
// version of an existing store), the bundle it is constrained to, the feature
// labels for reports, and the quality detector of the gate. Which targets a new
// adapter of each kind gets is src/adapt/defaultConfig.ts's rule.

export { type AdapterChoice, DEFAULT_RANK, kindDescription } from '../adapt/index.js';

export const DEFAULT_BUNDLE = 'assistant-style';
export const QUALITY_CACHE_FILE = 'quality-detector.json';


/** What a new feature-constrained adapter is confined to when --features is not given. */
export const DEFAULT_FEATURES: FeatureChoice = { mode: 'all' };


export function parseKindFlag(raw: string | undefined): AdapterKind | undefined {
  if (raw === undefined) return undefined;
  if (!(ADAPTER_KINDS as readonly string[]).includes(raw)) {
    throw new RangeError(`--kind must be one of write, read, reft, gain, lora (write/read: feature-constrained LoRA; reft: representation edit; gain: feature gain; lora: plain LoRA), got '${raw}'`);
  }
  return raw as AdapterKind;
}

export function parseRankFlag(raw: string | undefined): number | undefined {
  return parseNumberFlag('rank', raw, (n) => Number.isSafeInteger(n) && n >= 1 && n <= 256, 'an integer in [1, 256]');
}

/** "o_proj,down_proj" → ["o_proj", "down_proj"]. */
export function parseTargetsFlag(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const list = raw.split(',').map((s) => s.trim());
  if (list.length === 0 || list.some((s) => s === '')) throw new RangeError(`--targets must be a comma-separated list of module names (e.g. o_proj,down_proj), got '${raw}'`);
  return [...new Set(list)];
}

/** "0,1,2" or "0-3" or "0-1,4". */
export function parseLayersFlag(raw: string | undefined): number[] | undefined {
  if (raw === undefined) return undefined;
  const layers = new Set<number>();
  for (const part of raw.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (m === null) throw new RangeError(`--layers must be layer indices and ranges like 0,1,2 or 0-3, got '${raw}'`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new RangeError(`--layers: the range ${part.trim()} runs backwards`);
    for (let l = from; l <= to; l++) layers.add(l);
  }
  return [...layers].sort((a, b) => a - b);
}

/** JSON with sorted keys, for comparing configs. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    return `{${Object.keys(value).sort().filter((k) => (value as Record<string, unknown>)[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function describeConfig(config: AdapterSetConfig): string {
  return config.adapters.map((a) => {
    const rank = 'rank' in a && a.rank !== undefined ? ` r${a.rank}` : '';
    const target = 'target' in a && a.target !== undefined
      ? ` on ${typeof a.target.modules === 'string' ? `/${a.target.modules}/` : a.target.modules.join('+')}${a.target.layers === undefined ? '' : ` layers ${describeLayers(a.target.layers)}`}`
      : ' at the hook point';
    return `${a.kind}${rank}${target}`;
  }).join('; ');
}

function describeLayers(layers: readonly number[]): string {
  const contiguous = layers.every((l, i) => i === 0 || l === layers[i - 1] + 1);
  return contiguous && layers.length > 2 ? `${layers[0]}..${layers[layers.length - 1]}` : layers.join(',');
}

/** A --bundle value (a name, looked up in the model's bundles/ and then the shipped model's, or a path) as an absolute path. */
export function resolveBundlePath(modelDir: string, ref: string): string {
  return resolve(resolveBundleArgument(ref, [...new Set([modelDir, shippedModelDir()])]));
}

export interface ExistingStore {
  store: AdapterStore;
  version: number;
  stored: StoredState;
}

/**
 * The store at `dir` when it holds a version; null when `dir` does not exist or
 * is an empty directory (a new store goes there). Anything else is refused, and
 * nothing is created or changed.
 */
export function existingStore(dir: string, label: string, tolerated: readonly string[] = [QUALITY_CACHE_FILE]): ExistingStore | null {
  if (!existsSync(dir)) return null;
  if (!statSync(dir).isDirectory()) throw new RangeError(`${label} is a file; expected an adapter store directory (or a path where one can be created)`);
  const versionsDir = join(dir, VERSIONS_DIR);
  if (!existsSync(versionsDir)) {
    const others = readdirSync(dir).filter((name) => !tolerated.includes(name));
    if (others.length === 0) return null;
    throw new RangeError(`${label} is a non-empty directory that is not an adapter store (no ${VERSIONS_DIR}/, but ${others.slice(0, 3).join(', ')}${others.length > 3 ? ', ...' : ''}); give a new or empty directory, or an existing store`);
  }
  const store = AdapterStore.open(dir);
  const version = store.current();
  if (version === null) return null;
  return { store, version, stored: store.readState(version) };
}

/**
 * --features: which of the bundle's features a NEW adapter is confined to.
 *   all      every feature of the bundle;
 *   auto     the ones the user's interactions move (learn/featureSelection.ts),
 *            ranked on the first SELECT_FROM interactions that carry context;
 *   ID,ID    the named ones.
 * A stored adapter keeps the features it was made with.
 */
export type FeatureChoice = { mode: 'all' } | { mode: 'auto'; keep: number } | { mode: 'ids'; ids: string[] };

/** Interactions with context that `--features auto` ranks the features on. */
export const SELECT_FROM = 8;

export function parseFeaturesFlag(raw: string | undefined, keepRaw: string | undefined): FeatureChoice | undefined {
  const keep = parseNumberFlag('keep-features', keepRaw, (n) => Number.isSafeInteger(n) && n >= 1, 'an integer >= 1');
  if (raw === undefined) return keep === undefined ? undefined : { mode: 'auto', keep };
  if (keep !== undefined && raw !== 'auto') throw new RangeError(`--keep-features applies to --features auto, not --features ${raw}`);
  if (raw === 'all') return { mode: 'all' };
  if (raw === 'auto') return { mode: 'auto', keep: keep ?? defaultFeatureSelection.keep };
  const ids = raw.split(',').map((id) => id.trim());
  if (ids.some((id) => id === '')) throw new RangeError(`--features must be all, auto or a comma-separated list of feature ids, got '${raw}'`);
  return { mode: 'ids', ids };
}

/** The features a new adapter gets: the choice's subspace of the bundle, and a line saying what was chosen and why. */
function chooseFeatures(loaded: LoadedModel, space: FeatureSpace, choice: FeatureChoice, experiences: readonly Experience[]): { space: FeatureSpace; line: string } {
  if (choice.mode === 'all') return { space, line: `features: all ${space.ids.length} of bundle "${space.name}"` };
  if (choice.mode === 'ids') {
    const chosen = featureSubspace(space, choice.ids);
    return { space: chosen, line: `features: ${chosen.ids.join(', ')} (of bundle "${space.name}", as --features named them)` };
  }
  const withContext = experiences.filter((e) => e.context !== undefined || e.reaction.kind === 'correction' || e.reaction.kind === 'preference').slice(0, SELECT_FROM);
  if (withContext.length === 0) {
    return { space, line: `features: all ${space.ids.length} of bundle "${space.name}" (--features auto: no interaction carries context, a correction or a stated preference, so nothing says which features this user moves)` };
  }
  if (loaded.tokenizer === null) throw new RangeError(`--features auto: ${loaded.dir} has no tokenizer.json, which ranking the features needs`);
  const selected = selectUserFeatures(loaded.model, worldChatEncoding(loaded.tokenizer), space, withContext, { ...defaultFeatureSelection, keep: choice.keep });
  const ranked = selected.ranking.features.slice(0, 6).map((f) => `${f.id} ${f.score.toFixed(2)}`).join(', ');
  return { space: selected.space, line: `features: ${selected.kept.join(', ')} (--features auto: of bundle "${space.name}", ranked on the first ${withContext.length} interaction${withContext.length === 1 ? '' : 's'} with context by how far it moves them: ${ranked})` };
}

export interface PreparedAdapter {
  adapters: AdapterSet;
  /** The bundle file the run uses (labels, quality detector point). */
  bundlePath: string;
  bundleName: string;
  /** Feature id → label, terminal-safe. */
  labels: Map<string, string>;
  /** The store's current version it continues from, or null for a new adapter. */
  continuedFrom: ExistingStore | null;
  description: string;
  /** What --features chose for a new adapter (null when continuing one, or for plain LoRA). */
  featuresLine: string | null;
}

export interface PrepareOptions {
  loaded: LoadedModel;
  modelFlag: string | undefined;
  storeDir: string;
  /** How messages name the store, e.g. "--out DIR" or "the store of --user maya (DIR)". */
  storeLabel: string;
  /** What to change for a different store, e.g. "--out" or "--user". */
  storeFlag: string;
  /** Files that may sit in a directory that is not a store yet (caches, a chat profile). */
  tolerated?: readonly string[];
  bundleFlag: string | undefined;
  choice: AdapterChoice;
  seed: number;
  /** --features (default: DEFAULT_FEATURES for a feature-constrained kind). */
  features?: FeatureChoice;
  /** The interactions `--features auto` ranks on (in order; those with context count). */
  experiences?: readonly Experience[];
}

/** A new adapter set of the chosen kind, or the store's current version (whose config must match any flags given). */
export function prepareAdapter(options: PrepareOptions): PreparedAdapter {
  const { loaded, storeDir, choice } = options;
  const existing = existingStore(storeDir, options.storeLabel, options.tolerated);
  const storedFeatures = existing?.stored.state.config.features ?? null;
  const bundleRef = options.bundleFlag ?? storedFeatures?.name ?? DEFAULT_BUNDLE;
  let bundlePath: string;
  let bundle: Bundle;
  let space: FeatureSpace;
  try {
    bundlePath = resolveBundlePath(loaded.dir, bundleRef);
    bundle = loadBundle(bundlePath).bundle;
    space = loadBundleFeatureSpace(bundlePath, loaded.model);
  } catch (error) {
    if (options.bundleFlag !== undefined) throw error;
    const why = storedFeatures === null ? `the default bundle "${DEFAULT_BUNDLE}"` : `bundle "${bundleRef}", the one the stored adapter was trained with,`;
    throw new RangeError(`${why} cannot be used: ${(error as Error).message}; pass --bundle NAME|PATH, a bundle made for this model`);
  }
  const labels = new Map(bundle.features.map((f) => [f.id, terminalSafe(f.label)]));
  const featuresGiven = options.features !== undefined && options.features.mode !== 'all';
  if (existing === null) {
    const config = defaultAdapterConfig(loaded.model, space, choice, options.seed);
    const plainLora = config.adapters.every((a) => a.kind === 'lora');
    if (plainLora && featuresGiven) throw new RangeError('--features does not apply to --kind lora: plain LoRA is not confined to any feature');
    const features = plainLora ? null : chooseFeatures(loaded, space, options.features ?? DEFAULT_FEATURES, options.experiences ?? []);
    const adapters = AdapterSet.create(loaded.model, config, features?.space ?? space);
    return { adapters, bundlePath, bundleName: bundle.name, labels, continuedFrom: null, description: describeConfig(config), featuresLine: features?.line ?? null };
  }
  if (options.features !== undefined) {
    const own = storedFeatures === null ? 'no features (plain LoRA)' : `its own ${storedFeatures.ids.length} feature${storedFeatures.ids.length === 1 ? '' : 's'} (${storedFeatures.ids.join(', ')})`;
    throw new RangeError(`${options.storeLabel} holds an adapter (version ${existing.version}) confined to ${own}; --features chooses them for a new adapter only: drop it to continue, or use another ${options.storeFlag}`);
  }
  const { version, stored } = existing;
  const storedSpec = stored.state.config.spec;
  if (storedFeatures !== null && storedFeatures.name !== bundle.name) {
    throw new RangeError(`${options.storeLabel} holds an adapter constrained to bundle "${storedFeatures.name}" (version ${version}), but --bundle gives "${bundle.name}"; drop --bundle to continue with its own, or use another ${options.storeFlag}`);
  }
  if (choice.kind !== undefined || choice.rank !== undefined || choice.targets !== undefined || choice.layers !== undefined) {
    const asked = defaultAdapterConfig(loaded.model, space, choice, storedSpec.seed ?? options.seed);
    if (canonical(asked.adapters) !== canonical(storedSpec.adapters)) {
      throw new RangeError(`${options.storeLabel} holds an adapter of config ${describeConfig(storedSpec)} (version ${version}), but the flags ask for ${describeConfig(asked)}; drop --kind/--rank/--targets/--layers to continue it, or use another ${options.storeFlag}`);
    }
  }
  const adapters = setOnModel(stored.state, version, storeDir, loaded, options.modelFlag, { bundle: bundlePath });
  return { adapters, bundlePath, bundleName: bundle.name, labels, continuedFrom: existing, description: describeConfig(storedSpec), featuresLine: null };
}

/** The quality detector for the adapter's hook point, cached in `cachePath` (built once per model and point, seconds). */
export function qualityDetectorFor(loaded: LoadedModel, adapters: AdapterSet, cachePath: string): QualityDetector {
  const point = adapters.features?.hookPoint;
  if (point === undefined) throw new RangeError('the quality detector reads the bundle\'s hook point, and this adapter has no bundle; pass --no-quality');
  if (loaded.tokenizer === null) throw new RangeError(`${loaded.dir} has no tokenizer.json, which the quality detector needs`);
  return loadOrBuildQualityDetector(cachePath, loaded.model, loaded.tokenizer, point);
}

/** The features that moved most between two byFeature norm maps, largest change first. */
export function topMovedFeatures(before: Record<string, number>, after: Record<string, number>, labels: ReadonlyMap<string, string>, count = 3): { id: string; label: string; before: number; after: number; change: number }[] {
  const ids = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  return ids
    .map((id) => ({ id, label: labels.get(id) ?? id, before: before[id] ?? 0, after: after[id] ?? 0, change: (after[id] ?? 0) - (before[id] ?? 0) }))
    .filter((f) => f.change !== 0)
    .sort((a, b) => Math.abs(b.change) - Math.abs(a.change))
    .slice(0, count);
}

export function formatNorm(x: number): string {
  if (x === 0) return '0';
  const abs = Math.abs(x);
  return abs >= 0.01 && abs < 1000 ? x.toFixed(4).replace(/0+$/, '').replace(/\.$/, '') : x.toExponential(2);
}

/** "direct answers +0.0123, casual tone +0.004" */
export function describeMoved(moved: ReturnType<typeof topMovedFeatures>): string {
  if (moved.length === 0) return 'none (the adapter did not change along any feature)';
  return moved.map((f) => `${f.label} ${f.change >= 0 ? '+' : ''}${formatNorm(f.change)}`).join(', ');
}

export type { AdapterVersionRecord };
