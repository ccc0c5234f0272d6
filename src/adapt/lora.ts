import { Random, Tensor } from '../tensor/index.js';
import type { FeatureGeometry } from './featureSpace.js';
import { LinearAdapter, type Projection } from './linearAdapter.js';
import { kaimingUniform } from './matrices.js';
import type { LinearSite } from './sites.js';
import { AdapterSpaceError, readMap, readProjector, writeBasis } from './spaces.js';

// Plain LoRA (Hu et al. 2021) as PEFT builds it: ΔW = s · B A with A [r, in]
// Kaiming-uniform, B [out, r] zero (so the adapter starts as the identity),
// s = alpha / r, or alpha / sqrt(r) with rsLoRA (Kalajdzievski 2023), and
// dropout on the adapter's input while training.

export interface LowRankOptions {
  /** Default: the rank, so that s = 1 (s = sqrt(rank) with rsLoRA). */
  alpha?: number;
  rsLora?: boolean;
  /** Dropout probability on the adapter's input, training only. */
  dropout?: number;
}

export interface LoraOptions extends LowRankOptions {
  rank: number;
}

/** What the set decides for each adapter it builds. */
export interface AdapterContext {
  name: string;
  seed: number;
  role: 'main' | 'residual';
}

export function scalingFor(options: LowRankOptions, rank: number): number {
  const alpha = options.alpha ?? rank;
  return options.rsLora === true ? alpha / Math.sqrt(rank) : alpha / rank;
}

export function createLora(site: LinearSite, options: LoraOptions, context: AdapterContext, projection: Projection | null = null): LinearAdapter {
  const { rank } = options;
  const rng = new Random(context.seed);
  const a = Tensor.empty([rank, site.inFeatures]);
  kaimingUniform(a.data, site.inFeatures, rng);
  const b = Tensor.zeros([site.outFeatures, rank]);
  return new LinearAdapter({
    ...context, kind: 'lora', site,
    factors: [{ name: 'lora_A', tensor: a, trainable: true }, { name: 'lora_B', tensor: b, trainable: true }],
    scaling: scalingFor(options, rank), dropout: options.dropout ?? 0, projection,
  });
}

/**
 * Gradient projection for a LoRA on `site`: on a layer that writes the residual
 * stream, B's columns are kept in span(U) (ΔW writes only along the bundle); on a
 * layer that reads it, A's rows are kept in the span of the bundle's directions as
 * seen through the layer's input norm (ΔW reads only the bundle). Same rules as
 * the write- and read-constrained kinds (spaces.ts).
 */
export function loraProjection(site: LinearSite, space: FeatureGeometry, layers: number): Projection {
  const what = 'gradient projection';
  if (site.writesResidual !== null) {
    const q = writeBasis(site, space, layers, what);
    return { side: 'out', q, rank: space.basis.rank };
  }
  if (site.readsResidual !== null) {
    const { q, rank } = readProjector(readMap(site, space, layers, what), space);
    return { side: 'in', q, rank };
  }
  throw new AdapterSpaceError(`${what} cannot go on ${site.name}: it reads ${site.inputSpace} and writes ${site.outputSpace}, neither of which is the residual stream where bundle "${space.name}"'s directions live`);
}
