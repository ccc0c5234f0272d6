import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  AdapterSet, type AdapterSetConfig, type AdapterSpec, AdapterStore, AdapterStoreError, type FeatureSpace, type LinearSite, linearSites, streamPosition,
} from '../adapt/index.js';
import { loadBundleFeatureSpace } from '../learn/index.js';
import type { CausalLm } from '../model/causalLm.js';

// One user's adapter, as both threads of the server see it: a versioned
// adapter store (src/adapt/store) in DATA/adapters/USER_ID, whose first version
// is the untrained adapter (so that every update can be rolled back, and
// "reset" is a rollback to it). The HTTP thread reads versions to reply with;
// the learner's worker commits new ones. The store is atomic and locked, so
// either thread may create the first version: the loser of that race finds it
// made and reads it.
//
// A new adapter is a write-constrained FC-LoRA (rank 4 by default) on o_proj and
// down_proj of every layer that writes the residual stream at or before the
// bundle's hook point: the kind and targets `imprint learn` defaults to (see
// src/cli/learnSetup.ts), restated here because src/serve does not depend on
// src/cli.

export const ADAPTERS_DIR = 'adapters';
const WRITE_ROLES = new Set(['attention-output', 'down']);

export function userStoreDir(dataDir: string, userId: number): string {
  return join(dataDir, ADAPTERS_DIR, String(userId));
}

/** A bundle name (looked up in MODEL/bundles) or a .bundle.json path, as an absolute path. */
export function resolveBundle(modelDir: string, ref: string): string {
  const path = ref.endsWith('.bundle.json') || ref.includes('/') ? ref : join(modelDir, 'bundles', `${ref}.bundle.json`);
  if (!existsSync(path)) throw new RangeError(`bundle ${JSON.stringify(ref)} not found (looked for ${path}); give a bundle name from ${join(modelDir, 'bundles')} or a .bundle.json path`);
  return resolve(path);
}

export interface AdapterRecipe {
  space: FeatureSpace;
  config: AdapterSetConfig;
}

/** The feature space of the bundle and the config of a new user's adapter on `model`. */
export function adapterRecipe(model: CausalLm, bundlePath: string, rank: number, seed: number): AdapterRecipe {
  const space = loadBundleFeatureSpace(bundlePath, model);
  const sites = linearSites(model);
  const hook = streamPosition(space.hookPoint, model.spec.layers);
  const chosen = sites.filter((s) => WRITE_ROLES.has(s.role) && s.writesResidual !== null && s.writesResidual.position <= hook);
  if (chosen.length === 0) {
    throw new RangeError(`bundle "${space.name}" at ${space.hookPoint}: no layer of this model writes the residual stream at or before it, so a write-constrained adapter has nowhere to go; use a bundle at a later hook point`);
  }
  return { space, config: { seed, adapters: specsFor(rank, chosen, sites) } };
}

function moduleName(site: LinearSite, sites: readonly LinearSite[]): string {
  const parts = site.name.split('.');
  const last = parts[parts.length - 1];
  // GPT-2 names attention output and MLP output both c_proj: keep the parent to tell them apart.
  return sites.some((s) => s.role !== site.role && s.name.endsWith(`.${last}`)) ? parts.slice(-2).join('.') : last;
}

function specsFor(rank: number, chosen: readonly LinearSite[], sites: readonly LinearSite[]): AdapterSpec[] {
  const byModule = new Map<string, number[]>();
  for (const site of chosen) {
    const name = moduleName(site, sites);
    byModule.set(name, [...(byModule.get(name) ?? []), site.layer]);
  }
  const byLayers = new Map<string, { modules: string[]; layers: number[] }>();
  for (const [module, layers] of byModule) {
    const sorted = [...new Set(layers)].sort((a, b) => a - b);
    const group = byLayers.get(sorted.join(',')) ?? { modules: [], layers: sorted };
    group.modules.push(module);
    byLayers.set(sorted.join(','), group);
  }
  return [...byLayers.values()].map(({ modules, layers }) => ({ kind: 'write', rank, target: { modules, layers } }) as AdapterSpec);
}

/** The user's store, with version 1 (the untrained adapter) made first if the store is new. */
export function openUserStore(dir: string, model: CausalLm, recipe: AdapterRecipe, userName: string): AdapterStore {
  const store = AdapterStore.open(dir);
  if (store.current() === null) {
    const set = AdapterSet.create(model, recipe.config, recipe.space);
    try {
      store.commit(set, { ifCurrent: null, metrics: { source: 'imprint serve', user: userName, initial: true, note: 'the adapter before any update' } });
    } catch (error) {
      // The other thread made version 1 first; that one is as good.
      if (!(error instanceof AdapterStoreError) || store.current() === null) throw error;
    }
  }
  return store;
}

/** A stored version as an adapter set on `model`. */
export function loadVersion(store: AdapterStore, version: number, model: CausalLm): AdapterSet {
  return AdapterSet.fromState(model, store.readState(version).state);
}

/** The first version of the store that is not a rollback: the untrained adapter "reset" returns to. */
export function initialVersion(store: AdapterStore): number {
  const versions = store.versions();
  if (versions.length === 0) throw new AdapterStoreError(store.dir, 'the store has no versions yet');
  return versions[0];
}
