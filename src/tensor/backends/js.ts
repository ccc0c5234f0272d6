// The pure-TypeScript reference backend: exact, single-threaded, and the fallback
// when the native addon is unavailable. Works on Float32Array (results stored in
// float32, intermediate arithmetic in double) and Float64Array (double throughout,
// for finite-difference gradient checks).

import type { Kernels } from './kernels.js';
import { gemm } from './js/gemm.js';
import { broadcastBinary, copyStrided, fill, findNonFinite, scaleInto, sumAll, sumAxis, sumSquares } from './js/elementwise.js';
import { gated, gatedBackward, gelu, geluBackward, siluBackward, siluKernel } from './js/activations.js';
import { layerNorm, layerNormBackward, rmsNorm, rmsNormBackward } from './js/norms.js';
import { rope } from './js/rope.js';
import { attention, attentionBackward } from './js/attention.js';
import { logSoftmax, logSoftmaxBackward, softmax, softmaxBackward } from './js/softmax.js';
import { crossEntropy, crossEntropyBackward, klDivergence, klDivergenceBackward } from './js/losses.js';
import { topK, topKBackward } from './js/topk.js';
import { embedding, embeddingBackward } from './js/embedding.js';
import { adamW, sgd } from './js/optimisers.js';

export { KernelArgumentError } from './js/validate.js';

export const jsKernels: Kernels = Object.freeze({
  name: 'js' as const,
  threads: 1,
  gemmImplementation: 'js',
  gemm,
  fill,
  scaleInto,
  broadcastBinary,
  copyStrided,
  sumAxis,
  sumAll,
  sumSquares,
  findNonFinite,
  gelu,
  geluBackward,
  silu: siluKernel,
  siluBackward,
  gated,
  gatedBackward,
  layerNorm,
  layerNormBackward,
  rmsNorm,
  rmsNormBackward,
  rope,
  attention,
  attentionBackward,
  softmax,
  softmaxBackward,
  logSoftmax,
  logSoftmaxBackward,
  crossEntropy,
  crossEntropyBackward,
  klDivergence,
  klDivergenceBackward,
  topK,
  topKBackward,
  embedding,
  embeddingBackward,
  adamW,
  sgd,
});
