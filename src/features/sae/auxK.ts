import { add, matmul, mul, scale, sub, sum, topK, type Tape, type Tensor } from '../../tensor/index.js';
import { relu } from './activationOps.js';

// The AuxK loss of Gao et al. (2024): the k_aux dead latents with the largest
// pre-activations try to reconstruct what the live latents missed,
//   e = x - x̂ (held constant),  ê = ReLU(TopK_aux(pre restricted to dead latents)) W_dec,
//   AuxK = sum ||e - ê||² / sum ||e - mean(e)||²   (over the batch).
// As in OpenAI's reference code, the picks go through ReLU like the main codes,
// and the loss is normalised by the residual's variance, so its coefficient
// (1/32 in the paper) means the same thing whatever the scale of the error.
// Gradients reach only the dead latents' encoder columns, encoder biases and
// decoder rows (and b_dec through the encoder's input): that revives them.

// Added to the live latents' pre-activations so TopK never picks them.
const EXCLUDED = -1e30;

/** The paper's default k_aux: a power of two near dIn / 2. */
export function defaultAuxK(dIn: number, dSae: number): number {
  return Math.min(dSae, Math.max(1, 2 ** Math.round(Math.log2(Math.max(1, dIn / 2)))));
}

/**
 * preActivations [n, dSae] from the forward pass; residual [n, dIn] a constant
 * (x - x̂); deadMask[j] = 1 for dead latents. Returns null when no latent is dead
 * or the residual has no variance to explain.
 */
export function auxKLoss(tape: Tape, preActivations: Tensor, residual: Tensor, decoderWeight: Tensor, deadMask: Uint8Array, kAux: number): Tensor | null {
  const [rows, dSae] = preActivations.shape;
  if (deadMask.length !== dSae) throw new RangeError(`auxKLoss: deadMask has ${deadMask.length} entries for ${dSae} latents`);
  if (!Number.isSafeInteger(kAux) || kAux < 1) throw new RangeError(`auxKLoss: kAux must be a positive integer, got ${kAux}`);
  let dead = 0;
  for (const d of deadMask) dead += d;
  const variance = sumOfSquaredDeviations(residual.data, rows, residual.shape[1]);
  if (dead === 0 || rows === 0 || !(variance > 0)) return null;
  const exclusion = tape.allocate([dSae]);
  for (let j = 0; j < dSae; j++) exclusion.data[j] = deadMask[j] === 1 ? 0 : EXCLUDED;
  // At most `dead` picks, so TopK never reaches an excluded (live) latent.
  const picked = relu(tape, topK(tape, add(tape, preActivations, exclusion), Math.min(kAux, dead)).values);
  const predicted = matmul(tape, picked, decoderWeight);
  const error = sub(tape, predicted, residual);
  return scale(tape, sum(tape, mul(tape, error, error)), 1 / variance);
}

/** sum over rows of ||row - mean row||². */
export function sumOfSquaredDeviations(values: ArrayLike<number>, rows: number, width: number): number {
  const mean = new Float64Array(width);
  for (let i = 0; i < rows * width; i++) mean[i % width] += values[i];
  for (let j = 0; j < width; j++) mean[j] /= rows;
  let total = 0;
  for (let i = 0; i < rows * width; i++) total += (values[i] - mean[i % width]) ** 2;
  return total;
}
