import { AdamW, Tape, Tensor, add, mul, scale, sub, sum } from '../../tensor/index.js';
import { ProgressBar } from '../../ui/progressBar.js';
import { activationBatcher, type ActivationData } from './activationBatches.js';
import { auxKLoss, defaultAuxK, sumOfSquaredDeviations } from './auxK.js';
import { validateSaeConfig, type SaeConfig } from './config.js';
import { DeadLatentTracker } from './deadLatents.js';
import { geometricMedian, rowMean } from './geometricMedian.js';
import { saeLearningRate } from './schedule.js';
import { SparseAutoencoder } from './sparseAutoencoder.js';

// Training a TopK SAE the way Gao et al. (2024) describe:
//   - b_dec starts at the geometric median (or the mean) of the data;
//   - decoder rows start as random unit vectors and W_enc = W_decᵀ;
//   - loss = normalised MSE + auxCoefficient * AuxK, where AuxK lets the top
//     k_aux dead latents reconstruct the live latents' residual error; both terms
//     are divided by the batch variance of their target (as in OpenAI's reference
//     code), so the coefficient does not depend on the scale of the activations;
//   - before each Adam step the gradient component parallel to each decoder row
//     is removed, and after it every row is renormalised to unit norm, so a
//     latent's scale lives in the encoder and its decoder row is a direction;
//   - linear LR warm-up, then constant (the paper) or cosine.

export interface TopKTrainingOptions {
  steps: number;
  batchSize: number;
  lr: number;
  warmupSteps?: number;
  /** After warm-up: 'constant' (default) or 'cosine' down to minLr. */
  lrDecay?: 'constant' | 'cosine';
  minLr?: number;
  /** Dead latents used by AuxK; default a power of two near dIn / 2. 0 turns AuxK off. */
  auxK?: number;
  /** Weight of the AuxK loss; default 1/32 (the paper's). */
  auxCoefficient?: number;
  /**
   * A latent is dead when it has not fired for this many training tokens. Gao et al.
   * use 10M; the default is that, capped at a tenth of the run's tokens (and at
   * least ten batches) so that short runs still see dead latents.
   */
  deadAfterTokens?: number;
  /** Default 'geometric-median'. */
  bDecInit?: 'mean' | 'geometric-median' | 'zeros';
  /** Rows used to initialise b_dec (a random sample in memory, the first rows of a stream); default 4096. */
  initRows?: number;
  /**
   * Continue training this SAE (in place) instead of a fresh random one; its b_dec
   * is kept (bDecInit is ignored). Its config must match `config`.
   */
  initialSae?: SparseAutoencoder;
  seed: number;
  /** Show a progress bar on stderr. */
  progress?: boolean;
  /** Called after every step. */
  onProgress?: (progress: TopKTrainingProgress) => void;
}

export interface TopKTrainingProgress {
  step: number;
  steps: number;
  tokens: number;
  lr: number;
  /** Mean over rows of ||x - x̂||². */
  mse: number;
  /** Normalised AuxK before its coefficient (0 when no latent is dead). */
  auxK: number;
  /** What was minimised: normalised MSE + auxCoefficient * AuxK. */
  loss: number;
  /** On this batch: 1 - sum ||x - x̂||² / sum ||x - batch mean||². */
  explainedVariance: number;
  meanL0: number;
  deadLatents: number;
}

export interface TopKTrainingResult {
  sae: SparseAutoencoder;
  /** Steps run (fewer than asked when a stream runs out). */
  steps: number;
  tokens: number;
  last: TopKTrainingProgress | null;
}

const ADAM_EPS = 6.25e-10; // Gao et al.'s choice; the default 1e-8 is large next to SAE gradients

export function trainTopKSae(data: ActivationData, config: SaeConfig, options: TopKTrainingOptions): TopKTrainingResult {
  const resolved = validateSaeConfig(config, 'trainTopKSae config');
  if (resolved.architecture !== 'topk') throw new RangeError(`trainTopKSae: config.architecture must be 'topk', got '${resolved.architecture}'`);
  if (resolved.normalizeActivations !== 'none') {
    throw new RangeError(`trainTopKSae: normalizeActivations must be 'none' for training (normalise the data beforehand), got '${resolved.normalizeActivations}'`);
  }
  const { dIn, dSae } = resolved;
  const o = checkOptions(options, dIn, dSae);
  const batches = activationBatcher(data, dIn, o.batchSize, o.seed);
  let sae: SparseAutoencoder;
  if (o.initialSae === undefined) {
    sae = SparseAutoencoder.random(resolved, o.seed);
    initialiseDecoderBias(sae, batches.peek(o.initRows), o.bDecInit);
  } else {
    sae = o.initialSae;
    const c = sae.config;
    if (c.architecture !== 'topk' || c.dIn !== dIn || c.dSae !== dSae || c.k !== resolved.k || !c.applyBDecToInput || c.normalizeActivations !== 'none') {
      throw new RangeError(`trainTopKSae: initialSae (${c.architecture}, dIn ${c.dIn}, dSae ${c.dSae}, k ${c.k}) does not match the config (topk, dIn ${dIn}, dSae ${dSae}, k ${resolved.k}, b_dec subtracted, no normalisation)`);
    }
    sae.normalizeDecoderRows();
  }

  const optimizer = new AdamW(sae.parameters(), { lr: o.lr, betas: [0.9, 0.999], eps: ADAM_EPS, weightDecay: 0 });
  const tracker = new DeadLatentTracker(dSae, o.deadAfterTokens);
  const bar = o.progress ? new ProgressBar({ total: o.steps, unit: 'tok' }) : null;
  let tokens = 0;
  let step = 0;
  let last: TopKTrainingProgress | null = null;
  for (; step < o.steps; step++) {
    const batch = batches.next();
    if (batch === null) break;
    const rows = batch.length / dIn;
    const lr = saeLearningRate(step, { lr: o.lr, warmupSteps: o.warmupSteps, totalSteps: o.steps, decay: o.lrDecay, minLr: o.minLr });
    for (const group of optimizer.groups) group.lr = lr;
    const deadMask = tracker.deadMask();
    const tape = new Tape();
    try {
      const x = tape.allocate([rows, dIn]);
      x.data.set(batch);
      const forward = sae.forwardTape(tape, x);
      const error = sub(tape, forward.reconstruction, x);
      const squaredError = sum(tape, mul(tape, error, error));
      const variance = sumOfSquaredDeviations(batch, rows, dIn);
      // A batch of identical rows has no variance to normalise by: plain MSE then.
      let loss = scale(tape, squaredError, variance > 0 ? 1 / variance : 1 / rows);
      let auxK = 0;
      if (o.auxK > 0) {
        // x - x̂ as plain data: AuxK must not pull the live latents' reconstruction.
        const residual = tape.allocate([rows, dIn]);
        const e = error.data;
        for (let i = 0; i < e.length; i++) residual.data[i] = -e[i];
        const aux = auxKLoss(tape, forward.preActivations, residual, sae.decoderWeight, deadMask, o.auxK);
        if (aux !== null) {
          auxK = aux.data[0];
          loss = add(tape, loss, scale(tape, aux, o.auxCoefficient));
        }
      }
      tape.backward(loss);
      removeParallelGradient(sae.decoderWeight, dSae, dIn);
      optimizer.step();
      optimizer.zeroGrad();
      sae.normalizeDecoderRows();
      tracker.observe(forward.latents.data, rows);
      tokens += rows;
      last = {
        step: step + 1,
        steps: o.steps,
        tokens,
        lr,
        mse: squaredError.data[0] / rows,
        auxK,
        loss: loss.data[0],
        explainedVariance: variance > 0 ? 1 - squaredError.data[0] / variance : 0,
        meanL0: countNonZero(forward.latents.data) / rows,
        deadLatents: tracker.deadCount(),
      };
    } finally {
      tape.release();
    }
    o.onProgress?.(last);
    bar?.update(step + 1, tokens, { mse: last.mse.toExponential(3), ev: last.explainedVariance.toFixed(3), dead: last.deadLatents });
  }
  bar?.finish();
  return { sae, steps: step, tokens, last };
}

type CheckedOptions = Required<Omit<TopKTrainingOptions, 'onProgress' | 'initialSae'>> & Pick<TopKTrainingOptions, 'onProgress' | 'initialSae'>;

function checkOptions(options: TopKTrainingOptions, dIn: number, dSae: number): CheckedOptions {
  const fail = (detail: string): never => { throw new RangeError(`trainTopKSae: ${detail}`); };
  const positiveInteger = (name: string, v: unknown): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) fail(`${name} must be a positive integer, got ${String(v)}`);
    return v as number;
  };
  const steps = positiveInteger('steps', options.steps);
  const batchSize = positiveInteger('batchSize', options.batchSize);
  if (!(options.lr > 0) || !Number.isFinite(options.lr)) fail(`lr must be a positive finite number, got ${options.lr}`);
  const warmupSteps = options.warmupSteps ?? 0;
  if (!Number.isSafeInteger(warmupSteps) || warmupSteps < 0) fail(`warmupSteps must be a non-negative integer, got ${warmupSteps}`);
  const lrDecay = options.lrDecay ?? 'constant';
  if (lrDecay !== 'constant' && lrDecay !== 'cosine') fail(`lrDecay must be 'constant' or 'cosine', got '${String(lrDecay)}'`);
  const minLr = options.minLr ?? 0;
  if (!(minLr >= 0 && minLr <= options.lr)) fail(`minLr must lie in [0, lr], got ${minLr}`);
  const auxK = options.auxK ?? defaultAuxK(dIn, dSae);
  if (!Number.isSafeInteger(auxK) || auxK < 0 || auxK > dSae) fail(`auxK must be an integer in [0, dSae=${dSae}], got ${auxK}`);
  const auxCoefficient = options.auxCoefficient ?? 1 / 32;
  if (!(auxCoefficient >= 0) || !Number.isFinite(auxCoefficient)) fail(`auxCoefficient must be a finite number >= 0, got ${auxCoefficient}`);
  const deadAfterTokens = options.deadAfterTokens ?? Math.min(10_000_000, Math.max(10 * batchSize, Math.floor((steps * batchSize) / 10)));
  if (!(deadAfterTokens > 0)) fail(`deadAfterTokens must be positive, got ${deadAfterTokens}`);
  const bDecInit = options.bDecInit ?? 'geometric-median';
  if (bDecInit !== 'mean' && bDecInit !== 'geometric-median' && bDecInit !== 'zeros') fail(`bDecInit must be 'mean', 'geometric-median' or 'zeros', got '${String(bDecInit)}'`);
  const initRows = positiveInteger('initRows', options.initRows ?? 4096);
  if (typeof options.seed !== 'number' || !Number.isFinite(options.seed)) fail(`seed must be a finite number, got ${String(options.seed)}`);
  return { steps, batchSize, lr: options.lr, warmupSteps, lrDecay, minLr, auxK, auxCoefficient, deadAfterTokens, bDecInit, initRows, seed: options.seed, progress: options.progress ?? false, onProgress: options.onProgress, initialSae: options.initialSae };
}

function initialiseDecoderBias(sae: SparseAutoencoder, rows: Float32Array, method: 'mean' | 'geometric-median' | 'zeros'): void {
  if (method === 'zeros') return;
  const n = rows.length / sae.dIn;
  if (n === 0) throw new RangeError('trainTopKSae: the activation data is empty');
  const origin = method === 'mean' ? rowMean(rows, n, sae.dIn) : geometricMedian(rows, n, sae.dIn);
  sae.decoderBias.data.set(origin);
}

/** g_j -= (g_j · w_j / ||w_j||²) w_j for every decoder row j: the step cannot change a row's norm to first order. */
export function removeParallelGradient(decoderWeight: Tensor, dSae: number, dIn: number): void {
  const grad = decoderWeight.grad;
  if (grad === null || decoderWeight.gradIsStale) return;
  const w = decoderWeight.data;
  const g = grad.data;
  for (let j = 0; j < dSae; j++) {
    let dot = 0;
    let squares = 0;
    for (let i = j * dIn; i < (j + 1) * dIn; i++) {
      dot += g[i] * w[i];
      squares += w[i] * w[i];
    }
    if (squares === 0) continue;
    const factor = dot / squares;
    for (let i = j * dIn; i < (j + 1) * dIn; i++) g[i] -= factor * w[i];
  }
}

function countNonZero(values: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) n++;
  return n;
}
