import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  type AdapterChoice, AdapterSet, type AdapterSetConfig, AdapterStore, AdapterStoreError, type FeatureSpace, LOCK_FILE, defaultAdapterConfig, removeLockOfEndedThread,
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
// A new adapter is of the server's --kind (default a write-constrained FC-LoRA
// of rank 4) on the targets src/adapt/defaultConfig.ts gives that kind: the same
// rule as `imprint learn` and `imprint chat`.

export const ADAPTERS_DIR = 'adapters';

export function userStoreDir(dataDir: string, userId: number): string {
  return join(dataDir, ADAPTERS_DIR, String(userId));
}

/**
 * Removes every user store's lock that the ended thread `endedThreadId` (of this
 * process) held, for the learner's host to call before it starts a new worker.
 * Returns the lock files it removed.
 */
export function releaseLocksOfEndedThread(dataDir: string, endedThreadId: number): string[] {
  const root = join(dataDir, ADAPTERS_DIR);
  if (!existsSync(root)) return [];
  return readdirSync(root).map((name) => join(root, name, LOCK_FILE)).filter((lock) => removeLockOfEndedThread(lock, endedThreadId));
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

/** The feature space of the bundle and the config of a new user's adapter of `choice.kind` (default write) on `model`. */
export function adapterRecipe(model: CausalLm, bundlePath: string, choice: Pick<AdapterChoice, 'kind' | 'rank'>, seed: number): AdapterRecipe {
  const space = loadBundleFeatureSpace(bundlePath, model);
  return { space, config: defaultAdapterConfig(model, space, choice, seed) };
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
