import type { SparseAutoencoder } from '../features/sae/index.js';
import { normalizationCoefficients } from '../features/sae/normalization.js';
import { ShapeError, Tape, type Tensor } from '../tensor/index.js';
import type { FeatureEncoder } from './featureSpace.js';

// f(h): the activation of each of a bundle's features on each row of the
// residual stream, as one tape op (forward beside backward).
// - An SAE feature's activation is its SAE latent, computed by the SAE itself
//   (the whole SAE runs, since TopK picks among all latents). Its gradient with
//   respect to h is the SAE's own: the encoder column where the latent is active
//   (TopK, ReLU and JumpReLU all pass the pre-activation through unchanged there),
//   times the SAE's per-row input scale, which, as in SAE training, is held
//   constant.
// - A vector feature has no encoder: its activation is the projection d·h on its
//   unit direction, and its gradient is d.

export function featureActivations(tape: Tape, h: Tensor, encoders: readonly FeatureEncoder[], directions: ArrayLike<number>): Tensor {
  if (h.ndim !== 2 || !h.isContiguous) throw new ShapeError('featureActivations', `h must be a contiguous [rows, width] tensor, got [${h.shape.join(', ')}]`);
  const [n, d] = h.shape;
  const k = encoders.length;
  if (directions.length !== k * d) throw new ShapeError('featureActivations', `${k} feature directions of width ${d} need ${k * d} values, got ${directions.length}`);
  const x = h.data;
  const out = tape.allocate([n, k]);
  const f = out.data;
  // Per (row, feature): the factor dz/dpre (0 or the SAE's row scale) for SAE features.
  const slope = new Float64Array(n * k);
  const bySae = new Map<SparseAutoencoder, number[]>();
  encoders.forEach((encoder, j) => {
    if (encoder.kind === 'sae') {
      bySae.set(encoder.sae, [...(bySae.get(encoder.sae) ?? []), j]);
      return;
    }
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += x[r * d + i] * directions[j * d + i];
      f[r * k + j] = s;
    }
  });
  for (const [sae, features] of bySae) {
    if (sae.dIn !== d) throw new ShapeError('featureActivations', `the SAE reads ${sae.dIn} values, the stream has ${d}`);
    const coefficients = normalizationCoefficients(sae.config.normalizeActivations, x, n, d);
    const inner = new Tape({ grad: false });
    try {
      const latents = sae.forwardTape(inner, h).latents.data;
      for (const j of features) {
        const index = (encoders[j] as { index: number }).index;
        for (let r = 0; r < n; r++) {
          const z = latents[r * sae.dSae + index];
          f[r * k + j] = z;
          slope[r * k + j] = z !== 0 ? (coefficients?.scale[r] ?? 1) : 0;
        }
      }
    } finally {
      inner.release();
    }
  }
  return tape.record('featureActivations', out, [h], (gradOut) => {
    const sink = tape.gradientSink(h);
    if (sink === null) return;
    const g = gradOut.data;
    const grad = new Float64Array(n * d);
    encoders.forEach((encoder, j) => {
      if (encoder.kind === 'projection') {
        for (let r = 0; r < n; r++) {
          const gr = g[r * k + j];
          if (gr === 0) continue;
          for (let i = 0; i < d; i++) grad[r * d + i] += gr * directions[j * d + i];
        }
        return;
      }
      const { sae, index } = encoder;
      const w = sae.encoderWeight.data;
      for (let r = 0; r < n; r++) {
        const gr = g[r * k + j] * slope[r * k + j];
        if (gr === 0) continue;
        for (let i = 0; i < d; i++) grad[r * d + i] += gr * w[i * sae.dSae + index];
      }
    });
    const dst = sink.array;
    for (let i = 0; i < grad.length; i++) dst[i] = sink.accumulate ? dst[i] + grad[i] : grad[i];
  });
}
