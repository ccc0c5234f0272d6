import type { AdapterSet, AdapterStore } from '../adapt/index.js';
import type { CausalLm } from '../model/causalLm.js';
import { type AdapterRecipe, loadVersion, openUserStore, userStoreDir } from './userAdapter.js';

// The HTTP thread's adapters: one adapter set per user on the one loaded base
// model (AdapterSet hooks are passed per forward, so users never share state and
// the base is never reloaded). Each request asks for the user's adapter; the
// store's HEAD is read every time (one small file), and when the learner's
// worker or a rollback made a newer version current, that version is loaded
// before the reply. Sets not used for a while are dropped (least recently used
// first) and reloaded from disk when asked for again.

export interface UserAdapter {
  store: AdapterStore;
  version: number;
  adapters: AdapterSet;
}

export class AdapterRegistry {
  private readonly cache = new Map<number, UserAdapter>();
  private readonly stores = new Map<number, AdapterStore>();

  constructor(
    private readonly dataDir: string,
    private readonly model: CausalLm,
    private readonly recipe: AdapterRecipe,
    private readonly capacity = 64,
  ) {}

  /** The user's store (created with its untrained first version on first use). */
  store(userId: number, userName: string): AdapterStore {
    let store = this.stores.get(userId);
    if (store === undefined) {
      store = openUserStore(userStoreDir(this.dataDir, userId), this.model, this.recipe, userName);
      this.stores.set(userId, store);
    }
    return store;
  }

  /** The user's current adapter, loaded anew when the current version changed. */
  current(userId: number, userName: string): UserAdapter {
    const store = this.store(userId, userName);
    const version = store.current()!;
    const cached = this.cache.get(userId);
    this.cache.delete(userId);
    const entry = cached !== undefined && cached.version === version ? cached : { store, version, adapters: loadVersion(store, version, this.model) };
    this.cache.set(userId, entry);
    while (this.cache.size > this.capacity) this.cache.delete(this.cache.keys().next().value!);
    return entry;
  }
}
