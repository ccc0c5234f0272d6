import { type Bundle, findFeature } from '../bundles/bundle.js';
import { type SaeDirectionResolver, featureDirection } from '../bundles/directions.js';

// The one vector that steering along several features of a bundle adds to the
// residual stream: the sum of scale x unit direction over the chosen features.
// Both the in-process hooks and the llama.cpp control-vector export use it, so
// the two cannot drift apart.

export interface FeatureScale {
  /** Feature id or label. */
  feature: string;
  scale: number;
}

export function steeringVectorFor(
  bundle: Bundle, vectors: ReadonlyMap<string, Float32Array>, scales: readonly FeatureScale[], saeResolver?: SaeDirectionResolver,
): Float32Array {
  const width = bundle.model.hiddenSize;
  const sum = new Float64Array(width);
  const used = new Map<string, string>();
  for (const { feature: name, scale } of scales) {
    if (!Number.isFinite(scale)) throw new RangeError(`bundle "${bundle.name}": scale for feature "${name}" must be a finite number, got ${scale}`);
    const feature = findFeature(bundle, name);
    // Naming a feature twice (say by id and by label) is almost surely a mistake, not a request to add.
    const earlier = used.get(feature.id);
    if (earlier !== undefined) throw new RangeError(`bundle "${bundle.name}": feature "${feature.id}" is steered twice (as "${earlier}" and "${name}"); give it once with the total scale`);
    used.set(feature.id, name);
    const direction = featureDirection(bundle, feature, vectors, saeResolver);
    for (let i = 0; i < width; i++) sum[i] += scale * direction[i];
  }
  return Float32Array.from(sum);
}
