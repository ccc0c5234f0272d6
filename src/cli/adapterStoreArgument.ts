import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { AdapterSet, type AdapterSetState, AdapterStore, VERSIONS_DIR } from '../adapt/index.js';
import { type SparseAutoencoder, loadSaeLens } from '../features/sae/index.js';
import type { LoadedModel } from '../model/load.js';
import { resolveBundleArgument } from './bundle.js';
import { parseNumberFlag, shippedModelDir } from './modelArgument.js';

// What the `imprint adapter` subcommands share: the store directory argument
// (checked before AdapterStore.open, which would create a missing one), version
// flags, and a stored version as an adapter set on a loaded model.

/** The one DIR positional, opened as an adapter store; a directory that is not one is refused, and nothing is created. */
export function openStoreArgument(positionals: readonly string[], command: string): { store: AdapterStore; dir: string } {
  if (positionals.length !== 1) throw new RangeError(`imprint adapter ${command}: give one adapter store directory, got ${positionals.length} arguments`);
  const dir = positionals[0];
  const what = 'expected an adapter store directory (HEAD and versions/NNNNNN/, as the learner writes with --out)';
  if (!existsSync(dir)) throw new RangeError(`imprint adapter ${command}: ${dir} does not exist; ${what}`);
  if (!statSync(dir).isDirectory()) throw new RangeError(`imprint adapter ${command}: ${dir} is a file, not a directory; ${what}`);
  const versions = join(dir, VERSIONS_DIR);
  if (!existsSync(versions) || !statSync(versions).isDirectory()) {
    throw new RangeError(`imprint adapter ${command}: ${dir} is not an adapter store: it has no ${VERSIONS_DIR}/ directory; ${what}`);
  }
  return { store: AdapterStore.open(dir), dir };
}

/** A version number flag (--version, --to). */
export function parseVersionFlag(flag: string, raw: string | undefined): number | undefined {
  return parseNumberFlag(flag, raw, (n) => Number.isSafeInteger(n) && n >= 1, 'a version number (an integer >= 1; see imprint adapter list)');
}

/** "1, 2, 3" or "1..40 (40 in all)". */
export function describeVersions(versions: readonly number[]): string {
  if (versions.length === 0) return 'none';
  if (versions.length <= 8) return versions.join(', ');
  return `${versions[0]}..${versions[versions.length - 1]} (${versions.length} in all)`;
}

/** The version asked for (`flag` names where it came from), or the current one; an unknown number is refused naming what exists. */
export function resolveVersion(store: AdapterStore, dir: string, flag: string, version: number | undefined): number {
  const versions = store.versions();
  if (version === undefined) {
    const current = store.current();
    if (current === null) throw new RangeError(`adapter store ${dir} has no versions yet`);
    return current;
  }
  if (!versions.includes(version)) {
    throw new RangeError(`${flag} ${version}: adapter store ${dir} has no version ${version}; its versions are ${describeVersions(versions)}`);
  }
  return version;
}

export interface LoadOnModelOptions {
  /** --bundle: the bundle the adapter was trained with; SAE paths recorded by a feature gain are relative to its folder. */
  bundle?: string;
}

/**
 * Version `version`'s state (already read and checked) as an adapter set on the
 * loaded model. A feature gain over SAE latents needs its SAE again: the state
 * records the SAE by the path its bundle gave (relative to the bundle's folder),
 * so the bundle is --bundle, or else the one of the recorded name in the
 * model's bundles/ (then the shipped model's).
 */
export function setOnModel(state: AdapterSetState, version: number, dir: string, loaded: LoadedModel, modelFlag: string | undefined, options: LoadOnModelOptions = {}): AdapterSet {
  const saes = new Map<string, SparseAutoencoder>();
  let bundlePath: string | null = null;
  const sae = (name: string): SparseAutoencoder => {
    let path = name;
    if (!isAbsolute(name)) {
      if (bundlePath === null) {
        const ref = options.bundle ?? state.config.features?.name;
        if (ref === undefined) throw new RangeError(`version ${version} of ${dir} has a feature gain over SAE "${name}" but records no bundle; pass --bundle PATH, the bundle it was trained with`);
        try {
          bundlePath = resolveBundleArgument(ref, [...new Set([loaded.dir, shippedModelDir()])]);
        } catch (error) {
          throw new RangeError(`version ${version} of ${dir} has a feature gain over latents of SAE "${name}", a path relative to its bundle's folder, and the bundle could not be found (${(error as Error).message}); pass --bundle PATH, the bundle it was trained with`);
        }
      }
      path = resolve(dirname(bundlePath), name);
    }
    let loadedSae = saes.get(path);
    if (loadedSae === undefined) {
      if (!existsSync(path)) throw new RangeError(`version ${version} of ${dir}: its feature gain reads SAE "${name}", expected at ${path}, which does not exist (pass --bundle PATH, the bundle it was trained with)`);
      loadedSae = loadSaeLens(path);
      saes.set(path, loadedSae);
    }
    return loadedSae;
  };
  try {
    return AdapterSet.fromState(loaded.model, state, { sae });
  } catch (error) {
    const message = (error as Error).message;
    if (!(error instanceof RangeError) || !message.startsWith('adapter state:')) throw error;
    const model = modelFlag === undefined ? `the shipped model (${loaded.dir}; pass --model DIR for another)` : `--model ${modelFlag}`;
    throw new RangeError(`version ${version} of ${dir} cannot be loaded on ${model}: ${message.replace(/^adapter state: /, '')}`);
  }
}
