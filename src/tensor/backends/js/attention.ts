import type { AttentionShape, FloatArray } from '../kernels.js';
import {
  checkBoolean, checkFinite, checkFloatArray, checkMinLength, checkNonNegativeFinite, checkSize, checkedProduct, fail,
} from './validate.js';

interface Dims {
  B: number; Tq: number; Tk: number; Hq: number; Hkv: number; D: number; kvStride: number;
  group: number; scale: number; softCap: number; causal: boolean; window: number; keyStart: Int32Array | null;
  qSize: number; kvNeeded: number; kvDense: number; probsSize: number;
}

function checkAttentionShape(kernel: string, shape: AttentionShape): Dims {
  if (typeof shape !== 'object' || shape === null) fail(kernel, 'shape', 'shape must be an AttentionShape object');
  const { batch: B, queryLength: Tq, keyLength: Tk, queryHeads: Hq, keyValueHeads: Hkv, headDim: D } = shape;
  checkSize(kernel, 'shape.batch', B);
  checkSize(kernel, 'shape.queryLength', Tq);
  checkSize(kernel, 'shape.keyLength', Tk);
  checkSize(kernel, 'shape.queryHeads', Hq);
  checkSize(kernel, 'shape.keyValueHeads', Hkv);
  checkSize(kernel, 'shape.headDim', D);
  checkSize(kernel, 'shape.keyValueBatchStride', shape.keyValueBatchStride);
  checkSize(kernel, 'shape.window', shape.window);
  checkFinite(kernel, 'shape.scale', shape.scale);
  checkNonNegativeFinite(kernel, 'shape.softCap', shape.softCap);
  checkBoolean(kernel, 'shape.causal', shape.causal);
  if (Hkv === 0) fail(kernel, 'shape.keyValueHeads', 'shape.keyValueHeads must be >= 1, got 0');
  if (Hq % Hkv !== 0) fail(kernel, 'shape.queryHeads', `shape.queryHeads=${Hq} is not a multiple of shape.keyValueHeads=${Hkv}`);
  const keyStart = shape.keyStart ?? null;
  if (keyStart !== null) {
    if (!(keyStart instanceof Int32Array)) fail(kernel, 'shape.keyStart', 'shape.keyStart must be an Int32Array, null or absent');
    if (keyStart.length < B) fail(kernel, 'shape.keyStart', `shape.keyStart has ${keyStart.length} entries, needs one per batch row (${B})`);
    for (let b = 0; b < B; b++) {
      if (keyStart[b]! < 0 || keyStart[b]! > Tk) fail(kernel, 'shape.keyStart', `shape.keyStart[${b}] = ${keyStart[b]} is outside [0, keyLength=${Tk}]`);
    }
  }
  const kvRow = checkedProduct(kernel, 'Tk*Hkv*D', Tk, Hkv, D);
  const kvNeeded = B === 0 || kvRow === 0 ? 0 : checkedProduct(kernel, 'k/v extent', B - 1, shape.keyValueBatchStride) + kvRow;
  return {
    B, Tq, Tk, Hq, Hkv, D, kvStride: shape.keyValueBatchStride, group: Hq / Hkv,
    scale: shape.scale, softCap: shape.softCap, causal: shape.causal, window: shape.window, keyStart,
    qSize: checkedProduct(kernel, 'B*Tq*Hq*D', B, Tq, Hq, D),
    kvNeeded,
    kvDense: checkedProduct(kernel, 'B*Tk*Hkv*D', B, kvRow),
    probsSize: checkedProduct(kernel, 'B*Hq*Tq*Tk', B, Hq, Tq, Tk),
  };
}

function describeQ(s: Dims): string {
  return `B=${s.B}, Tq=${s.Tq}, Hq=${s.Hq}, D=${s.D}`;
}
function describeKv(s: Dims): string {
  return `B=${s.B}, Tk=${s.Tk}, Hkv=${s.Hkv}, D=${s.D}, keyValueBatchStride=${s.kvStride}`;
}

/** Visible keys for query row i of batch row b are j in [lo, hi). */
function visibleRange(s: Dims, b: number, i: number): [number, number] {
  const pos = i + (s.Tk - s.Tq);
  let lo = s.keyStart === null ? 0 : s.keyStart[b]!;
  let hi = s.Tk;
  if (s.causal) hi = Math.min(hi, pos + 1);
  if (s.window > 0) lo = Math.max(lo, pos - s.window + 1);
  return [lo, Math.max(lo, hi)];
}

/** Scaled, soft-capped score of query row qOff against key row kOff (the pre-softmax logit). */
function rawScore(q: FloatArray, qOff: number, k: FloatArray, kOff: number, D: number, scale: number): number {
  let dot = 0;
  for (let d = 0; d < D; d++) dot += q[qOff + d]! * k[kOff + d]!;
  return scale * dot;
}

export function attention(q: FloatArray, k: FloatArray, v: FloatArray, out: FloatArray, probs: FloatArray | null, shape: AttentionShape): void {
  const kn = 'attention';
  checkFloatArray(kn, 'q', q);
  checkFloatArray(kn, 'k', k);
  checkFloatArray(kn, 'v', v);
  checkFloatArray(kn, 'out', out);
  if (probs !== null) checkFloatArray(kn, 'probs', probs);
  const s = checkAttentionShape(kn, shape);
  checkMinLength(kn, 'q', q, s.qSize, describeQ(s));
  checkMinLength(kn, 'out', out, s.qSize, describeQ(s));
  checkMinLength(kn, 'k', k, s.kvNeeded, describeKv(s));
  checkMinLength(kn, 'v', v, s.kvNeeded, describeKv(s));
  if (probs !== null) checkMinLength(kn, 'probs', probs, s.probsSize, `B=${s.B}, Hq=${s.Hq}, Tq=${s.Tq}, Tk=${s.Tk}`);

  const { B, Tq, Tk, Hq, Hkv, D, kvStride, group, scale, softCap } = s;
  const p = new Float64Array(Tk);
  const acc = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Tq; i++) {
      const [lo, hi] = visibleRange(s, b, i);
      for (let h = 0; h < Hq; h++) {
        const kvh = Math.floor(h / group);
        const qOff = ((b * Tq + i) * Hq + h) * D;
        const pOff = ((b * Hq + h) * Tq + i) * Tk;
        acc.fill(0);
        if (lo < hi) {
          let max = -Infinity;
          for (let j = lo; j < hi; j++) {
            let sc = rawScore(q, qOff, k, b * kvStride + (j * Hkv + kvh) * D, D, scale);
            if (softCap > 0) sc = softCap * Math.tanh(sc / softCap);
            p[j] = sc;
            if (sc > max) max = sc;
          }
          let sum = 0;
          for (let j = lo; j < hi; j++) {
            const e = Math.exp(p[j]! - max);
            p[j] = e;
            sum += e;
          }
          for (let j = lo; j < hi; j++) {
            const pj = p[j]! / sum;
            p[j] = pj;
            const vOff = b * kvStride + (j * Hkv + kvh) * D;
            for (let d = 0; d < D; d++) acc[d] += pj * v[vOff + d]!;
          }
        }
        for (let d = 0; d < D; d++) out[qOff + d] = acc[d]!;
        if (probs !== null) {
          for (let j = 0; j < Tk; j++) probs[pOff + j] = j >= lo && j < hi ? p[j]! : 0;
        }
      }
    }
  }
}

/**
 * With P the stored probabilities, dP_j = gradOut·v_j, dS_j = P_j (dP_j - sum_l P_l dP_l);
 * under soft-capping dS_j is multiplied by 1 - tanh^2(raw_j / softCap) (raw scores recomputed);
 * gradQ += scale dS_j k_j, gradK_j += scale dS_j q, gradV_j += P_j gradOut.
 * Sums over heads sharing a key/value head and over query rows run in a fixed order in double precision.
 */
export function attentionBackward(
  q: FloatArray, k: FloatArray, v: FloatArray, probs: FloatArray, gradOut: FloatArray,
  gradQ: FloatArray, gradK: FloatArray, gradV: FloatArray, shape: AttentionShape, accumulate: boolean,
): void {
  const kn = 'attentionBackward';
  checkFloatArray(kn, 'q', q);
  checkFloatArray(kn, 'k', k);
  checkFloatArray(kn, 'v', v);
  checkFloatArray(kn, 'probs', probs);
  checkFloatArray(kn, 'gradOut', gradOut);
  checkFloatArray(kn, 'gradQ', gradQ);
  checkFloatArray(kn, 'gradK', gradK);
  checkFloatArray(kn, 'gradV', gradV);
  checkBoolean(kn, 'accumulate', accumulate);
  const s = checkAttentionShape(kn, shape);
  checkMinLength(kn, 'q', q, s.qSize, describeQ(s));
  checkMinLength(kn, 'gradOut', gradOut, s.qSize, describeQ(s));
  checkMinLength(kn, 'gradQ', gradQ, s.qSize, describeQ(s));
  checkMinLength(kn, 'k', k, s.kvNeeded, describeKv(s));
  checkMinLength(kn, 'v', v, s.kvNeeded, describeKv(s));
  const denseText = `dense B=${s.B}, Tk=${s.Tk}, Hkv=${s.Hkv}, D=${s.D}`;
  checkMinLength(kn, 'gradK', gradK, s.kvDense, denseText);
  checkMinLength(kn, 'gradV', gradV, s.kvDense, denseText);
  checkMinLength(kn, 'probs', probs, s.probsSize, `B=${s.B}, Hq=${s.Hq}, Tq=${s.Tq}, Tk=${s.Tk}`);

  const { B, Tq, Tk, Hq, Hkv, D, kvStride, group, scale, softCap } = s;
  const gK = new Float64Array(s.kvDense);
  const gV = new Float64Array(s.kvDense);
  const dq = new Float64Array(D);
  const dP = new Float64Array(Tk);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Tq; i++) {
      const [lo, hi] = visibleRange(s, b, i);
      for (let h = 0; h < Hq; h++) {
        const kvh = Math.floor(h / group);
        const qOff = ((b * Tq + i) * Hq + h) * D;
        const pOff = ((b * Hq + h) * Tq + i) * Tk;
        dq.fill(0);
        let sumPdP = 0;
        for (let j = lo; j < hi; j++) {
          const vOff = b * kvStride + (j * Hkv + kvh) * D;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += gradOut[qOff + d]! * v[vOff + d]!;
          dP[j] = dot;
          sumPdP += probs[pOff + j]! * dot;
        }
        for (let j = lo; j < hi; j++) {
          const pj = probs[pOff + j]!;
          const kOff = b * kvStride + (j * Hkv + kvh) * D;
          const dense = ((b * Tk + j) * Hkv + kvh) * D;
          let ds = pj * (dP[j]! - sumPdP);
          if (softCap > 0) {
            const t = Math.tanh(rawScore(q, qOff, k, kOff, D, scale) / softCap);
            ds *= 1 - t * t;
          }
          const c = scale * ds;
          for (let d = 0; d < D; d++) {
            dq[d] += c * k[kOff + d]!;
            gK[dense + d] += c * q[qOff + d]!;
            gV[dense + d] += pj * gradOut[qOff + d]!;
          }
        }
        if (accumulate) for (let d = 0; d < D; d++) gradQ[qOff + d] += dq[d]!;
        else for (let d = 0; d < D; d++) gradQ[qOff + d] = dq[d]!;
      }
    }
  }
  const n = s.kvDense;
  if (accumulate) {
    for (let e = 0; e < n; e++) {
      gradK[e] += gK[e]!;
      gradV[e] += gV[e]!;
    }
  } else {
    for (let e = 0; e < n; e++) {
      gradK[e] = gK[e]!;
      gradV[e] = gV[e]!;
    }
  }
}
