import { dirname, isAbsolute, resolve } from 'node:path';
import { type FeatureSpace, featureSpaceFromBundle } from '../adapt/index.js';
import { loadBundle } from '../features/bundles/index.js';
import { type SparseAutoencoder, loadSaeLens } from '../features/sae/index.js';
import type { CausalLm } from '../model/causalLm.js';

// A bundle file as the feature space the adapters and the gate need: its vectors,
// and the SAEs its SAE features name (by a path relative to the bundle's folder,
// as bundles store them), each loaded once.

export function loadBundleFeatureSpace(bundlePath: string, model: CausalLm): FeatureSpace {
  const { bundle, vectors } = loadBundle(bundlePath);
  const saes = new Map<string, SparseAutoencoder>();
  return featureSpaceFromBundle(bundle, vectors, {
    model: model.spec,
    sae: (name) => {
      const dir = isAbsolute(name) ? name : resolve(dirname(bundlePath), name);
      let sae = saes.get(dir);
      if (sae === undefined) {
        sae = loadSaeLens(dir);
        saes.set(dir, sae);
      }
      return sae;
    },
  });
}
