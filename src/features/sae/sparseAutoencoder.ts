import { Random, Tape, Tensor, add, contiguous, matmul, sub, topK } from '../../tensor/index.js';
import { jumpRelu, relu } from './activationOps.js';
import { validateSaeConfig, type SaeConfig } from './config.js';
import { affineRows, invertAffine, normalizationCoefficients } from './normalization.js';

// A sparse autoencoder over one hook point's activations:
//   pre = (x - b_dec) W_enc + b_enc      (b_dec not subtracted when applyBDecToInput is false)
//   z   = TopK-then-ReLU(pre)  (Gao et al. 2024: keep the k largest, then ReLU)
//       | JumpReLU(pre; threshold) (Gemma Scope)
//       | ReLU(pre)
//   x̂   = z W_dec + b_dec
// Weights follow SAELens' layout: W_enc [dIn, dSae], W_dec [dSae, dIn] (row j is
// latent j's direction in the residual stream).

export type ResolvedSaeConfig = ReturnType<typeof validateSaeConfig>;

/** Plain arrays for every weight, row-major, in SAELens' shapes. */
export interface SaeWeights {
  /** W_enc [dIn, dSae] */
  encoderWeight: Float32Array;
  /** b_enc [dSae] */
  encoderBias: Float32Array;
  /** W_dec [dSae, dIn] */
  decoderWeight: Float32Array;
  /** b_dec [dIn] */
  decoderBias: Float32Array;
  /** [dSae], JumpReLU only */
  threshold?: Float32Array;
}

export interface SaeForward {
  /** [n, dSae] before the nonlinearity. */
  preActivations: Tensor;
  /** [n, dSae] sparse codes. */
  latents: Tensor;
  /** [n, dIn] in the input's space (normalisation undone). */
  reconstruction: Tensor;
}

// Rows per chunk for the Float32Array entry points, so a large batch of
// activations never materialises one huge [n, dSae] intermediate at a time.
const INFERENCE_CHUNK_ROWS = 512;

export class SparseAutoencoder {
  readonly config: ResolvedSaeConfig;
  /** W_enc [dIn, dSae] */
  readonly encoderWeight: Tensor;
  /** b_enc [dSae] */
  readonly encoderBias: Tensor;
  /** W_dec [dSae, dIn] */
  readonly decoderWeight: Tensor;
  /** b_dec [dIn] */
  readonly decoderBias: Tensor;
  /** [dSae] for JumpReLU, else null. */
  readonly threshold: Tensor | null;

  constructor(config: SaeConfig, weights: SaeWeights) {
    this.config = validateSaeConfig(config);
    const { dIn, dSae } = this.config;
    const check = (name: string, data: Float32Array | undefined, shape: number[]): Tensor => {
      const expected = shape.reduce((a, b) => a * b, 1);
      if (!(data instanceof Float32Array)) throw new RangeError(`SparseAutoencoder: ${name} must be a Float32Array of ${expected} values [${shape.join(', ')}]`);
      if (data.length !== expected) throw new RangeError(`SparseAutoencoder: ${name} has ${data.length} values, expected [${shape.join(', ')}] = ${expected}`);
      return Tensor.parameter(Tensor.fromArray(data, shape), name);
    };
    this.encoderWeight = check('W_enc', weights.encoderWeight, [dIn, dSae]);
    this.encoderBias = check('b_enc', weights.encoderBias, [dSae]);
    this.decoderWeight = check('W_dec', weights.decoderWeight, [dSae, dIn]);
    this.decoderBias = check('b_dec', weights.decoderBias, [dIn]);
    if (this.config.architecture === 'jumprelu') {
      this.threshold = check('threshold', weights.threshold, [dSae]);
    } else {
      if (weights.threshold !== undefined) throw new RangeError(`SparseAutoencoder: a threshold is given but architecture '${this.config.architecture}' has none (only 'jumprelu' does)`);
      this.threshold = null;
    }
  }

  /** All weights zero (x̂ = b_dec = 0): the zero-ablation SAE. */
  static zeros(config: SaeConfig): SparseAutoencoder {
    const { dIn, dSae } = validateSaeConfig(config);
    return new SparseAutoencoder(config, {
      encoderWeight: new Float32Array(dIn * dSae),
      encoderBias: new Float32Array(dSae),
      decoderWeight: new Float32Array(dSae * dIn),
      decoderBias: new Float32Array(dIn),
      threshold: config.architecture === 'jumprelu' ? new Float32Array(dSae) : undefined,
    });
  }

  /**
   * The usual starting point for training: decoder rows in random directions with
   * unit norm, W_enc = W_decᵀ (Gao et al.; SAELens), biases and thresholds zero.
   */
  static random(config: SaeConfig, seed: number): SparseAutoencoder {
    const { dIn, dSae } = validateSaeConfig(config);
    const rng = new Random(seed);
    const decoderWeight = new Float32Array(dSae * dIn);
    rng.fillNormal(decoderWeight);
    normalizeRowsInPlace(decoderWeight, dSae, dIn);
    const encoderWeight = new Float32Array(dIn * dSae);
    for (let j = 0; j < dSae; j++) for (let i = 0; i < dIn; i++) encoderWeight[i * dSae + j] = decoderWeight[j * dIn + i];
    return new SparseAutoencoder(config, {
      encoderWeight,
      encoderBias: new Float32Array(dSae),
      decoderWeight,
      decoderBias: new Float32Array(dIn),
      threshold: config.architecture === 'jumprelu' ? new Float32Array(dSae) : undefined,
    });
  }

  get dIn(): number { return this.config.dIn; }
  get dSae(): number { return this.config.dSae; }

  /** The trainable tensors. */
  parameters(): Tensor[] {
    const params = [this.encoderWeight, this.encoderBias, this.decoderWeight, this.decoderBias];
    if (this.threshold !== null) params.push(this.threshold);
    return params;
  }

  /** Copies of every weight (safe to keep after further training). */
  weights(): SaeWeights {
    const copy = (t: Tensor) => Float32Array.from(t.data);
    return {
      encoderWeight: copy(this.encoderWeight),
      encoderBias: copy(this.encoderBias),
      decoderWeight: copy(this.decoderWeight),
      decoderBias: copy(this.decoderBias),
      ...(this.threshold === null ? {} : { threshold: copy(this.threshold) }),
    };
  }

  /**
   * The differentiable forward pass on `tape`: x [n, dIn] -> pre-activations,
   * latents and reconstruction. TopK's selection passes gradients straight through
   * to the chosen entries.
   */
  forwardTape(tape: Tape, x: Tensor): SaeForward {
    const { dIn, architecture, normalizeActivations, applyBDecToInput } = this.config;
    if (x.shape.length !== 2 || x.shape[1] !== dIn) throw new RangeError(`SparseAutoencoder.forwardTape: x must be [n, ${dIn}], got [${x.shape.join(', ')}]`);
    const rows = x.shape[0];
    const flat = contiguous(tape, x);
    const affine = normalizationCoefficients(normalizeActivations, flat.data, rows, dIn);
    const input = affine === null ? flat : affineRows(tape, flat, affine);
    const centred = applyBDecToInput ? sub(tape, input, this.decoderBias) : input;
    const preActivations = add(tape, matmul(tape, centred, this.encoderWeight), this.encoderBias);
    let latents: Tensor;
    if (architecture === 'topk') latents = relu(tape, topK(tape, preActivations, this.config.k!).values);
    else if (architecture === 'jumprelu') latents = jumpRelu(tape, preActivations, this.threshold!);
    else latents = relu(tape, preActivations);
    const decoded = this.decodeTape(tape, latents);
    const reconstruction = affine === null ? decoded : affineRows(tape, decoded, invertAffine(affine));
    return { preActivations, latents, reconstruction };
  }

  /** z W_dec + b_dec on the tape (in the normalised space when the SAE normalises). */
  decodeTape(tape: Tape, latents: Tensor): Tensor {
    return add(tape, matmul(tape, latents, this.decoderWeight), this.decoderBias);
  }

  /** Sparse codes for n rows of activations: [n * dIn] -> [n * dSae]. */
  encode(x: Float32Array, n: number): Float32Array {
    return this.inChunks('encode', x, n, this.dSae, (tape, chunk) => this.forwardTape(tape, chunk).latents);
  }

  /**
   * z W_dec + b_dec: [n * dSae] -> [n * dIn]. With a run-time normalisation this is
   * the reconstruction in the normalised space (undoing it needs the input rows:
   * use reconstruct).
   */
  decode(latents: Float32Array, n: number): Float32Array {
    checkRows('decode', latents, n, this.dSae);
    const out = new Float32Array(n * this.dIn);
    for (let start = 0; start < n; start += INFERENCE_CHUNK_ROWS) {
      const rows = Math.min(INFERENCE_CHUNK_ROWS, n - start);
      const tape = new Tape({ grad: false });
      try {
        const z = tape.allocate([rows, this.dSae]);
        z.data.set(latents.subarray(start * this.dSae, (start + rows) * this.dSae));
        out.set(this.decodeTape(tape, z).data, start * this.dIn);
      } finally {
        tape.release();
      }
    }
    return out;
  }

  /** encode then decode, in the input's space: [n * dIn] -> [n * dIn]. */
  reconstruct(x: Float32Array, n: number): Float32Array {
    return this.inChunks('reconstruct', x, n, this.dIn, (tape, chunk) => this.forwardTape(tape, chunk).reconstruction);
  }

  /** Rescales every decoder row to unit norm (rows of zeros stay zero). */
  normalizeDecoderRows(): void {
    normalizeRowsInPlace(this.decoderWeight.data, this.dSae, this.dIn);
  }

  private inChunks(op: string, x: Float32Array, n: number, outWidth: number, run: (tape: Tape, chunk: Tensor) => Tensor): Float32Array {
    checkRows(op, x, n, this.dIn);
    const out = new Float32Array(n * outWidth);
    for (let start = 0; start < n; start += INFERENCE_CHUNK_ROWS) {
      const rows = Math.min(INFERENCE_CHUNK_ROWS, n - start);
      const tape = new Tape({ grad: false });
      try {
        const chunk = tape.allocate([rows, this.dIn]);
        chunk.data.set(x.subarray(start * this.dIn, (start + rows) * this.dIn));
        out.set(run(tape, chunk).data, start * outWidth);
      } finally {
        tape.release();
      }
    }
    return out;
  }
}

function checkRows(op: string, data: Float32Array, n: number, width: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`SparseAutoencoder.${op}: n must be a non-negative integer, got ${n}`);
  if (data.length !== n * width) throw new RangeError(`SparseAutoencoder.${op}: expected ${n} rows of ${width} (${n * width} values), got ${data.length}`);
}

/** Scales each row of a [rows, width] matrix to unit L2 norm. */
export function normalizeRowsInPlace(matrix: { length: number; [i: number]: number }, rows: number, width: number): void {
  for (let r = 0; r < rows; r++) {
    let squares = 0;
    for (let i = r * width; i < (r + 1) * width; i++) squares += matrix[i] * matrix[i];
    if (squares === 0) continue;
    const inverse = 1 / Math.sqrt(squares);
    for (let i = r * width; i < (r + 1) * width; i++) matrix[i] *= inverse;
  }
}
