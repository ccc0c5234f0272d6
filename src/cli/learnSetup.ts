import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  ADAPTER_KINDS, type AdapterKind, AdapterSet, type AdapterSetConfig, type AdapterSpec, AdapterStore, type AdapterVersionRecord,
  type FeatureGeometry, type FeatureSpace, type LinearSite, featureSubspace, type StoredState, VERSIONS_DIR, linearSites, readMap, selectTargets, streamPosition, writeBasis,
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
// labels for reports, and the quality detector of the gate.
//
// Default targets, per kind, for a bundle whose directions live at hook point P
// (src/adapt/spaces.ts decides what is allowed; nothing here is looser):
//   write  o_proj and down_proj of every layer whose write lands at or before P
//          (blocks.H.post: layers 0..H; blocks.H.pre: 0..H-1);
//   read   q_proj, k_proj, v_proj, gate_proj and up_proj of every layer that
//          reads the stream at or after P (blocks.H.post: layers H+1..);
//   reft, gain  at P itself (no linear targets);
//   lora   the write kind's modules and layers, unconstrained (every layer when
//          no layer writes before P).
// --targets picks the modules instead (names as PEFT matches them: "o_proj",
// "mlp.down_proj"); their layers are still the allowed ones unless --layers
// gives them, in which case the space rules judge exactly what was asked for.

export const DEFAULT_BUNDLE = 'assistant-style';
export const DEFAULT_RANK = 4;
export const QUALITY_CACHE_FILE = 'quality-detector.json';

const WRITE_ROLES = new Set(['attention-output', 'down']);
const READ_ROLES = new Set(['query', 'key', 'value', 'qkv', 'gate', 'up']);

/** What a new feature-constrained adapter is confined to when --features is not given. */
export const DEFAULT_FEATURES: FeatureChoice = { mode: 'all' };

export interface AdapterChoice {
  kind?: AdapterKind;
  rank?: number;
  targets?: string[];
  layers?: number[];
}

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

export function kindDescription(kind: AdapterKind): string {
  return { write: 'write-constrained FC-LoRA', read: 'read-constrained FC-LoRA', reft: 'representation edit', gain: 'feature gain', lora: 'plain LoRA' }[kind];
}

/** The module name a target list uses for a site: its last name part, or the last two where the last is shared by roles (GPT-2 c_proj). */
function moduleName(site: LinearSite, sites: readonly LinearSite[]): string {
  const parts = site.name.split('.');
  const last = parts[parts.length - 1];
  const shared = sites.some((s) => s.role !== site.role && s.name.endsWith(`.${last}`));
  return shared ? parts.slice(-2).join('.') : last;
}

function allowed(kind: 'write' | 'read', site: LinearSite, hook: number): boolean {
  return kind === 'write'
    ? site.writesResidual !== null && site.writesResidual.position <= hook
    : site.readsResidual !== null && site.readsResidual.position >= hook;
}

/** Linear sites as config entries: modules grouped by identical layer lists. */
function specsFor(kind: 'write' | 'read' | 'lora', rank: number, chosen: readonly LinearSite[], sites: readonly LinearSite[]): AdapterSpec[] {
  const byModule = new Map<string, Set<number>>();
  for (const site of chosen) {
    const name = moduleName(site, sites);
    byModule.set(name, (byModule.get(name) ?? new Set()).add(site.layer));
  }
  const byLayers = new Map<string, { modules: string[]; layers: number[] }>();
  for (const [module, set] of byModule) {
    const layers = [...set].sort((a, b) => a - b);
    const key = layers.join(',');
    const group = byLayers.get(key) ?? { modules: [], layers };
    group.modules.push(module);
    byLayers.set(key, group);
  }
  return [...byLayers.values()].map(({ modules, layers }) => ({ kind, ...(kind === 'read' ? {} : { rank }), target: { modules, layers } }) as AdapterSpec);
}

/** The adapter set config a kind gets for a bundle on this model (see the top of this file). */
export function adapterConfigFor(loaded: LoadedModel, space: FeatureGeometry, choice: AdapterChoice, seed: number): AdapterSetConfig {
  const { model } = loaded;
  const kind = choice.kind ?? 'write';
  const rank = choice.rank ?? DEFAULT_RANK;
  const where = `bundle "${space.name}" at ${space.hookPoint}`;
  if (kind === 'reft' || kind === 'gain') {
    const extra = [choice.targets !== undefined ? '--targets' : '', choice.layers !== undefined ? '--layers' : '', choice.rank !== undefined ? '--rank' : ''].filter((s) => s !== '');
    if (extra.length > 0) throw new RangeError(`${extra.join(', ')} do${extra.length === 1 ? 'es' : ''} not apply to --kind ${kind}: a ${kindDescription(kind)} sits on the residual stream at ${where}, not on linear layers`);
    return { seed, adapters: [{ kind }] };
  }
  if (kind === 'read' && choice.rank !== undefined) {
    throw new RangeError(`--rank does not apply to --kind read: a ${kindDescription(kind)} has one trained column per basis direction of bundle "${space.name}" (its rank is ${space.basis.rank})`);
  }
  const layerCount = model.spec.layers;
  for (const l of choice.layers ?? []) {
    if (l >= layerCount) throw new RangeError(`--layers ${l}: the model has layers 0..${layerCount - 1}`);
  }
  const sites = linearSites(model);
  const hook = streamPosition(space.hookPoint, layerCount);
  if (choice.layers !== undefined && choice.targets !== undefined) {
    selectTargets(sites, { modules: choice.targets, layers: choice.layers }, layerCount);
    return { seed, adapters: [{ kind, ...(kind === 'read' ? {} : { rank }), target: { modules: choice.targets, layers: choice.layers } } as AdapterSpec] };
  }
  const ruleKind = kind === 'read' ? 'read' : 'write';
  const roles = ruleKind === 'read' ? READ_ROLES : WRITE_ROLES;
  let chosen: LinearSite[];
  if (choice.targets !== undefined) {
    chosen = selectTargets(sites, { modules: choice.targets, ...(choice.layers === undefined ? {} : { layers: choice.layers }) }, layerCount);
    if (kind !== 'lora' && choice.layers === undefined) {
      // Per module, the layers the space rules allow; a module with none is judged by the rule itself, for its message.
      const kept = chosen.filter((s) => allowed(ruleKind, s, hook));
      for (const entry of choice.targets) {
        const mine = chosen.filter((s) => s.name === entry || s.name.endsWith(`.${entry}`));
        if (mine.length > 0 && !mine.some((s) => allowed(ruleKind, s, hook))) {
          const what = `--kind ${kind} (${kindDescription(kind)}) on --targets ${entry}`;
          if (ruleKind === 'write') writeBasis(mine[mine.length - 1], space, layerCount, what);
          else readMap(mine[0], space, layerCount, what);
          throw new RangeError(`${what}: no layer of ${entry} can take it for ${where}`);
        }
      }
      chosen = kept;
    }
  } else {
    const inLayers = sites.filter((s) => roles.has(s.role) && (choice.layers === undefined || choice.layers.includes(s.layer)));
    chosen = choice.layers !== undefined ? inLayers : inLayers.filter((s) => allowed(ruleKind, s, hook));
    if (chosen.length === 0 && kind === 'lora') chosen = sites.filter((s) => roles.has(s.role));
    if (chosen.length === 0) {
      const side = ruleKind === 'write'
        ? `no layer of this model writes the residual stream at or before ${space.hookPoint} (a write must land where the directions were measured or earlier)`
        : `no layer of this model reads the residual stream at or after ${space.hookPoint} (the model has layers 0..${layerCount - 1}; a read must come after the features exist)`;
      const other = ruleKind === 'write' ? 'read, reft, gain or lora' : 'write, reft, gain or lora';
      throw new RangeError(`--kind ${kind} (${kindDescription(kind)}) cannot use ${where}: ${side}; use --kind ${other}, or a bundle at ${ruleKind === 'write' ? 'a later' : 'an earlier'} hook point`);
    }
  }
  return { seed, adapters: specsFor(kind, rank, chosen, sites) };
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
    const config = adapterConfigFor(loaded, space, choice, options.seed);
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
    const asked = adapterConfigFor(loaded, space, choice, storedSpec.seed ?? options.seed);
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
