import { Tensor } from '../tensor/index.js';
import type { FeatureSpace } from './featureSpace.js';
import { LinearAdapter, fixedMatrix } from './linearAdapter.js';
import { type AdapterContext, type LowRankOptions, scalingFor } from './lora.js';
import type { LinearSite } from './sites.js';
import { AdapterSpaceError, mapReadDirections, readMap } from './spaces.js';

// Read-constrained FC-LoRA (LoRA-FA style): ΔW = s · B E', with E' [k, in] fixed
// and B [out, k] trained from zero. The layer can only react to the bundle's
// features: ΔW's rows lie in the span of E'. E holds k directions of the residual
// stream and E' is E seen through the layer's input norm (E diag(1/γ), see
// spaces.ts), so e'·(norm x) = e·x / rms(x). Which directions E holds:
// - 'basis' (default): the rows of Uᵀ, an orthonormal basis of the features' span;
// - 'features': each feature's unit (decoder) direction;
// - 'encoder': for an SAE feature its encoder direction W_enc[:, i] (unit norm),
//   what the SAE itself reads; a vector feature has no encoder and uses its direction.
// Gradient projection is a no-op here: the update reads span(E') already.

export type ReadDirections = 'basis' | 'features' | 'encoder';

export interface ReadConstrainedOptions extends LowRankOptions {
  read?: ReadDirections;
}

/** E [k, width]: the stream directions a read-constrained adapter reads. */
export function readDirections(space: FeatureSpace, which: ReadDirections): { rows: Float64Array; k: number } {
  const d = space.width;
  if (which === 'basis') {
    const r = space.basis.rank;
    const rows = new Float64Array(r * d);
    for (let j = 0; j < r; j++) for (let i = 0; i < d; i++) rows[j * d + i] = space.basis.u[i * r + j];
    return { rows, k: r };
  }
  const k = space.ids.length;
  const rows = Float64Array.from(space.directions);
  if (which === 'encoder') {
    space.encoders.forEach((encoder, j) => {
      if (encoder.kind !== 'sae') return;
      const { sae, index } = encoder;
      let squared = 0;
      for (let i = 0; i < d; i++) squared += sae.encoderWeight.data[i * sae.dSae + index] ** 2;
      const norm = Math.sqrt(squared);
      if (!(norm > 0)) throw new AdapterSpaceError(`feature "${space.ids[j]}": latent ${index} of SAE "${encoder.saeName}" has a zero encoder direction, so nothing can read it`);
      for (let i = 0; i < d; i++) rows[j * d + i] = sae.encoderWeight.data[i * sae.dSae + index] / norm;
    });
  } else if (which !== 'features') {
    throw new RangeError(`read directions must be 'basis', 'features' or 'encoder', got '${String(which)}'`);
  }
  return { rows, k };
}

export function createReadConstrained(
  site: LinearSite, space: FeatureSpace, layers: number, options: ReadConstrainedOptions, context: AdapterContext,
): LinearAdapter {
  const map = readMap(site, space, layers, 'a read-constrained FC-LoRA');
  const { rows, k } = readDirections(space, options.read ?? 'basis');
  const mapped = mapReadDirections(map, rows, k, space.width);
  return new LinearAdapter({
    ...context, kind: 'read', site,
    factors: [
      { name: 'fc_E', tensor: fixedMatrix(mapped, k, site.inFeatures), trainable: false },
      { name: 'fc_B', tensor: Tensor.zeros([site.outFeatures, k]), trainable: true },
    ],
    scaling: scalingFor(options, k), dropout: options.dropout ?? 0, projection: null,
  });
}
