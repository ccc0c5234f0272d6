import { type HookPointName, parseHookPoint } from '../model/hooks.js';
import { Tensor, add, linear, mul, reshape, contiguous, type Tape } from '../tensor/index.js';
import { featureActivations } from './featureActivations.js';
import type { FeatureEncoder, FeatureSpace } from './featureSpace.js';
import { fixedMatrix } from './linearAdapter.js';
import type { ResidualSiteTensor } from './representationEdit.js';

// Feature gain at the bundle's hook point: h <- h + W (g ⊙ f(h) + β), where f(h)
// are the bundle's feature activations (featureActivations.ts) and only g and β
// (2k numbers, zero at first) are trained.
// W's column j is the direction feature j writes: for an SAE feature its decoder
// row as the SAE stores it (so g_j = 1 doubles that latent's contribution to the
// SAE's reconstruction), for a vector feature its unit direction (so g_j = 1
// doubles the stream's component along it). These columns span the same space as
// the bundle's orthonormal basis U, so the edit stays in span(U); using them
// rather than U's Gram-Schmidt columns makes g_j act on feature j alone.
// Gradient projection is a no-op: g and β are per feature already.

export class FeatureGain {
  readonly kind = 'gain' as const;
  constructor(
    readonly name: string,
    readonly point: HookPointName,
    readonly ids: readonly string[],
    readonly encoders: readonly FeatureEncoder[],
    /** Unit directions [k, d] (how projection features are read). */
    readonly directions: Tensor,
    /** W [d, k], fixed. */
    readonly writes: Tensor,
    /** g [k]. */
    readonly gain: Tensor,
    /** β [k]. */
    readonly offset: Tensor,
  ) {
    const k = ids.length;
    const d = writes.shape[0];
    if (encoders.length !== k || directions.shape[0] !== k || directions.shape[1] !== d || writes.shape[1] !== k || gain.shape[0] !== k || offset.shape[0] !== k) {
      throw new RangeError(`${name}: ${k} features need directions [${k}, ${d}], W [${d}, ${k}], g [${k}] and β [${k}]; got ${encoders.length} encoders, directions [${directions.shape.join(', ')}], W [${writes.shape.join(', ')}], g [${gain.shape.join(', ')}], β [${offset.shape.join(', ')}]`);
    }
    for (const [t, role] of [[directions, 'directions'], [writes, 'W'], [gain, 'g'], [offset, 'beta']] as const) t.name = `${name}.${role}`;
    directions.requiresGrad = false;
    writes.requiresGrad = false;
    gain.requiresGrad = true;
    offset.requiresGrad = true;
  }

  tensors(): ResidualSiteTensor[] {
    return [
      { name: 'directions', tensor: this.directions, trainable: false },
      { name: 'W', tensor: this.writes, trainable: false },
      { name: 'g', tensor: this.gain, trainable: true },
      { name: 'beta', tensor: this.offset, trainable: true },
    ];
  }

  parameters(): Tensor[] {
    return [this.gain, this.offset];
  }

  apply(tape: Tape, hidden: Tensor): Tensor {
    const width = hidden.shape[hidden.ndim - 1];
    const rows = reshape(tape, contiguous(tape, hidden), [-1, width]);
    const f = featureActivations(tape, rows, this.encoders, this.directions.data);
    const coefficients = add(tape, mul(tape, f, this.gain), this.offset);
    const written = linear(tape, coefficients, this.writes);
    return add(tape, hidden, reshape(tape, written, hidden.shape));
  }

  /** Per feature: ‖(g_j, β_j)‖. */
  perFeature(): Map<string, number> {
    const g = this.gain.toArray();
    const b = this.offset.toArray();
    return new Map(this.ids.map((id, j) => [id, Math.hypot(g[j], b[j])]));
  }

  projectGradients(): void {}
  projectParameters(): void {}
}

export function createFeatureGain(space: FeatureSpace, layers: number, name: string): FeatureGain {
  parseHookPoint(space.hookPoint, layers);
  const k = space.ids.length;
  const d = space.width;
  const writes = new Float64Array(d * k);
  space.encoders.forEach((encoder, j) => {
    const column = encoder.kind === 'sae'
      ? encoder.sae.decoderWeight.data.subarray(encoder.index * d, (encoder.index + 1) * d)
      : space.directions.subarray(j * d, (j + 1) * d);
    for (let i = 0; i < d; i++) writes[i * k + j] = column[i];
  });
  return new FeatureGain(name, space.hookPoint, space.ids, space.encoders, fixedMatrix(space.directions, k, d), fixedMatrix(writes, d, k), Tensor.zeros([k]), Tensor.zeros([k]));
}
