// The contract between the autodiff layer and a compute backend.
//
// Every kernel works on flat, row-major, contiguous buffers passed as typed arrays
// (a Float32Array may be a subarray view: the kernel sees exactly its elements).
// Sizes are passed explicitly so that a backend can check them against the buffer
// lengths before touching memory; a size/length mismatch must throw a
// KernelArgumentError-like Error naming the kernel and the bad argument, never
// read or write out of bounds.
//
// `accumulate` flags mean: when true, the kernel adds its result into the output
// buffer (out += result); when false it overwrites (out = result). Backward kernels
// use them so the tape can sum gradients from several consumers without a temporary.
//
// The native backend accepts Float32Array only. The JS reference backend accepts
// Float32Array or Float64Array (the float64 flavour is used for finite-difference
// gradient checks) and must compute in the precision of its buffers.
//
// Determinism: for a given thread count, every kernel returns bit-identical results
// from run to run (static work partitioning, ordered reductions).

export type FloatArray = Float32Array | Float64Array;

export const enum GeluApproximation { Tanh = 0, Erf = 1 }
export const enum GatedKind { SwiGLU = 0, GeGLUTanh = 1, GeGLUErf = 2 }
export const enum BinaryOp { Add = 0, Mul = 1 }

export interface AttentionShape {
  batch: number;
  queryLength: number;        // Tq
  keyLength: number;          // Tk (>= Tq for causal decoding with a cache)
  queryHeads: number;         // Hq
  keyValueHeads: number;      // Hkv, divides Hq (grouped-query attention)
  headDim: number;            // D
  // Element stride between consecutive batch rows of k and v. For dense k/v tensors
  // this is keyLength * Hkv * D; for a KV cache of capacity Tmax it is Tmax * Hkv * D.
  keyValueBatchStride: number;
  scale: number;              // multiplies q·k before soft-capping
  softCap: number;            // 0 = off; else s <- softCap * tanh(s / softCap)
  causal: boolean;            // query i sits at absolute position i + (Tk - Tq)
  window: number;             // 0 = off; else key j is visible to query at position p iff p - j < window
  // Optional, one per batch row: keys j < keyStart[b] are invisible to every query of
  // row b. Left-padded batches use it to hide the padding of shorter prompts.
  keyStart?: Int32Array | null;
}

export interface Kernels {
  readonly name: 'native' | 'js';
  readonly threads: number;
  // What the GEMM runs on, e.g. "openblas (Cooperlake)", "bundled-avx2", "js".
  readonly gemmImplementation: string;

  // ---- GEMM ----------------------------------------------------------------
  // For b in [0, batch): C_b = alpha * op(A_b) @ op(B_b) + beta * C_b, where
  // op(X) = X or X^T, A_b starts at b*strideA, etc. Row-major with leading
  // dimensions lda/ldb/ldc (elements). op(A) is M x K, op(B) is K x N, C is M x N.
  // Stored A is M x K (lda >= K) when !transA, K x M (lda >= M) when transA.
  // batch = 1 for an ordinary matmul (strides are then ignored).
  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    A: FloatArray, lda: number, strideA: number,
    B: FloatArray, ldb: number, strideB: number,
    beta: number, C: FloatArray, ldc: number, strideC: number, batch: number,
  ): void;

  // ---- elementwise -----------------------------------------------------------
  fill(out: FloatArray, value: number): void;
  // out = accumulate ? out + alpha*x : alpha*x   (same length)
  scaleInto(x: FloatArray, alpha: number, out: FloatArray, accumulate: boolean): void;
  // N-d broadcast binary op: out[i] = a[idx·aStrides] op b[idx·bStrides] for every
  // multi-index idx of `shape` (out is contiguous with that shape). Broadcast dims
  // have stride 0. ndim <= 8.
  broadcastBinary(op: BinaryOp, a: FloatArray, aStrides: Int32Array, b: FloatArray, bStrides: Int32Array,
    out: FloatArray, shape: Int32Array): void;
  // Strided copy: for every idx of `shape`, dst[dstOffset + idx·dstStrides] (+)= src[srcOffset + idx·srcStrides].
  // With accumulate=true, dst positions may repeat (stride 0 dims reduce by summation:
  // this is how broadcast gradients are summed back). ndim <= 8.
  copyStrided(src: FloatArray, srcOffset: number, srcStrides: Int32Array,
    dst: FloatArray, dstOffset: number, dstStrides: Int32Array, shape: Int32Array, accumulate: boolean): void;
  // Sum over the middle axis of a [outer, axis, inner] array into out [outer, inner].
  sumAxis(x: FloatArray, outer: number, axis: number, inner: number, out: FloatArray, accumulate: boolean): void;
  // Sum of all elements, accumulated in double precision.
  sumAll(x: FloatArray): number;
  // Sum of squares of all elements, accumulated in double precision.
  sumSquares(x: FloatArray): number;
  // Index of the first NaN or +-Infinity, or -1.
  findNonFinite(x: FloatArray): number;

  // ---- activations -----------------------------------------------------------
  gelu(x: FloatArray, out: FloatArray, approximation: GeluApproximation): void;
  geluBackward(x: FloatArray, gradOut: FloatArray, gradIn: FloatArray, approximation: GeluApproximation, accumulate: boolean): void;
  silu(x: FloatArray, out: FloatArray): void;
  siluBackward(x: FloatArray, gradOut: FloatArray, gradIn: FloatArray, accumulate: boolean): void;
  // SwiGLU: out = silu(gate) * up.  GeGLU: out = gelu(gate) * up.
  gated(kind: GatedKind, gate: FloatArray, up: FloatArray, out: FloatArray): void;
  gatedBackward(kind: GatedKind, gate: FloatArray, up: FloatArray, gradOut: FloatArray,
    gradGate: FloatArray, gradUp: FloatArray, accumulate: boolean): void;

  // ---- normalisation (over the last axis of a [rows, cols] array) ------------
  // y = (x - mean) * rstd * w + b ; weight/bias may be null (= 1 / 0).
  // mean and rstd ([rows]) are written for the backward pass.
  layerNorm(x: FloatArray, weight: FloatArray | null, bias: FloatArray | null, out: FloatArray,
    mean: FloatArray, rstd: FloatArray, rows: number, cols: number, eps: number): void;
  layerNormBackward(x: FloatArray, weight: FloatArray | null, mean: FloatArray, rstd: FloatArray,
    gradOut: FloatArray, gradX: FloatArray, gradWeight: FloatArray | null, gradBias: FloatArray | null,
    rows: number, cols: number, accumulateX: boolean, accumulateParams: boolean): void;
  // y = x * rstd * (weightOffset + w), rstd = 1/sqrt(mean(x^2) + eps). weightOffset is 0
  // (Llama) or 1 (Gemma's (1+w)). weight may be null (= no scaling, for per-head q/k norms
  // without weights this is never used; null means y = x*rstd).
  rmsNorm(x: FloatArray, weight: FloatArray | null, out: FloatArray, rstd: FloatArray,
    rows: number, cols: number, eps: number, weightOffset: number): void;
  rmsNormBackward(x: FloatArray, weight: FloatArray | null, rstd: FloatArray, gradOut: FloatArray,
    gradX: FloatArray, gradWeight: FloatArray | null, rows: number, cols: number, weightOffset: number,
    accumulateX: boolean, accumulateParams: boolean): void;

  // ---- rotary position embedding (Hugging Face rotate_half layout) -----------
  // x, out: [batch, seq, heads, headDim]. The first rotaryDim (even, <= headDim) channels
  // of each head rotate: with h = rotaryDim/2, for i < h:
  //   out[i]   = x[i]   * cos(p,i) - x[i+h] * sin(p,i)
  //   out[i+h] = x[i+h] * cos(p,i) + x[i]   * sin(p,i)
  // and the remaining channels pass through. cos/sin tables are [maxPosition, h];
  // p = positions[b*seq + t] (Int32Array, each in [0, maxPosition)).
  // inverse=true applies the transpose rotation (sin -> -sin): the backward pass.
  rope(x: FloatArray, out: FloatArray, cos: FloatArray, sin: FloatArray, positions: Int32Array,
    batch: number, seq: number, heads: number, headDim: number, rotaryDim: number, maxPosition: number,
    inverse: boolean, accumulate: boolean): void;

  // ---- fused attention -------------------------------------------------------
  // q, out: [B, Tq, Hq, D] contiguous. k, v: B rows of [Tk, Hkv, D] at keyValueBatchStride.
  // probs (optional, [B, Hq, Tq, Tk]) receives the softmax probabilities (masked = 0),
  // which the backward pass reads. A query row with no visible key yields zeros.
  attention(q: FloatArray, k: FloatArray, v: FloatArray, out: FloatArray, probs: FloatArray | null,
    shape: AttentionShape): void;
  // gradK / gradV are dense [B, Tk, Hkv, D] (keyValueBatchStride is only used to read k and v).
  attentionBackward(q: FloatArray, k: FloatArray, v: FloatArray, probs: FloatArray, gradOut: FloatArray,
    gradQ: FloatArray, gradK: FloatArray, gradV: FloatArray, shape: AttentionShape, accumulate: boolean): void;

  // ---- softmax family (over the last axis of [rows, cols]) ------------------
  softmax(x: FloatArray, out: FloatArray, rows: number, cols: number): void;
  // gradIn = y * (gradOut - sum(gradOut * y))
  softmaxBackward(y: FloatArray, gradOut: FloatArray, gradIn: FloatArray, rows: number, cols: number, accumulate: boolean): void;
  logSoftmax(x: FloatArray, out: FloatArray, rows: number, cols: number): void;
  // gradIn = gradOut - exp(y) * sum(gradOut)
  logSoftmaxBackward(y: FloatArray, gradOut: FloatArray, gradIn: FloatArray, rows: number, cols: number, accumulate: boolean): void;

  // ---- losses ----------------------------------------------------------------
  // Per-row cross-entropy: losses[r] = weight[r] * (logsumexp(logits[r]) - logits[r][target[r]]),
  // or 0 when target[r] == ignoreIndex. logSumExp[r] is written for the backward pass.
  // weights may be null (all 1). A target outside [0, vocab) that is not ignoreIndex
  // throws an Error naming the first bad row and value, before anything is written.
  crossEntropy(logits: FloatArray, targets: Int32Array, weights: FloatArray | null, rows: number, vocab: number,
    ignoreIndex: number, losses: FloatArray, logSumExp: FloatArray): void;
  // gradLogits[r] = rowScale[r] * weight[r] * (softmax(logits[r]) - onehot(target[r])); zero for ignored rows.
  crossEntropyBackward(logits: FloatArray, targets: Int32Array, weights: FloatArray | null, logSumExp: FloatArray,
    rowScale: FloatArray, gradLogits: FloatArray, rows: number, vocab: number, ignoreIndex: number, accumulate: boolean): void;
  // Per-row KL(P || Q) with P = softmax(p), Q = softmax(q): out[r] = sum P (log P - log Q).
  klDivergence(p: FloatArray, q: FloatArray, rows: number, vocab: number, out: FloatArray): void;
  // Gradients of rowScale[r] * KL_r with respect to the logits p and q (either may be null = not wanted):
  //   dp = rowScale * P * ((log P - log Q) - KL_r),   dq = rowScale * (Q - P)
  klDivergenceBackward(p: FloatArray, q: FloatArray, rowScale: FloatArray, gradP: FloatArray | null, gradQ: FloatArray | null,
    rows: number, vocab: number, accumulate: boolean): void;

  // ---- sparse selection ------------------------------------------------------
  // For each row of x [rows, cols], keep the k largest values (ties: lower index wins),
  // zero the rest: out is dense [rows, cols]; indices [rows, k] lists kept columns in
  // descending value order.
  topK(x: FloatArray, out: FloatArray, indices: Int32Array, rows: number, cols: number, k: number): void;
  // Straight-through: gradIn[r, indices[r, j]] (+)= gradOut[r, indices[r, j]]; other entries 0 (or untouched if accumulate).
  topKBackward(gradOut: FloatArray, indices: Int32Array, gradIn: FloatArray, rows: number, cols: number, k: number, accumulate: boolean): void;

  // ---- embedding -------------------------------------------------------------
  // out[i] = table[ids[i]] (rows of length dim). An id outside [0, vocab) throws an Error
  // naming the first bad position and value, before anything is written.
  embedding(table: FloatArray, vocab: number, dim: number, ids: Int32Array, out: FloatArray): void;
  // gradTable[ids[i]] += gradOut[i] (always accumulates; deterministic).
  embeddingBackward(gradOut: FloatArray, ids: Int32Array, vocab: number, dim: number, gradTable: FloatArray): void;

  // ---- optimisers (in place) -------------------------------------------------
  // Decoupled weight decay: p -= lr * (weightDecay * p + mHat / (sqrt(vHat) + eps)),
  // m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2, mHat = m / biasCorrection1, vHat = v / biasCorrection2.
  adamW(param: FloatArray, grad: FloatArray, m: FloatArray, v: FloatArray, lr: number, beta1: number, beta2: number,
    eps: number, weightDecay: number, biasCorrection1: number, biasCorrection2: number): void;
  // PyTorch semantics: g' = g + wd*p; buf = momentum*buf + (1-dampening)*g' (buf = g' on the first step,
  // signalled by firstStep); step = nesterov ? g' + momentum*buf : buf; p -= lr*step.
  sgd(param: FloatArray, grad: FloatArray, momentumBuffer: FloatArray, lr: number, momentum: number,
    dampening: number, weightDecay: number, nesterov: boolean, firstStep: boolean): void;
}
