import { type Backend, getBackend, setBackend } from './backend.js';
import type { AttentionShape, Kernels } from './backends/kernels.js';

// Counts the floating-point operations a computation actually runs, at the
// kernels: 2·M·N·K per matrix product (batched: times the batch) and, per
// attention, 4·D per visible (query, key) pair and head (q·k and the weighted
// sum of values) forward, twice that backward. Elementwise work, norms and
// softmax are left out: on a transformer they are a few percent of the
// products. The benchmark reads the counter around each update, so its
// "FLOPs per update" are what the update ran, not an estimate from token counts.

export interface FlopCounter {
  flops: number;
}

/** (query, key) pairs attention computes: causal queries see keys up to their own position, a window cuts further back. */
export function visibleAttentionPairs(shape: AttentionShape): number {
  const { queryLength: tq, keyLength: tk, causal, window } = shape;
  let pairs = 0;
  for (let i = 0; i < tq; i++) {
    const position = i + (tk - tq);
    let visible = causal ? Math.min(tk, position + 1) : tk;
    if (window > 0) visible = Math.min(visible, window);
    pairs += visible;
  }
  return pairs * shape.batch;
}

/** The same kernels, with every matrix product and attention added to `counter`. */
export function countingKernels(inner: Kernels, counter: FlopCounter): Kernels {
  // A copy of the (frozen) kernels object, getters included, with two methods replaced.
  const descriptors = Object.getOwnPropertyDescriptors(inner);
  for (const d of Object.values(descriptors)) d.configurable = true;
  const counted = Object.create(Object.getPrototypeOf(inner) as object, descriptors) as Record<string, unknown>;
  const count = <K extends 'gemm' | 'attention' | 'attentionBackward'>(name: K, flopsOf: (args: Parameters<Kernels[K]>) => number) => {
    const original = (inner[name] as (...args: Parameters<Kernels[K]>) => void).bind(inner);
    Object.defineProperty(counted, name, {
      value: (...args: Parameters<Kernels[K]>) => {
        counter.flops += flopsOf(args);
        original(...args);
      },
    });
  };
  // gemm(transA, transB, m, n, k, ..., batch): 2·M·N·K per product.
  count('gemm', (args) => 2 * args[2] * args[3] * args[4] * args[16]);
  count('attention', (args) => 4 * args[5].headDim * args[5].queryHeads * visibleAttentionPairs(args[5]));
  count('attentionBackward', (args) => 8 * args[8].headDim * args[8].queryHeads * visibleAttentionPairs(args[8]));
  return Object.freeze(counted) as unknown as Kernels;
}

let processCounter: FlopCounter | null = null;

/**
 * Installs counting kernels in this process's backend (once; later calls return the
 * same counter). Everything computed afterwards, on any model, is counted.
 */
export function processFlopCounter(): FlopCounter {
  if (processCounter !== null) return processCounter;
  const counter: FlopCounter = { flops: 0 };
  const current: Backend = getBackend();
  setBackend({ kernels: countingKernels(current.kernels, counter), precision: current.precision, pool: current.pool });
  processCounter = counter;
  return counter;
}
