import type { AttentionShape } from '../backends/kernels.js';
import { ShapeError, formatShape } from '../errors.js';
import type { Tape } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { fromOffset, kernels, requireContiguous, requireRank } from './common.js';

// Fused causal self-attention: scaled QK^T, optional soft-capping, causal and
// sliding-window masks, softmax and ·V in one kernel, grouped-query heads included.
// k and v may be time-slices of a larger KV cache (their batch stride is read from
// the view), which is how decoding with a cache reuses this op.

export interface AttentionOptions {
  /** Default 1/sqrt(headDim). */
  scale?: number;
  /** Default true. Query i sits at absolute position i + (Tk - Tq). */
  causal?: boolean;
  /** 0 = off. Gemma-2 uses 50. */
  softCap?: number;
  /** 0 = off; else only the last `window` positions are visible. */
  window?: number;
  /** Per batch row: keys before this index are hidden (the left padding of a ragged batch). */
  keyStart?: Int32Array | null;
}

function keyValueBatchStride(op: string, name: string, t: Tensor): number {
  const [, seq, heads, dim] = t.shape;
  const [batchStride, seqStride, headStride, dimStride] = t.strides;
  const rowIsDense = (dimStride === 1 || dim === 1) && (headStride === dim || heads === 1) && (seqStride === heads * dim || seq === 1);
  if (!rowIsDense || (t.shape[0] > 1 && batchStride < seq * heads * dim)) {
    throw new ShapeError(op, `${name} ${formatShape(t.shape)} with strides ${formatShape(t.strides)} must be dense within each batch row`);
  }
  return t.shape[0] > 1 ? batchStride : seq * heads * dim;
}

/** q: [B, Tq, Hq, D]; k, v: [B, Tk, Hkv, D]. Returns [B, Tq, Hq, D]. */
export function attention(tape: Tape, q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  const qData = requireContiguous('attention', 'q', q);
  requireRank('attention', 'q', q, 4);
  requireRank('attention', 'k', k, 4);
  requireRank('attention', 'v', v, 4);
  k.assertAlive('attention');
  v.assertAlive('attention');
  const [batch, queryLength, queryHeads, headDim] = q.shape;
  const [kb, keyLength, keyValueHeads, kd] = k.shape;
  if (kb !== batch || kd !== headDim || v.shape.some((d, i) => d !== k.shape[i])) {
    throw new ShapeError('attention', `q ${formatShape(q.shape)}, k ${formatShape(k.shape)} and v ${formatShape(v.shape)} must agree on batch and head dim, and k and v must have the same shape`);
  }
  if (keyValueHeads === 0 || queryHeads % keyValueHeads !== 0) {
    throw new ShapeError('attention', `query heads (${queryHeads}) must be a multiple of key/value heads (${keyValueHeads})`);
  }
  const stride = keyValueBatchStride('attention', 'k', k);
  if (keyValueBatchStride('attention', 'v', v) !== stride) {
    throw new ShapeError('attention', 'k and v must have the same batch stride');
  }
  const shape: AttentionShape = {
    batch, queryLength, keyLength, queryHeads, keyValueHeads, headDim,
    keyValueBatchStride: stride,
    scale: options.scale ?? 1 / Math.sqrt(headDim),
    softCap: options.softCap ?? 0,
    causal: options.causal ?? true,
    window: options.window ?? 0,
    keyStart: options.keyStart ?? null,
  };
  const tracking = tape.tracks(q, k, v);
  const out = tape.allocate(q.shape);
  const probs = tracking ? tape.allocate([batch, queryHeads, queryLength, keyLength]) : null;
  const kData = fromOffset(k);
  const vData = fromOffset(v);
  kernels().attention(qData, kData, vData, out.data, probs?.data ?? null, shape);
  return tape.record('attention', out, [q, k, v], (gradOut) => {
    const sinks = [q, k, v].map((t) => tape.gradientSink(t));
    // The kernel has one accumulate flag for all three gradients: if any sink
    // accumulates, zero the overwrite-mode ones and accumulate into all of them.
    const accumulate = sinks.some((sink) => sink !== null && sink.accumulate);
    const targets = sinks.map((sink, i) => {
      if (sink === null) return tape.allocate([q, k, v][i].shape).data;
      if (accumulate && !sink.accumulate) sink.array.fill(0);
      return sink.array;
    });
    kernels().attentionBackward(qData, kData, vData, probs!.data, gradOut.data, targets[0], targets[1], targets[2], shape, accumulate);
  });
}
