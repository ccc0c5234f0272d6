import { getBackend } from '../backend.js';
import { NonFiniteError } from '../errors.js';
import type { Tensor } from '../tensor.js';

// Clipping by global gradient norm. A non-finite norm stops training with the name
// of the first parameter whose gradient is bad: stepping on it would silently
// destroy the weights.

export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  if (!(maxNorm > 0)) throw new RangeError(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  const k = getBackend().kernels;
  const live = params.filter((p) => p.grad !== null && !p.gradIsStale);
  let sumSquares = 0;
  for (const p of live) sumSquares += k.sumSquares(p.grad!.data);
  const norm = Math.sqrt(sumSquares);
  if (!Number.isFinite(norm)) {
    for (const p of live) {
      const index = k.findNonFinite(p.grad!.data);
      if (index >= 0) throw new NonFiniteError('clipGradNorm', `gradient of ${p.name ?? 'a parameter'}`, p.shape, index, p.grad!.data[index]);
    }
    throw new NonFiniteError('clipGradNorm', 'global gradient norm', [], 0, norm);
  }
  if (norm > maxNorm) {
    const factor = maxNorm / (norm + 1e-6);
    for (const p of live) k.scaleInto(p.grad!.data, factor, p.grad!.data, false);
  }
  return norm;
}
