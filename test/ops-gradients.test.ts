import { test } from 'node:test';
import {
  Tensor, add, attention, concat, contiguous, createRopeTable, crossEntropy, embedding, gated, gelu, klDivergence,
  layerNorm, linear, logSoftmax, matmul, mean, mul, reshape, rmsNorm, rope, ropeFrequencies, scale, silu, slice,
  softCap, softmax, sub, sum, topK, transpose,
} from '../src/tensor/index.js';
import { withBackend } from '../src/tensor/backend.js';
import { gradCheck, float64Backend } from './support/gradcheck.js';

// Every op's backward, checked through the tape against central finite differences
// in float64 on the reference backend.

test('matmul 2-D, batched, and through transposed views', () => {
  gradCheck('matmul 2-D', [{ shape: [3, 5] }, { shape: [5, 4] }], (t, [a, b]) => matmul(t, a, b));
  gradCheck('matmul batched', [{ shape: [2, 3, 5] }, { shape: [2, 5, 4] }], (t, [a, b]) => matmul(t, a, b));
  gradCheck('matmul a^T b^T', [{ shape: [5, 3] }, { shape: [4, 5] }], (t, [a, b]) => matmul(t, transpose(t, a, 0, 1), transpose(t, b, 0, 1)));
  gradCheck('matmul batched transposed', [{ shape: [2, 5, 3] }, { shape: [2, 4, 5] }], (t, [a, b]) => matmul(t, transpose(t, a, 1, 2), transpose(t, b, 1, 2)));
  gradCheck('matmul 3-D by shared 2-D', [{ shape: [2, 3, 5] }, { shape: [5, 4] }], (t, [a, b]) => matmul(t, a, b));
});

test('linear with and without bias', () => {
  gradCheck('linear+bias', [{ shape: [2, 3, 5] }, { shape: [4, 5] }, { shape: [4] }], (t, [x, w, b]) => linear(t, x, w, b));
  gradCheck('linear', [{ shape: [3, 5] }, { shape: [4, 5] }], (t, [x, w]) => linear(t, x, w));
});

test('broadcast add, mul, sub and scale', () => {
  gradCheck('add broadcast', [{ shape: [2, 3, 4] }, { shape: [3, 1] }], (t, [a, b]) => add(t, a, b));
  gradCheck('add same shape', [{ shape: [3, 4] }, { shape: [3, 4] }], (t, [a, b]) => add(t, a, b));
  gradCheck('mul broadcast', [{ shape: [2, 1, 4] }, { shape: [3, 4] }], (t, [a, b]) => mul(t, a, b));
  gradCheck('sub', [{ shape: [3, 4] }, { shape: [4] }], (t, [a, b]) => sub(t, a, b));
  gradCheck('scale', [{ shape: [3, 4] }], (t, [a]) => scale(t, a, -2.5));
  gradCheck('same input twice', [{ shape: [3, 4] }], (t, [a]) => mul(t, a, a));
});

test('embedding gather and scatter-add (repeated ids)', () => {
  const ids = Int32Array.from([2, 0, 2, 3, 2, 1]);
  gradCheck('embedding', [{ shape: [5, 3] }], (t, [table]) => embedding(t, table, ids, [2, 3]));
});

test('LayerNorm and RMSNorm (plain and (1+w))', () => {
  gradCheck('layerNorm', [{ shape: [4, 6] }, { shape: [6] }, { shape: [6] }], (t, [x, w, b]) => layerNorm(t, x, w, b, 1e-5));
  gradCheck('layerNorm no affine', [{ shape: [4, 6] }], (t, [x]) => layerNorm(t, x, null, null, 1e-5));
  gradCheck('rmsNorm', [{ shape: [4, 6] }, { shape: [6] }], (t, [x, w]) => rmsNorm(t, x, w, { eps: 1e-6 }));
  gradCheck('rmsNorm (1+w)', [{ shape: [4, 6] }, { shape: [6] }], (t, [x, w]) => rmsNorm(t, x, w, { eps: 1e-6, weightOffset: 1 }));
});

test('RoPE rotate_half, full and partial rotary dims', () => {
  withBackend(float64Backend, () => {
    const full = createRopeTable(16, ropeFrequencies(8, 10000));
    const partial = createRopeTable(16, ropeFrequencies(4, 10000));
    const positions = Int32Array.from([0, 5, 9, 3, 7, 15]);
    gradCheck('rope', [{ shape: [2, 3, 2, 8] }], (t, [x]) => rope(t, x, full, positions));
    gradCheck('rope partial', [{ shape: [2, 3, 2, 8] }], (t, [x]) => rope(t, x, partial, positions));
  });
});

test('fused attention: causal, grouped-query, soft-cap, sliding window, cached keys', () => {
  const opts = { maxElements: 24 };
  gradCheck('attention causal', [{ shape: [2, 4, 2, 3] }, { shape: [2, 4, 2, 3] }, { shape: [2, 4, 2, 3] }], (t, [q, k, v]) => attention(t, q, k, v), opts);
  gradCheck('attention GQA', [{ shape: [1, 5, 4, 3] }, { shape: [1, 5, 2, 3] }, { shape: [1, 5, 2, 3] }], (t, [q, k, v]) => attention(t, q, k, v), opts);
  gradCheck('attention softcap+window', [{ shape: [1, 6, 2, 4] }, { shape: [1, 6, 1, 4] }, { shape: [1, 6, 1, 4] }],
    (t, [q, k, v]) => attention(t, q, k, v, { softCap: 2, window: 3 }), opts);
  gradCheck('attention Tk > Tq', [{ shape: [2, 2, 2, 3] }, { shape: [2, 5, 2, 3] }, { shape: [2, 5, 2, 3] }], (t, [q, k, v]) => attention(t, q, k, v), opts);
  gradCheck('attention non-causal', [{ shape: [1, 3, 1, 4] }, { shape: [1, 4, 1, 4] }, { shape: [1, 4, 1, 4] }], (t, [q, k, v]) => attention(t, q, k, v, { causal: false, scale: 0.7 }), opts);
  gradCheck('attention on a cache slice', [{ shape: [2, 2, 1, 3] }, { shape: [2, 6, 1, 3] }, { shape: [2, 6, 1, 3] }],
    (t, [q, k, v]) => attention(t, q, slice(t, k, 1, 0, 4), slice(t, v, 1, 0, 4)), opts);
});

test('GELU (tanh, erf), SiLU, SwiGLU and GeGLU', () => {
  gradCheck('gelu tanh', [{ shape: [3, 7] }], (t, [x]) => gelu(t, x, 'tanh'));
  gradCheck('gelu erf', [{ shape: [3, 7] }], (t, [x]) => gelu(t, x, 'erf'));
  gradCheck('silu', [{ shape: [3, 7] }], (t, [x]) => silu(t, x));
  for (const kind of ['swiglu', 'geglu-tanh', 'geglu-erf'] as const) {
    gradCheck(kind, [{ shape: [3, 5] }, { shape: [3, 5] }], (t, [g, u]) => gated(t, kind, g, u));
  }
});

test('softmax and log-softmax', () => {
  gradCheck('softmax', [{ shape: [3, 6] }], (t, [x]) => softmax(t, x));
  gradCheck('logSoftmax', [{ shape: [3, 6] }], (t, [x]) => logSoftmax(t, x));
});

test('soft-capping (Gemma-2 final logits)', () => {
  gradCheck('softCap', [{ shape: [3, 5] }], (t, [x]) => softCap(t, scale(t, x, 3), 2));
});

test('cross-entropy with ignore-index and per-token weights', () => {
  const targets = Int32Array.from([1, -100, 4, 0, 2]);
  const weights = Float64Array.from([0.5, 1, 2, 1, 0.25]);
  gradCheck('crossEntropy', [{ shape: [5, 6] }], (t, [x]) => crossEntropy(t, x, targets));
  gradCheck('crossEntropy weighted', [{ shape: [5, 6] }], (t, [x]) => crossEntropy(t, x, targets, { weights }));
  gradCheck('crossEntropy sum', [{ shape: [5, 6] }], (t, [x]) => crossEntropy(t, x, Int32Array.from([1, 4, 4, 0, 2]), { reduction: 'sum', ignoreIndex: 4 }));
});

test('KL divergence, forward and reverse, gradients to both sides', () => {
  gradCheck('kl reverse', [{ shape: [4, 5] }, { shape: [4, 5] }], (t, [s, te]) => klDivergence(t, s, te, { direction: 'reverse' }));
  gradCheck('kl forward', [{ shape: [4, 5] }, { shape: [4, 5] }], (t, [s, te]) => klDivergence(t, s, te, { direction: 'forward' }));
  gradCheck('kl weighted', [{ shape: [4, 5] }, { shape: [4, 5] }],
    (t, [s, te]) => klDivergence(t, s, te, { direction: 'reverse', weights: Float64Array.from([1, 0, 2, 1]) }));
});

test('top-k with the straight-through gradient', () => {
  gradCheck('topK', [{ shape: [3, 8] }], (t, [x]) => topK(t, x, 3).values);
});

test('sum, mean, concat, slice, reshape, transpose, contiguous', () => {
  gradCheck('sum all', [{ shape: [3, 4] }], (t, [x]) => sum(t, x));
  gradCheck('sum dim', [{ shape: [2, 3, 4] }], (t, [x]) => sum(t, x, 1));
  gradCheck('mean dim keep', [{ shape: [2, 3, 4] }], (t, [x]) => mean(t, x, -1, true));
  gradCheck('mean all', [{ shape: [2, 3] }], (t, [x]) => mean(t, x));
  gradCheck('concat', [{ shape: [2, 3] }, { shape: [2, 2] }], (t, [a, b]) => concat(t, [a, b], 1));
  gradCheck('slice', [{ shape: [4, 5] }], (t, [x]) => contiguous(t, slice(t, x, 1, 1, 4)));
  gradCheck('reshape of transpose', [{ shape: [3, 4] }], (t, [x]) => reshape(t, transpose(t, x, 0, 1), [2, 6]));
});

test('a small GPT end to end: parameter gradients match finite differences', async () => {
  const { ReferenceGpt } = await import('../src/model/referenceGpt.js');
  const { Tape } = await import('../src/tensor/tape.js');
  withBackend(float64Backend, () => {
    const config = { vocabSize: 11, contextLength: 4, dModel: 8, layers: 2, heads: 2, mlpRatio: 2, layerNormEps: 1e-5 };
    const model = new ReferenceGpt(config, 3);
    const ids = Int32Array.from([1, 4, 2, 9, 0, 3, 3, 10]);
    const targets = Int32Array.from([4, 2, 9, 5, 3, 3, 10, 1]);
    const lossValue = (withGrad: boolean): number => {
      const tape = new Tape({ grad: withGrad });
      try {
        const loss = model.loss(tape, ids, targets, 2, 4);
        const value = loss.item();
        if (withGrad) tape.backward(loss);
        return value;
      } finally {
        tape.release();
      }
    };
    lossValue(true);
    const params = model.parameters();
    const step = 1e-5;
    for (const p of [params[0], params[1], params[4], params[9], params[params.length - 2]]) {
      const grad = Array.from(p.grad!.data);
      const scale = Math.max(1e-3, ...grad.map(Math.abs));
      for (const j of [0, Math.floor(p.size / 3), p.size - 1]) {
        const saved = p.data[j];
        p.data[j] = saved + step;
        const plus = lossValue(false);
        p.data[j] = saved - step;
        const minus = lossValue(false);
        p.data[j] = saved;
        const numeric = (plus - minus) / (2 * step);
        const error = Math.abs(numeric - grad[j]) / scale;
        if (!(error < 1e-6)) throw new Error(`${p.name}[${j}]: analytic ${grad[j]} vs numeric ${numeric}`);
      }
    }
  });
});
