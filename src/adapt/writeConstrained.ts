import { Random, Tensor } from '../tensor/index.js';
import type { FeatureGeometry } from './featureSpace.js';
import { LinearAdapter, fixedMatrix } from './linearAdapter.js';
import { type AdapterContext, type LowRankOptions, scalingFor } from './lora.js';
import { kaimingUniform } from './matrices.js';
import type { LinearSite } from './sites.js';
import { writeBasis } from './spaces.js';

// Write-constrained FC-LoRA: ΔW = s · U C A, with U [out, k] the bundle's fixed
// orthonormal basis, C [k, r] (zero at first, like LoRA's B) and A [r, in]
// (Kaiming-uniform) trained. Whatever it learns, the layer can only write along
// the bundle's directions: (I - U Uᵀ) ΔW = 0 by construction. Only on layers that
// write the residual stream at or before the bundle's hook point (spaces.ts).
// Gradient projection is a no-op here: the update is in span(U) already.

export interface WriteConstrainedOptions extends LowRankOptions {
  rank: number;
}

export function createWriteConstrained(
  site: LinearSite, space: FeatureGeometry, layers: number, options: WriteConstrainedOptions, context: AdapterContext,
): LinearAdapter {
  const u = writeBasis(site, space, layers, 'a write-constrained FC-LoRA');
  const k = space.basis.rank;
  const { rank } = options;
  const rng = new Random(context.seed);
  const a = Tensor.empty([rank, site.inFeatures]);
  kaimingUniform(a.data, site.inFeatures, rng);
  return new LinearAdapter({
    ...context, kind: 'write', site,
    factors: [
      { name: 'fc_A', tensor: a, trainable: true },
      { name: 'fc_C', tensor: Tensor.zeros([k, rank]), trainable: true },
      { name: 'fc_U', tensor: fixedMatrix(u, site.outFeatures, k), trainable: false },
    ],
    scaling: scalingFor(options, rank), dropout: options.dropout ?? 0, projection: null,
  });
}
