import type { Bundle, BundleFeature } from './bundle.js';

// A bundle's features as unit directions in the residual stream. Vector
// features come from the bundle's vectors; SAE features from an SAE's decoder,
// through a resolver supplied by whoever can load SAEs (this layer cannot).

/** Returns the decoder direction of latent `index` of the SAE named or located by `sae` (any norm). */
export type SaeDirectionResolver = (sae: string, index: number) => Float32Array;

/** k unit directions of width d, row-major [k, d]; row i belongs to feature ids[i]. */
export interface DirectionMatrix {
  ids: string[];
  width: number;
  data: Float32Array;
}

export function directionRow(directions: DirectionMatrix, row: number): Float32Array {
  if (!Number.isInteger(row) || row < 0 || row >= directions.ids.length) throw new RangeError(`direction row ${row} is outside 0..${directions.ids.length - 1}`);
  return directions.data.subarray(row * directions.width, (row + 1) * directions.width);
}

/** The unit direction of one feature of the bundle. */
export function featureDirection(
  bundle: Bundle, feature: BundleFeature, vectors: ReadonlyMap<string, Float32Array>, saeResolver?: SaeDirectionResolver,
): Float32Array {
  const width = bundle.model.hiddenSize;
  let raw: Float32Array;
  let what: string;
  if (feature.kind === 'vector') {
    what = `feature "${feature.id}" (vector "${feature.tensor}")`;
    const found = vectors.get(feature.tensor);
    if (found === undefined) throw new RangeError(`bundle "${bundle.name}": ${what} has no loaded vector (given: ${[...vectors.keys()].join(', ') || 'none'})`);
    raw = found;
  } else {
    what = `feature "${feature.id}" (SAE ${feature.sae} latent ${feature.index})`;
    if (saeResolver === undefined) throw new RangeError(`bundle "${bundle.name}": ${what} needs an SAE resolver to turn the latent into a direction`);
    raw = saeResolver(feature.sae, feature.index);
  }
  if (raw.length !== width) throw new RangeError(`bundle "${bundle.name}": ${what} has ${raw.length} entries, the model's hidden size is ${width}`);
  let squared = 0;
  for (let i = 0; i < width; i++) squared += raw[i] * raw[i];
  const norm = Math.sqrt(squared);
  if (!(norm > 0) || !Number.isFinite(norm)) throw new RangeError(`bundle "${bundle.name}": ${what} has norm ${norm}, so it gives no direction`);
  return Float32Array.from(raw, (v) => v / norm);
}

/** Unit directions of all the bundle's features, in bundle order: [k, d]. */
export function bundleDirections(bundle: Bundle, vectors: ReadonlyMap<string, Float32Array>, saeResolver?: SaeDirectionResolver): DirectionMatrix {
  const width = bundle.model.hiddenSize;
  const data = new Float32Array(bundle.features.length * width);
  bundle.features.forEach((feature, row) => data.set(featureDirection(bundle, feature, vectors, saeResolver), row * width));
  return { ids: bundle.features.map((f) => f.id), width, data };
}
