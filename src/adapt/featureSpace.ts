import { type Bundle, bundleDirections, checkBundleFitsModel, orthonormalBasis, type OrthonormalBasis } from '../features/bundles/index.js';
import { residualHookPoint, type SparseAutoencoder } from '../features/sae/index.js';
import { type HookPointName, parseHookPoint } from '../model/hooks.js';
import type { ModelSpec } from '../model/spec.js';

// What the feature-constrained adapters need from a bundle, resolved once: the
// hook point where its directions live, the unit directions themselves, an
// orthonormal basis U of their span, and for each feature how to read its
// activation (an SAE latent, or for an explicit vector the projection on it).

export type FeatureEncoder =
  | { kind: 'sae'; saeName: string; sae: SparseAutoencoder; index: number }
  /** Vector features have no encoder: their activation is the projection d·h. */
  | { kind: 'projection' };

/** Where the features live and which directions they are: all the space rules need. */
export interface FeatureGeometry {
  /** The bundle's name (for messages and saved state). */
  name: string;
  hookPoint: HookPointName;
  /** The residual stream's width (the model's hidden size). */
  width: number;
  ids: string[];
  /** Unit directions, row-major [ids.length, width]. */
  directions: Float32Array;
  basis: OrthonormalBasis;
}

export interface FeatureSpace extends FeatureGeometry {
  encoders: FeatureEncoder[];
}

export interface FeatureSpaceOptions {
  /** Loads the SAE that a bundle's SAE feature names (its `sae` field). Needed when the bundle has SAE features. */
  sae?: (name: string) => SparseAutoencoder;
  /** orthonormalBasis tolerance for dropping near-duplicate directions. */
  tolerance?: number;
  /** When given, the bundle must have been made for a model of this shape (checkBundleFitsModel). */
  model?: ModelSpec;
}

export function featureSpaceFromBundle(bundle: Bundle, vectors: ReadonlyMap<string, Float32Array>, options: FeatureSpaceOptions = {}): FeatureSpace {
  if (options.model !== undefined) checkBundleFitsModel(bundle, options.model);
  const loaded = new Map<string, SparseAutoencoder>();
  const saeNamed = (name: string): SparseAutoencoder => {
    const cached = loaded.get(name);
    if (cached !== undefined) return cached;
    if (options.sae === undefined) throw new RangeError(`bundle "${bundle.name}" has features of SAE "${name}": pass an SAE loader (options.sae) to use them`);
    const sae = options.sae(name);
    const point = residualHookPoint(sae.config.hookName);
    if (point !== bundle.hookPoint) throw new RangeError(`bundle "${bundle.name}" lives at ${bundle.hookPoint}, but its SAE "${name}" reads ${sae.config.hookName}: its latents are not the bundle's features`);
    if (sae.dIn !== bundle.model.hiddenSize) throw new RangeError(`SAE "${name}" reads ${sae.dIn} values, bundle "${bundle.name}" has hidden size ${bundle.model.hiddenSize}`);
    loaded.set(name, sae);
    return sae;
  };
  const directions = bundleDirections(bundle, vectors, (name, index) => {
    const sae = saeNamed(name);
    if (!Number.isInteger(index) || index < 0 || index >= sae.dSae) throw new RangeError(`SAE "${name}" has latents 0..${sae.dSae - 1}, bundle "${bundle.name}" asks for ${index}`);
    return Float32Array.from(sae.decoderWeight.data.subarray(index * sae.dIn, (index + 1) * sae.dIn));
  });
  const encoders = bundle.features.map((f): FeatureEncoder => f.kind === 'sae'
    ? { kind: 'sae', saeName: f.sae, sae: saeNamed(f.sae), index: f.index }
    : { kind: 'projection' });
  return featureSpaceFromDirections({ name: bundle.name, hookPoint: bundle.hookPoint, width: directions.width, ids: directions.ids, directions: directions.data, encoders, tolerance: options.tolerance });
}

export interface DirectionsInput {
  name: string;
  hookPoint: HookPointName;
  width: number;
  ids: string[];
  /** Row-major [ids.length, width], any norms (they are normalised). */
  directions: Float32Array;
  /** Defaults to projections for every feature. */
  encoders?: FeatureEncoder[];
  tolerance?: number;
}

/** A feature space from explicit directions (tests, or features that are not in a bundle file). */
export function featureSpaceFromDirections(input: DirectionsInput): FeatureSpace {
  const { name, hookPoint, width, ids } = input;
  parseHookPoint(hookPoint, Number.MAX_SAFE_INTEGER);
  const k = ids.length;
  if (k === 0) throw new RangeError(`feature space "${name}" has no features`);
  if (input.directions.length !== k * width) throw new RangeError(`feature space "${name}": ${k} directions of width ${width} need ${k * width} values, got ${input.directions.length}`);
  const encoders = input.encoders ?? ids.map((): FeatureEncoder => ({ kind: 'projection' }));
  if (encoders.length !== k) throw new RangeError(`feature space "${name}": ${encoders.length} encoders for ${k} features`);
  const directions = new Float32Array(k * width);
  for (let j = 0; j < k; j++) {
    const row = input.directions.subarray(j * width, (j + 1) * width);
    let squared = 0;
    for (const v of row) squared += v * v;
    const norm = Math.sqrt(squared);
    if (!(norm > 0) || !Number.isFinite(norm)) throw new RangeError(`feature space "${name}": feature "${ids[j]}" has norm ${norm}, so it gives no direction`);
    for (let i = 0; i < width; i++) directions[j * width + i] = row[i] / norm;
  }
  const basis = orthonormalBasis({ ids, width, data: directions }, { tolerance: input.tolerance });
  return { name, hookPoint, width, ids: [...ids], directions, basis, encoders };
}

/**
 * The same space restricted to some of its features (in the space's own order),
 * with their encoders: a user's adapter confined to the features their
 * interactions move (learn/featureSelection.ts). The name stays the bundle's, so
 * a stored adapter still says which bundle its directions came from.
 */
export function featureSubspace(space: FeatureSpace, ids: readonly string[]): FeatureSpace {
  if (ids.length === 0) throw new RangeError(`feature subspace of "${space.name}": name at least one feature`);
  const wanted = new Set(ids);
  for (const id of wanted) {
    if (!space.ids.includes(id)) throw new RangeError(`feature subspace of "${space.name}": it has no feature "${id}" (it has ${space.ids.join(', ')})`);
  }
  const keep = space.ids.flatMap((id, i) => (wanted.has(id) ? [i] : []));
  const { width } = space;
  const directions = new Float32Array(keep.length * width);
  keep.forEach((i, j) => directions.set(space.directions.subarray(i * width, (i + 1) * width), j * width));
  return featureSpaceFromDirections({
    name: space.name, hookPoint: space.hookPoint, width, ids: keep.map((i) => space.ids[i]), directions, encoders: keep.map((i) => space.encoders[i]),
  });
}
