// Finite-difference gradient checks for every backward kernel of the JS reference backend.
// All buffers are Float64Array: for a random linear functional L = sum(w * forward(x)), the
// analytic gradient (the backward kernel fed gradOut = w) must match the central difference
// (L(x + h) - L(x - h)) / 2h.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { jsKernels as K } from '../src/tensor/backends/js.js';
import { BinaryOp, GatedKind, GeluApproximation, type AttentionShape } from '../src/tensor/backends/kernels.js';
import { makeRng, uniform64 as uniform } from './support/random-data.js';

type F64 = Float64Array;

// ---- helpers ------------------------------------------------------------------



function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

const H = 1e-5;

function numericGrad(x: F64, loss: () => number, h = H): F64 {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const old = x[i]!;
    x[i] = old + h;
    const lp = loss();
    x[i] = old - h;
    const lm = loss();
    x[i] = old;
    g[i] = (lp - lm) / (2 * h);
  }
  loss(); // leave any forward side outputs (probs, mean, rstd, ...) at the unperturbed point
  return g;
}

/** Normwise relative comparison: max |a - n| <= tol * max(|a|, |n|). */
function assertGrad(label: string, analytic: ArrayLike<number>, numeric: ArrayLike<number>, tol = 1e-6): void {
  assert.equal(analytic.length, numeric.length, `${label}: length`);
  let scale = 0;
  let err = 0;
  let worst = -1;
  for (let i = 0; i < analytic.length; i++) {
    scale = Math.max(scale, Math.abs(analytic[i]!), Math.abs(numeric[i]!));
    const e = Math.abs(analytic[i]! - numeric[i]!);
    if (e > err) {
      err = e;
      worst = i;
    }
  }
  assert.ok(scale > 1e-6, `${label}: gradient is identically zero`);
  assert.ok(err <= tol * scale,
    `${label}: max abs error ${err} at ${worst} (analytic ${analytic[worst]}, numeric ${numeric[worst]}), scale ${scale}`);
}

/** Running the backward with accumulate=true onto random contents must add `grad` to them. */
function assertAccumulates(label: string, grad: F64, run: (dst: F64) => void, seed = 99): void {
  const base = uniform(makeRng(seed), grad.length);
  const dst = base.slice();
  run(dst);
  for (let i = 0; i < grad.length; i++) {
    assert.ok(Math.abs(dst[i]! - (base[i]! + grad[i]!)) <= 1e-12 * (1 + Math.abs(grad[i]!)),
      `${label}: accumulate at ${i}: ${dst[i]} vs ${base[i]! + grad[i]!}`);
  }
}

// ---- activations -----------------------------------------------------------------

describe('activation gradients', () => {
  const rand = makeRng(1);
  for (const [name, approx] of [['tanh', GeluApproximation.Tanh], ['erf', GeluApproximation.Erf]] as const) {
    test(`geluBackward (${name})`, () => {
      const x = uniform(rand, 40, -5, 5);
      const w = uniform(rand, 40);
      const out = new Float64Array(40);
      const g = new Float64Array(40);
      K.geluBackward(x, w, g, approx, false);
      assertGrad('gelu', g, numericGrad(x, () => { K.gelu(x, out, approx); return dot(w, out); }));
      assertAccumulates('gelu', g, (dst) => K.geluBackward(x, w, dst, approx, true));
    });
  }

  test('siluBackward', () => {
    const x = uniform(rand, 40, -6, 6);
    const w = uniform(rand, 40);
    const out = new Float64Array(40);
    const g = new Float64Array(40);
    K.siluBackward(x, w, g, false);
    assertGrad('silu', g, numericGrad(x, () => { K.silu(x, out); return dot(w, out); }));
    assertAccumulates('silu', g, (dst) => K.siluBackward(x, w, dst, true));
  });

  for (const [name, kind] of [['SwiGLU', GatedKind.SwiGLU], ['GeGLUTanh', GatedKind.GeGLUTanh], ['GeGLUErf', GatedKind.GeGLUErf]] as const) {
    test(`gatedBackward (${name})`, () => {
      const gate = uniform(rand, 30, -4, 4);
      const up = uniform(rand, 30, -2, 2);
      const w = uniform(rand, 30);
      const out = new Float64Array(30);
      const loss = (): number => { K.gated(kind, gate, up, out); return dot(w, out); };
      const gGate = new Float64Array(30);
      const gUp = new Float64Array(30);
      K.gatedBackward(kind, gate, up, w, gGate, gUp, false);
      assertGrad(`${name} gate`, gGate, numericGrad(gate, loss));
      assertGrad(`${name} up`, gUp, numericGrad(up, loss));
      const both = new Float64Array(60);
      both.set(gGate, 0);
      both.set(gUp, 30);
      assertAccumulates(name, both, (dst) => K.gatedBackward(kind, gate, up, w, dst.subarray(0, 30), dst.subarray(30), true));
    });
  }
});

// ---- normalisation ---------------------------------------------------------------

describe('normalisation gradients', () => {
  const rand = makeRng(2);
  const rows = 3;
  const cols = 7;
  const n = rows * cols;

  test('layerNormBackward (x, weight, bias)', () => {
    const x = uniform(rand, n, -2, 2);
    const weight = uniform(rand, cols, 0.5, 1.5);
    const bias = uniform(rand, cols);
    const w = uniform(rand, n);
    const out = new Float64Array(n);
    const mean = new Float64Array(rows);
    const rstd = new Float64Array(rows);
    const eps = 1e-3;
    const loss = (): number => { K.layerNorm(x, weight, bias, out, mean, rstd, rows, cols, eps); return dot(w, out); };
    loss();
    const gx = new Float64Array(n);
    const gw = new Float64Array(cols);
    const gb = new Float64Array(cols);
    K.layerNormBackward(x, weight, mean, rstd, w, gx, gw, gb, rows, cols, false, false);
    assertGrad('layerNorm x', gx, numericGrad(x, loss));
    assertGrad('layerNorm weight', gw, numericGrad(weight, loss));
    assertGrad('layerNorm bias', gb, numericGrad(bias, loss));
    loss();
    assertAccumulates('layerNorm x', gx, (dst) => K.layerNormBackward(x, weight, mean, rstd, w, dst, null, null, rows, cols, true, false));
    const params = new Float64Array(2 * cols);
    params.set(gw, 0);
    params.set(gb, cols);
    assertAccumulates('layerNorm params', params, (dst) => {
      const scratch = new Float64Array(n);
      K.layerNormBackward(x, weight, mean, rstd, w, scratch, dst.subarray(0, cols), dst.subarray(cols), rows, cols, false, true);
    });
  });

  test('layerNormBackward without weight and bias', () => {
    const x = uniform(rand, n, -2, 2);
    const w = uniform(rand, n);
    const out = new Float64Array(n);
    const mean = new Float64Array(rows);
    const rstd = new Float64Array(rows);
    const loss = (): number => { K.layerNorm(x, null, null, out, mean, rstd, rows, cols, 1e-5); return dot(w, out); };
    loss();
    const gx = new Float64Array(n);
    K.layerNormBackward(x, null, mean, rstd, w, gx, null, null, rows, cols, false, false);
    assertGrad('layerNorm x (no affine)', gx, numericGrad(x, loss));
  });

  for (const offset of [0, 1]) {
    test(`rmsNormBackward (weightOffset ${offset})`, () => {
      const x = uniform(rand, n, -2, 2);
      const weight = uniform(rand, cols, -0.5, 0.5);
      const w = uniform(rand, n);
      const out = new Float64Array(n);
      const rstd = new Float64Array(rows);
      const loss = (): number => { K.rmsNorm(x, weight, out, rstd, rows, cols, 1e-4, offset); return dot(w, out); };
      loss();
      const gx = new Float64Array(n);
      const gw = new Float64Array(cols);
      K.rmsNormBackward(x, weight, rstd, w, gx, gw, rows, cols, offset, false, false);
      assertGrad('rmsNorm x', gx, numericGrad(x, loss));
      assertGrad('rmsNorm weight', gw, numericGrad(weight, loss));
      loss();
      assertAccumulates('rmsNorm x', gx, (dst) => K.rmsNormBackward(x, weight, rstd, w, dst, null, rows, cols, offset, true, false));
      assertAccumulates('rmsNorm weight', gw, (dst) => {
        K.rmsNormBackward(x, weight, rstd, w, new Float64Array(n), dst, rows, cols, offset, false, true);
      });
    });
  }

  test('rmsNormBackward without weight', () => {
    const x = uniform(rand, n, -2, 2);
    const w = uniform(rand, n);
    const out = new Float64Array(n);
    const rstd = new Float64Array(rows);
    const loss = (): number => { K.rmsNorm(x, null, out, rstd, rows, cols, 1e-6, 0); return dot(w, out); };
    loss();
    const gx = new Float64Array(n);
    K.rmsNormBackward(x, null, rstd, w, gx, null, rows, cols, 0, false, false);
    assertGrad('rmsNorm x (no weight)', gx, numericGrad(x, loss));
  });
});

// ---- rope ---------------------------------------------------------------------------

describe('rope gradient', () => {
  const rand = makeRng(3);
  const batch = 2, seq = 3, heads = 2, headDim = 8, rotaryDim = 6, maxPosition = 10;
  const h = rotaryDim / 2;
  const cos = new Float64Array(maxPosition * h);
  const sin = new Float64Array(maxPosition * h);
  for (let p = 0; p < maxPosition; p++) {
    for (let i = 0; i < h; i++) {
      const angle = p * Math.pow(10000, (-2 * i) / rotaryDim);
      cos[p * h + i] = Math.cos(angle);
      sin[p * h + i] = Math.sin(angle);
    }
  }
  const positions = Int32Array.from([0, 4, 9, 2, 2, 7]);
  const n = batch * seq * heads * headDim;
  const apply = (x: F64, out: F64, inverse: boolean, accumulate = false): void =>
    K.rope(x, out, cos, sin, positions, batch, seq, heads, headDim, rotaryDim, maxPosition, inverse, accumulate);

  test('inverse is the transpose: <rope(x), y> == <x, rope_inverse(y)>', () => {
    const x = uniform(rand, n);
    const y = uniform(rand, n);
    const rx = new Float64Array(n);
    const ry = new Float64Array(n);
    apply(x, rx, false);
    apply(y, ry, true);
    assert.ok(Math.abs(dot(rx, y) - dot(x, ry)) < 1e-13);
  });

  test('finite differences of rope match rope(inverse)', () => {
    const x = uniform(rand, n);
    const w = uniform(rand, n);
    const out = new Float64Array(n);
    const g = new Float64Array(n);
    apply(w, g, true);
    assertGrad('rope', g, numericGrad(x, () => { apply(x, out, false); return dot(w, out); }));
    assertAccumulates('rope', g, (dst) => apply(w, dst, true, true));
  });
});

// ---- attention ------------------------------------------------------------------------

function attentionGradCheck(label: string, shape: AttentionShape, seed: number): void {
  const rand = makeRng(seed);
  const { batch: B, queryLength: Tq, keyLength: Tk, queryHeads: Hq, keyValueHeads: Hkv, headDim: D } = shape;
  const S = shape.keyValueBatchStride;
  const row = Hkv * D;
  const q = uniform(rand, B * Tq * Hq * D);
  const kvLen = (B - 1) * S + Tk * row;
  const k = uniform(rand, kvLen);
  const v = uniform(rand, kvLen);
  const out = new Float64Array(q.length);
  const probs = new Float64Array(B * Hq * Tq * Tk);
  const w = uniform(rand, q.length);
  const loss = (): number => { K.attention(q, k, v, out, null, shape); return dot(w, out); };
  K.attention(q, k, v, out, probs, shape);
  const dense = B * Tk * row;
  const gq = new Float64Array(q.length);
  const gk = new Float64Array(dense);
  const gv = new Float64Array(dense);
  K.attentionBackward(q, k, v, probs, w, gq, gk, gv, shape, false);
  // Cache-layout numeric gradients -> dense [B, Tk, Hkv, D]; the padding between batch rows gets none.
  const toDense = (cache: F64, what: string): F64 => {
    const d = new Float64Array(dense);
    for (let b = 0; b < B; b++) {
      for (let e = 0; e < Tk * row; e++) d[b * Tk * row + e] = cache[b * S + e]!;
      if (b + 1 < B) for (let e = Tk * row; e < S; e++) assert.ok(Math.abs(cache[b * S + e]!) < 1e-9, `${label} ${what}: padding has gradient`);
    }
    return d;
  };
  assertGrad(`${label} q`, gq, numericGrad(q, loss));
  assertGrad(`${label} k`, gk, toDense(numericGrad(k, loss), 'k'));
  assertGrad(`${label} v`, gv, toDense(numericGrad(v, loss), 'v'));
  const all = new Float64Array(q.length + 2 * dense);
  all.set(gq, 0);
  all.set(gk, q.length);
  all.set(gv, q.length + dense);
  assertAccumulates(`${label} accumulate`, all, (dst) => K.attentionBackward(q, k, v, probs, w,
    dst.subarray(0, q.length), dst.subarray(q.length, q.length + dense), dst.subarray(q.length + dense), shape, true));
}

describe('attention gradients', () => {
  test('GQA, causal with Tk > Tq, window, softCap, KV-cache stride', () => {
    attentionGradCheck('gqa-causal-window-cap', {
      batch: 2, queryLength: 3, keyLength: 6, queryHeads: 4, keyValueHeads: 2, headDim: 4,
      keyValueBatchStride: 8 * 2 * 4, scale: 1.7, softCap: 1.5, causal: true, window: 3,
    }, 10);
  });
  test('plain multi-head, non-causal', () => {
    attentionGradCheck('mha', {
      batch: 1, queryLength: 4, keyLength: 5, queryHeads: 2, keyValueHeads: 2, headDim: 3,
      keyValueBatchStride: 5 * 2 * 3, scale: 1 / Math.sqrt(3), softCap: 0, causal: false, window: 0,
    }, 11);
  });
  test('multi-query, causal, rows with no visible key (Tq > Tk)', () => {
    attentionGradCheck('mqa-empty-rows', {
      batch: 2, queryLength: 4, keyLength: 3, queryHeads: 3, keyValueHeads: 1, headDim: 2,
      keyValueBatchStride: 3 * 2, scale: 0.9, softCap: 0, causal: true, window: 2,
    }, 12);
  });
  test('per-row key start (left padding), causal', () => {
    attentionGradCheck('key-start', {
      batch: 3, queryLength: 4, keyLength: 5, queryHeads: 2, keyValueHeads: 1, headDim: 3,
      keyValueBatchStride: 6 * 3, scale: 0.8, softCap: 0.9, causal: true, window: 0, keyStart: Int32Array.from([0, 2, 5]),
    }, 14);
  });
  test('softCap without mask', () => {
    attentionGradCheck('cap-only', {
      batch: 1, queryLength: 2, keyLength: 4, queryHeads: 2, keyValueHeads: 1, headDim: 5,
      keyValueBatchStride: 4 * 5, scale: 2.5, softCap: 1, causal: false, window: 0,
    }, 13);
  });
});

// ---- softmax family ------------------------------------------------------------------------

describe('softmax family gradients', () => {
  const rand = makeRng(4);
  const rows = 3, cols = 6, n = rows * cols;

  test('softmaxBackward', () => {
    const x = uniform(rand, n, -3, 3);
    const w = uniform(rand, n);
    const y = new Float64Array(n);
    const loss = (): number => { K.softmax(x, y, rows, cols); return dot(w, y); };
    loss();
    const g = new Float64Array(n);
    K.softmaxBackward(y, w, g, rows, cols, false);
    assertGrad('softmax', g, numericGrad(x, loss));
    assertAccumulates('softmax', g, (dst) => K.softmaxBackward(y, w, dst, rows, cols, true));
  });

  test('logSoftmaxBackward', () => {
    const x = uniform(rand, n, -3, 3);
    const w = uniform(rand, n);
    const y = new Float64Array(n);
    const loss = (): number => { K.logSoftmax(x, y, rows, cols); return dot(w, y); };
    loss();
    const g = new Float64Array(n);
    K.logSoftmaxBackward(y, w, g, rows, cols, false);
    assertGrad('logSoftmax', g, numericGrad(x, loss));
    assertAccumulates('logSoftmax', g, (dst) => K.logSoftmaxBackward(y, w, dst, rows, cols, true));
  });
});

// ---- losses -----------------------------------------------------------------------------------

describe('loss gradients', () => {
  const rand = makeRng(5);
  const rows = 5, vocab = 7, n = rows * vocab;

  test('crossEntropyBackward with ignoreIndex and weights', () => {
    const logits = uniform(rand, n, -3, 3);
    const targets = Int32Array.from([3, -100, 0, 6, 2]);
    const weights = uniform(rand, rows, 0.2, 2);
    const rowScale = uniform(rand, rows, 0.1, 1);
    const losses = new Float64Array(rows);
    const lse = new Float64Array(rows);
    const loss = (): number => { K.crossEntropy(logits, targets, weights, rows, vocab, -100, losses, lse); return dot(rowScale, losses); };
    loss();
    const g = new Float64Array(n);
    K.crossEntropyBackward(logits, targets, weights, lse, rowScale, g, rows, vocab, -100, false);
    assertGrad('crossEntropy', g, numericGrad(logits, loss));
    for (let j = 0; j < vocab; j++) assert.equal(g[vocab + j], 0);
    assertAccumulates('crossEntropy', g, (dst) => K.crossEntropyBackward(logits, targets, weights, lse, rowScale, dst, rows, vocab, -100, true));
  });

  test('crossEntropyBackward without weights', () => {
    const logits = uniform(rand, n, -3, 3);
    const targets = Int32Array.from([1, 1, 5, 0, 4]);
    const rowScale = uniform(rand, rows, 0.1, 1);
    const losses = new Float64Array(rows);
    const lse = new Float64Array(rows);
    const loss = (): number => { K.crossEntropy(logits, targets, null, rows, vocab, -1, losses, lse); return dot(rowScale, losses); };
    loss();
    const g = new Float64Array(n);
    K.crossEntropyBackward(logits, targets, null, lse, rowScale, g, rows, vocab, -1, false);
    assertGrad('crossEntropy (no weights)', g, numericGrad(logits, loss));
  });

  test('klDivergenceBackward (p and q)', () => {
    const p = uniform(rand, n, -2, 2);
    const q = uniform(rand, n, -2, 2);
    const rowScale = uniform(rand, rows, 0.1, 1);
    const kl = new Float64Array(rows);
    const loss = (): number => { K.klDivergence(p, q, rows, vocab, kl); return dot(rowScale, kl); };
    const gp = new Float64Array(n);
    const gq = new Float64Array(n);
    K.klDivergenceBackward(p, q, rowScale, gp, gq, rows, vocab, false);
    assertGrad('kl p', gp, numericGrad(p, loss));
    assertGrad('kl q', gq, numericGrad(q, loss));
    // Either gradient alone gives the same values.
    const gpOnly = new Float64Array(n);
    K.klDivergenceBackward(p, q, rowScale, gpOnly, null, rows, vocab, false);
    assert.deepEqual(gpOnly, gp);
    const gqOnly = new Float64Array(n);
    K.klDivergenceBackward(p, q, rowScale, null, gqOnly, rows, vocab, false);
    assert.deepEqual(gqOnly, gq);
    assertAccumulates('kl p', gp, (dst) => K.klDivergenceBackward(p, q, rowScale, dst, null, rows, vocab, true));
    assertAccumulates('kl q', gq, (dst) => K.klDivergenceBackward(p, q, rowScale, null, dst, rows, vocab, true));
  });
});

// ---- sparse selection, embedding -----------------------------------------------------------------

describe('selection and embedding gradients', () => {
  const rand = makeRng(6);

  test('topKBackward is the straight-through gradient of topK', () => {
    const rows = 3, cols = 9, k = 4, n = rows * cols;
    // Well separated values: a perturbation of 1e-5 never changes the selection.
    const x = new Float64Array(n);
    for (let r = 0; r < rows; r++) {
      const perm = Array.from({ length: cols }, (_, i) => i).sort(() => rand() - 0.5);
      for (let j = 0; j < cols; j++) x[r * cols + j] = perm[j]! * 0.1 - 0.4 + 0.01 * rand();
    }
    const w = uniform(rand, n);
    const out = new Float64Array(n);
    const indices = new Int32Array(rows * k);
    const loss = (): number => { K.topK(x, out, indices, rows, cols, k); return dot(w, out); };
    loss();
    const g = new Float64Array(n);
    K.topKBackward(w, indices, g, rows, cols, k, false);
    assertGrad('topK', g, numericGrad(x, loss));
    assertAccumulates('topK', g, (dst) => K.topKBackward(w, indices, dst, rows, cols, k, true));
  });

  test('embeddingBackward scatter-adds (repeated ids)', () => {
    const vocab = 6, dim = 3;
    const table = uniform(rand, vocab * dim);
    const ids = Int32Array.from([2, 0, 2, 5, 2, 0]);
    const w = uniform(rand, ids.length * dim);
    const out = new Float64Array(ids.length * dim);
    const g = new Float64Array(vocab * dim);
    K.embeddingBackward(w, ids, vocab, dim, g);
    assertGrad('embedding', g, numericGrad(table, () => { K.embedding(table, vocab, dim, ids, out); return dot(w, out); }));
    // Always accumulates.
    assertAccumulates('embedding', g, (dst) => K.embeddingBackward(w, ids, vocab, dim, dst));
  });
});

// ---- strided copies and broadcasting --------------------------------------------------------------

describe('strided copy and broadcast gradients', () => {
  const rand = makeRng(7);

  test('copyStrided permute/slice: gradient is the reverse copy with accumulate', () => {
    // src [3, 5, 4] at offset 2; dst = permute(src[:, 1:4, :], (2, 0, 1)) -> [4, 3, 3] contiguous.
    const src = uniform(rand, 2 + 3 * 5 * 4);
    const shape = Int32Array.from([4, 3, 3]);
    const srcStrides = Int32Array.from([1, 20, 4]);
    const srcOffset = 2 + 4; // skip row 0 of the middle axis
    const dstStrides = Int32Array.from([9, 3, 1]);
    const dst = new Float64Array(36);
    const w = uniform(rand, 36);
    const g = new Float64Array(src.length);
    K.copyStrided(w, 0, dstStrides, g, srcOffset, srcStrides, shape, true);
    assertGrad('copyStrided', g, numericGrad(src, () => { K.copyStrided(src, srcOffset, srcStrides, dst, 0, dstStrides, shape, false); return dot(w, dst); }));
  });

  test('copyStrided broadcast: stride-0 source, summed back with accumulate', () => {
    // dst [2, 3, 4] = broadcast of src [3, 1] -> gradient sums over the broadcast axes.
    const src = uniform(rand, 3);
    const shape = Int32Array.from([2, 3, 4]);
    const srcStrides = Int32Array.from([0, 1, 0]);
    const dstStrides = Int32Array.from([12, 4, 1]);
    const dst = new Float64Array(24);
    const w = uniform(rand, 24);
    const g = new Float64Array(3);
    K.copyStrided(w, 0, dstStrides, g, 0, srcStrides, shape, true);
    assertGrad('copyStrided broadcast', g, numericGrad(src, () => { K.copyStrided(src, 0, srcStrides, dst, 0, dstStrides, shape, false); return dot(w, dst); }));
  });

  for (const [name, op] of [['Add', BinaryOp.Add], ['Mul', BinaryOp.Mul]] as const) {
    test(`broadcastBinary ${name}: gradients reduced with copyStrided`, () => {
      // a [3, 1, 4] and b [2, 1] (aligned right as [1, 2, 1]) broadcast to [3, 2, 4].
      const shape = Int32Array.from([3, 2, 4]);
      const full = Int32Array.from([8, 4, 1]);
      const aStrides = Int32Array.from([4, 0, 1]);
      const bStrides = Int32Array.from([0, 1, 0]);
      const a = uniform(rand, 12);
      const b = uniform(rand, 2);
      const out = new Float64Array(24);
      const w = uniform(rand, 24);
      const loss = (): number => { K.broadcastBinary(op, a, aStrides, b, bStrides, out, shape); return dot(w, out); };
      // d/da = reduce(w * b), d/db = reduce(w * a) for Mul; reduce(w) for Add.
      const ones = Float64Array.from([1]);
      const zeros = new Int32Array(3);
      const ta = new Float64Array(24);
      const tb = new Float64Array(24);
      if (op === BinaryOp.Mul) {
        K.broadcastBinary(BinaryOp.Mul, w, full, b, bStrides, ta, shape);
        K.broadcastBinary(BinaryOp.Mul, w, full, a, aStrides, tb, shape);
      } else {
        K.broadcastBinary(BinaryOp.Mul, w, full, ones, zeros, ta, shape);
        tb.set(ta);
      }
      const ga = new Float64Array(12);
      const gb = new Float64Array(2);
      K.copyStrided(ta, 0, full, ga, 0, aStrides, shape, true);
      K.copyStrided(tb, 0, full, gb, 0, bStrides, shape, true);
      assertGrad(`broadcast ${name} a`, ga, numericGrad(a, loss));
      assertGrad(`broadcast ${name} b`, gb, numericGrad(b, loss));
    });
  }
});
