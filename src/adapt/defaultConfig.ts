import type { CausalLm } from '../model/causalLm.js';
import type { AdapterKind, AdapterSetConfig, AdapterSpec } from './config.js';
import type { FeatureGeometry } from './featureSpace.js';
import { type LinearSite, linearSites, streamPosition } from './sites.js';
import { readMap, writeBasis } from './spaces.js';
import { selectTargets } from './targets.js';

// The adapter set a kind gets for a bundle on a model when the caller names no
// targets, and the checks when it does: one rule for `imprint learn`,
// `imprint chat` and `imprint serve`. Messages name the flags those commands
// share (--kind, --rank, --targets, --layers).
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

export const DEFAULT_RANK = 4;
const WRITE_ROLES = new Set(['attention-output', 'down']);
const READ_ROLES = new Set(['query', 'key', 'value', 'qkv', 'gate', 'up']);

export interface AdapterChoice {
  kind?: AdapterKind;
  rank?: number;
  targets?: string[];
  layers?: number[];
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
export function defaultAdapterConfig(model: CausalLm, space: FeatureGeometry, choice: AdapterChoice, seed: number): AdapterSetConfig {
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

