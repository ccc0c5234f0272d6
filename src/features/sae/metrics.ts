import { Tape, Tensor } from '../../tensor/index.js';
import { rowMean } from './geometricMedian.js';
import type { SparseAutoencoder } from './sparseAutoencoder.js';

// How good an SAE is on a set of activations:
//   explained variance = 1 - sum ||x - x̂||² / sum ||x - mean(x)||²,
//   mean L0            = average number of non-zero latents per row,
//   dead fraction      = share of latents that never fire on the data.

export interface SaeMetrics {
  rows: number;
  explainedVariance: number;
  /** Mean over rows of ||x - x̂||². */
  mse: number;
  meanL0: number;
  deadFraction: number;
  /** How many rows each latent fired on. */
  firingCounts: Uint32Array;
}

const CHUNK_ROWS = 512;

export function saeMetrics(sae: SparseAutoencoder, data: Float32Array): SaeMetrics {
  const { dIn, dSae } = sae;
  if (data.length === 0 || data.length % dIn !== 0) throw new RangeError(`saeMetrics: data holds ${data.length} values; expected a non-empty multiple of dIn = ${dIn}`);
  const rows = data.length / dIn;
  const mean = rowMean(data, rows, dIn);
  let residual = 0;
  let total = 0;
  let active = 0;
  const firingCounts = new Uint32Array(dSae);
  for (let start = 0; start < rows; start += CHUNK_ROWS) {
    const count = Math.min(CHUNK_ROWS, rows - start);
    const chunk = data.subarray(start * dIn, (start + count) * dIn);
    const tape = new Tape({ grad: false });
    try {
      const x = tape.allocate([count, dIn]);
      x.data.set(chunk);
      const { latents, reconstruction } = sae.forwardTape(tape, x);
      residual += squaredError(chunk, reconstruction);
      for (let i = 0; i < chunk.length; i++) total += (chunk[i] - mean[i % dIn]) ** 2;
      const z = latents.data;
      for (let i = 0; i < z.length; i++) {
        if (z[i] > 0) {
          active++;
          firingCounts[i % dSae]++;
        }
      }
    } finally {
      tape.release();
    }
  }
  let dead = 0;
  for (const c of firingCounts) if (c === 0) dead++;
  return {
    rows,
    explainedVariance: total > 0 ? 1 - residual / total : residual === 0 ? 1 : 0,
    mse: residual / rows,
    meanL0: active / rows,
    deadFraction: dead / dSae,
    firingCounts,
  };
}

function squaredError(x: Float32Array, reconstruction: Tensor): number {
  const y = reconstruction.data;
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += (x[i] - y[i]) ** 2;
  return sum;
}
