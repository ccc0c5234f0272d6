// The native addon against the JS reference kernels: every kernel on random shapes
// (odd sizes, both GEMM implementations, accumulate flags, GQA, causal/window/softcap
// attention), determinism, thread-count stability and argument validation.
// Skipped as a whole when the addon is not built.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { jsKernels } from '../src/tensor/backends/js.js';
import { loadNativeKernels, type NativeKernels } from '../src/tensor/backends/native.js';
import { BinaryOp, GatedKind, GeluApproximation, type AttentionShape, type Kernels } from '../src/tensor/backends/kernels.js';
import { makeRng, uniform32 as f32 } from './support/random-data.js';

const loaded = loadNativeKernels();
const skipReason: string | false = 'kernels' in loaded ? false : `native addon unavailable: ${loaded.error}`;
const N = ('kernels' in loaded ? loaded.kernels : null) as NativeKernels;
const J: Kernels = jsKernels;


type Arr = Float32Array | Int32Array;
type Bufs = Record<string, Arr>;

function ints(rand: () => number, n: number, lo: number, hi: number): Int32Array {
  const x = new Int32Array(n);
  for (let i = 0; i < n; i++) x[i] = lo + Math.floor((hi - lo) * rand());
  return x;
}
function clone(b: Bufs): Bufs {
  const o: Bufs = {};
  for (const [k, v] of Object.entries(b)) o[k] = v.slice();
  return o;
}
const F = (b: Bufs, k: string): Float32Array => b[k] as Float32Array;
const I = (b: Bufs, k: string): Int32Array => b[k] as Int32Array;

interface Tol { rtol?: number; atol?: number }

/** |a - e| <= rtol*|e| + atol*max(1, max|e|) elementwise; names the first bad element. */
function assertClose(label: string, a: ArrayLike<number>, e: ArrayLike<number>, tol: Tol = {}): void {
  const rtol = tol.rtol ?? 1e-4;
  const atol = tol.atol ?? 1e-5;
  assert.equal(a.length, e.length, `${label}: length`);
  let maxAbs = 0;
  for (let i = 0; i < e.length; i++) if (Number.isFinite(e[i]!)) maxAbs = Math.max(maxAbs, Math.abs(e[i]!));
  const scale = atol * Math.max(1, maxAbs);
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = e[i]!;
    if (Number.isNaN(y)) { assert.ok(Number.isNaN(x), `${label}[${i}]: ${x} vs NaN`); continue; }
    if (!Number.isFinite(y)) { assert.equal(x, y, `${label}[${i}]`); continue; }
    assert.ok(Math.abs(x - y) <= rtol * Math.abs(y) + scale, `${label}[${i}]: native ${x} vs js ${y} (|diff| ${Math.abs(x - y)})`);
  }
}

/** Runs `run` on native and JS with identical copies of `bufs`; compares `outs` (and the return value). */
function compare(label: string, bufs: Bufs, outs: string[], run: (k: Kernels, b: Bufs) => number | void, tol: Tol = {}): void {
  const bn = clone(bufs);
  const bj = clone(bufs);
  const rn = run(N, bn);
  const rj = run(J, bj);
  if (typeof rj === 'number') assertClose(`${label} (result)`, [rn as number], [rj], tol);
  for (const o of outs) assertClose(`${label}: ${o}`, bn[o]!, bj[o]!, tol);
}

function bitEqual(label: string, a: Float32Array, b: Float32Array): void {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) assert.fail(`${label}: element ${i} differs (${a[i]} vs ${b[i]})`);
}

const impls = (): ('blas' | 'bundled')[] => (N.hasBlas ? ['blas', 'bundled'] : ['bundled']);

describe('native kernels vs JS reference', { skip: skipReason }, () => {
  test('loader: live getters and controls', () => {
    assert.equal(N.name, 'native');
    const t0 = N.threads;
    N.setThreads(1);
    assert.equal(N.threads, 1);
    N.setThreads(2);
    assert.equal(N.threads, 2);
    N.setGemmImplementation('bundled');
    assert.match(N.gemmImplementation, /^bundled/);
    if (N.hasBlas) {
      N.setGemmImplementation('blas');
      assert.doesNotMatch(N.gemmImplementation, /^bundled/);
    } else {
      assert.throws(() => N.setGemmImplementation('blas'), /unavailable/);
    }
    N.setThreads(t0);
  });

  test('gemm: transposes, leading dims, batch, alpha/beta, both implementations', () => {
    N.setThreads(2);
    const rand = makeRng(1);
    // M = 1 rows take the matrix-vector path (decoding); 1x3x7 and 1x37x13 exercise its 4-row blocks and tails.
    const shapes: [number, number, number][] = [[1, 1, 1], [7, 13, 33], [65, 129, 17], [33, 7, 129], [13, 65, 1], [130, 70, 300], [6, 16, 5], [1, 3, 7], [1, 37, 13], [1, 9, 8]];
    for (const impl of impls()) {
      N.setGemmImplementation(impl);
      for (const [M, Nn, K] of shapes) {
        for (const ta of [false, true]) {
          for (const tb of [false, true]) {
            for (const batch of [1, 3]) {
              const lda = (ta ? M : K) + Math.floor(rand() * 3);
              const ldb = (tb ? K : Nn) + Math.floor(rand() * 3);
              const ldc = Nn + Math.floor(rand() * 3);
              const eA = (ta ? K : M) * lda, eB = (tb ? Nn : K) * ldb, eC = M * ldc;
              const sA = eA + 5, sB = eB + 3, sC = eC + 1;
              const alpha = rand() < 0.5 ? 1 : 0.5 + rand();
              const beta = [0, 1, -0.75][Math.floor(rand() * 3)]!;
              const bufs = { A: f32(rand, sA * batch), B: f32(rand, sB * batch), C: f32(rand, sC * batch) };
              compare(`gemm[${impl}] ${M}x${Nn}x${K} ta=${ta} tb=${tb} batch=${batch}`, bufs, ['C'], (k, b) =>
                k.gemm(ta, tb, M, Nn, K, alpha, F(b, 'A'), lda, sA, F(b, 'B'), ldb, sB, beta, F(b, 'C'), ldc, sC, batch),
              { rtol: 2e-4, atol: 2e-5 });
            }
          }
        }
      }
      // big enough to be split across threads (rows and columns) and to cross KC blocks
      for (const [M, Nn, K, batch] of [[200, 300, 260, 1], [3, 700, 129, 1], [64, 64, 64, 5], [1, 1027, 300, 1], [1, 4099, 129, 2]] as const) {
        const bufs = { A: f32(rand, M * K * batch), B: f32(rand, K * Nn * batch), C: f32(rand, M * Nn * batch) };
        compare(`gemm[${impl}] big ${M}x${Nn}x${K}`, bufs, ['C'], (k, b) =>
          k.gemm(false, true, M, Nn, K, 1, F(b, 'A'), K, M * K, F(b, 'B'), K, K * Nn, 0.5, F(b, 'C'), Nn, M * Nn, batch),
        { rtol: 2e-4, atol: 2e-5 });
      }
    }
    if (N.hasBlas) N.setGemmImplementation('blas');
  });

  test('elementwise: fill, scaleInto, broadcastBinary, copyStrided, sumAxis, sums, findNonFinite', () => {
    const rand = makeRng(2);
    for (const n of [1, 7, 33, 129, 40000]) {
      compare(`fill ${n}`, { x: f32(rand, n) }, ['x'], (k, b) => k.fill(F(b, 'x'), 0.25));
      for (const acc of [false, true]) {
        compare(`scaleInto ${n} ${acc}`, { x: f32(rand, n), o: f32(rand, n) }, ['o'], (k, b) => k.scaleInto(F(b, 'x'), -1.5, F(b, 'o'), acc));
      }
      compare(`sumAll ${n}`, { x: f32(rand, n) }, [], (k, b) => k.sumAll(F(b, 'x')), { rtol: 1e-9, atol: 1e-9 });
      compare(`sumSquares ${n}`, { x: f32(rand, n) }, [], (k, b) => k.sumSquares(F(b, 'x')), { rtol: 1e-9, atol: 1e-9 });
      const x = f32(rand, n);
      assert.equal(N.findNonFinite(x), -1);
      const pos = Math.floor(n * 0.7);
      x[pos] = NaN;
      if (n > 3) x[n - 1] = Infinity;
      assert.equal(N.findNonFinite(x), J.findNonFinite(x));
      assert.equal(N.findNonFinite(x), pos);
    }
    // broadcast [3,4,5] = a[3,1,5] op b[1,4,1]; and transposed a
    const shape = new Int32Array([3, 4, 5]);
    for (const op of [BinaryOp.Add, BinaryOp.Mul]) {
      compare(`broadcastBinary ${op}`, { a: f32(rand, 15), b: f32(rand, 4), o: f32(rand, 60) }, ['o'], (k, b) =>
        k.broadcastBinary(op, F(b, 'a'), new Int32Array([5, 0, 1]), F(b, 'b'), new Int32Array([0, 1, 0]), F(b, 'o'), shape));
      compare(`broadcastBinary transposed ${op}`, { a: f32(rand, 60), b: f32(rand, 60), o: f32(rand, 60) }, ['o'], (k, b) =>
        k.broadcastBinary(op, F(b, 'a'), new Int32Array([1, 3, 12]), F(b, 'b'), new Int32Array([20, 5, 1]), F(b, 'o'), shape));
      compare(`broadcastBinary big ${op}`, { a: f32(rand, 129 * 257), b: f32(rand, 257), o: f32(rand, 129 * 257) }, ['o'], (k, b) =>
        k.broadcastBinary(op, F(b, 'a'), new Int32Array([257, 1]), F(b, 'b'), new Int32Array([0, 1]), F(b, 'o'), new Int32Array([129, 257])));
    }
    compare('broadcastBinary 0-d', { a: f32(rand, 1), b: f32(rand, 1), o: f32(rand, 1) }, ['o'], (k, b) =>
      k.broadcastBinary(BinaryOp.Add, F(b, 'a'), new Int32Array(0), F(b, 'b'), new Int32Array(0), F(b, 'o'), new Int32Array(0)));
    for (const acc of [false, true]) {
      // transpose copy with offsets
      compare(`copyStrided transpose ${acc}`, { s: f32(rand, 100), d: f32(rand, 120) }, ['d'], (k, b) =>
        k.copyStrided(F(b, 's'), 3, new Int32Array([1, 7]), F(b, 'd'), 5, new Int32Array([13, 1]), new Int32Array([7, 13]), acc));
      // broadcast-gradient reduction: dst stride 0 on the middle axis
      compare(`copyStrided reduce ${acc}`, { s: f32(rand, 3 * 33 * 5), d: f32(rand, 15) }, ['d'], (k, b) =>
        k.copyStrided(F(b, 's'), 0, new Int32Array([165, 5, 1]), F(b, 'd'), 0, new Int32Array([5, 0, 1]), new Int32Array([3, 33, 5]), acc));
      compare(`copyStrided big ${acc}`, { s: f32(rand, 300 * 129), d: f32(rand, 300 * 129) }, ['d'], (k, b) =>
        k.copyStrided(F(b, 's'), 0, new Int32Array([129, 1]), F(b, 'd'), 0, new Int32Array([129, 1]), new Int32Array([300, 129]), acc));
      for (const [o, a, i] of [[3, 7, 1], [5, 33, 13], [1, 129, 65], [2, 1, 300], [4, 0, 3]] as const) {
        compare(`sumAxis ${o}x${a}x${i} ${acc}`, { x: f32(rand, o * a * i), out: f32(rand, o * i) }, ['out'], (k, b) =>
          k.sumAxis(F(b, 'x'), o, a, i, F(b, 'out'), acc));
      }
    }
  });

  test('activations: gelu (tanh, erf), silu, gated, and backward', () => {
    const rand = makeRng(3);
    for (const n of [1, 7, 13, 129, 20001]) {
      const x = f32(rand, n, -8, 8);
      if (n > 4) { x[0] = 0; x[1] = -30; x[2] = 30; x[3] = 1e-4; }
      for (const ap of [GeluApproximation.Tanh, GeluApproximation.Erf]) {
        compare(`gelu ${ap} ${n}`, { x, o: f32(rand, n) }, ['o'], (k, b) => k.gelu(F(b, 'x'), F(b, 'o'), ap));
        for (const acc of [false, true]) {
          compare(`geluBackward ${ap} ${n} ${acc}`, { x, g: f32(rand, n), gi: f32(rand, n) }, ['gi'], (k, b) =>
            k.geluBackward(F(b, 'x'), F(b, 'g'), F(b, 'gi'), ap, acc));
        }
      }
      compare(`silu ${n}`, { x, o: f32(rand, n) }, ['o'], (k, b) => k.silu(F(b, 'x'), F(b, 'o')));
      for (const acc of [false, true]) {
        compare(`siluBackward ${n} ${acc}`, { x, g: f32(rand, n), gi: f32(rand, n) }, ['gi'], (k, b) =>
          k.siluBackward(F(b, 'x'), F(b, 'g'), F(b, 'gi'), acc));
      }
      for (const kind of [GatedKind.SwiGLU, GatedKind.GeGLUTanh, GatedKind.GeGLUErf]) {
        const bufs = { gate: x, up: f32(rand, n), g: f32(rand, n), o: f32(rand, n), gg: f32(rand, n), gu: f32(rand, n) };
        compare(`gated ${kind} ${n}`, bufs, ['o'], (k, b) => k.gated(kind, F(b, 'gate'), F(b, 'up'), F(b, 'o')));
        for (const acc of [false, true]) {
          compare(`gatedBackward ${kind} ${n} ${acc}`, bufs, ['gg', 'gu'], (k, b) =>
            k.gatedBackward(kind, F(b, 'gate'), F(b, 'up'), F(b, 'g'), F(b, 'gg'), F(b, 'gu'), acc));
        }
      }
    }
  });

  test('norms: layerNorm and rmsNorm with optional params, backward accumulate flags', () => {
    const rand = makeRng(4);
    for (const [rows, cols] of [[1, 1], [7, 13], [33, 65], [129, 7], [300, 256]] as const) {
      const n = rows * cols;
      for (const withW of [false, true]) {
        for (const withB of [false, true]) {
          const bufs = {
            x: f32(rand, n, -2, 3), w: f32(rand, cols), bias: f32(rand, cols), o: f32(rand, n), mean: f32(rand, rows), rstd: f32(rand, rows),
          };
          compare(`layerNorm ${rows}x${cols} w=${withW} b=${withB}`, bufs, ['o', 'mean', 'rstd'], (k, b) =>
            k.layerNorm(F(b, 'x'), withW ? F(b, 'w') : null, withB ? F(b, 'bias') : null, F(b, 'o'), F(b, 'mean'), F(b, 'rstd'), rows, cols, 1e-5));
          J.layerNorm(bufs.x, bufs.w, bufs.bias, bufs.o, bufs.mean, bufs.rstd, rows, cols, 1e-5);
          for (const accX of [false, true]) {
            for (const accP of [false, true]) {
              const bb = { ...bufs, g: f32(rand, n), gx: f32(rand, n), gw: f32(rand, cols), gb: f32(rand, cols) };
              compare(`layerNormBackward ${rows}x${cols} ${withW} ${withB} ${accX} ${accP}`, bb, ['gx', ...(withW ? ['gw'] : []), ...(withB ? ['gb'] : [])], (k, b) =>
                k.layerNormBackward(F(b, 'x'), withW ? F(b, 'w') : null, F(b, 'mean'), F(b, 'rstd'), F(b, 'g'), F(b, 'gx'),
                  withW ? F(b, 'gw') : null, withB ? F(b, 'gb') : null, rows, cols, accX, accP), { rtol: 2e-4, atol: 2e-5 });
            }
          }
        }
        for (const off of [0, 1]) {
          const bufs = { x: f32(rand, n, -2, 3), w: f32(rand, cols), o: f32(rand, n), rstd: f32(rand, rows) };
          compare(`rmsNorm ${rows}x${cols} w=${withW} off=${off}`, bufs, ['o', 'rstd'], (k, b) =>
            k.rmsNorm(F(b, 'x'), withW ? F(b, 'w') : null, F(b, 'o'), F(b, 'rstd'), rows, cols, 1e-6, off));
          J.rmsNorm(bufs.x, withW ? bufs.w : null, bufs.o, bufs.rstd, rows, cols, 1e-6, off);
          for (const accX of [false, true]) {
            for (const accP of [false, true]) {
              const bb = { ...bufs, g: f32(rand, n), gx: f32(rand, n), gw: f32(rand, cols) };
              compare(`rmsNormBackward ${rows}x${cols} ${withW} ${off} ${accX} ${accP}`, bb, ['gx', ...(withW ? ['gw'] : [])], (k, b) =>
                k.rmsNormBackward(F(b, 'x'), withW ? F(b, 'w') : null, F(b, 'rstd'), F(b, 'g'), F(b, 'gx'), withW ? F(b, 'gw') : null,
                  rows, cols, off, accX, accP), { rtol: 2e-4, atol: 2e-5 });
            }
          }
        }
      }
    }
  });

  test('rope: partial rotary dims, inverse, accumulate', () => {
    const rand = makeRng(5);
    for (const [B, S, H, D, R] of [[1, 1, 1, 2, 2], [2, 7, 3, 13, 8], [3, 33, 2, 64, 64], [1, 5, 4, 16, 0]] as const) {
      const maxP = S + 11;
      const h = R / 2;
      const n = B * S * H * D;
      for (const inv of [false, true]) {
        for (const acc of [false, true]) {
          const bufs = { x: f32(rand, n), o: f32(rand, n), cos: f32(rand, maxP * h), sin: f32(rand, maxP * h), pos: ints(rand, B * S, 0, maxP) };
          compare(`rope ${B},${S},${H},${D},${R} inv=${inv} acc=${acc}`, bufs, ['o'], (k, b) =>
            k.rope(F(b, 'x'), F(b, 'o'), F(b, 'cos'), F(b, 'sin'), I(b, 'pos'), B, S, H, D, R, maxP, inv, acc));
        }
      }
    }
  });

  test('attention forward/backward: GQA, causal with Tk > Tq, window, softcap, KV-cache stride, null probs', () => {
    N.setThreads(2);
    const rand = makeRng(6);
    const configs: Partial<AttentionShape>[] = [
      { batch: 1, queryLength: 1, keyLength: 1, queryHeads: 1, keyValueHeads: 1, headDim: 1 },
      { batch: 2, queryLength: 7, keyLength: 7, queryHeads: 4, keyValueHeads: 2, headDim: 13, causal: true },
      { batch: 2, queryLength: 5, keyLength: 33, queryHeads: 3, keyValueHeads: 1, headDim: 8, causal: true, window: 9, softCap: 5 },
      { batch: 1, queryLength: 13, keyLength: 13, queryHeads: 2, keyValueHeads: 2, headDim: 16, window: 4 },
      { batch: 2, queryLength: 65, keyLength: 129, queryHeads: 4, keyValueHeads: 2, headDim: 33, causal: true, softCap: 20 },
      { batch: 1, queryLength: 129, keyLength: 129, queryHeads: 2, keyValueHeads: 1, headDim: 64, causal: true, window: 70 },
      { batch: 3, queryLength: 9, keyLength: 4, queryHeads: 2, keyValueHeads: 2, headDim: 7, causal: true },
      { batch: 2, queryLength: 6, keyLength: 11, queryHeads: 2, keyValueHeads: 1, headDim: 5, kvExtra: 3 } as Partial<AttentionShape>,
      // Left-padded ragged batch: row 1 hides its first 5 keys, row 2 all but the last.
      { batch: 3, queryLength: 70, keyLength: 70, queryHeads: 2, keyValueHeads: 1, headDim: 6, causal: true, keyStart: Int32Array.from([0, 5, 69]) },
      { batch: 2, queryLength: 1, keyLength: 9, queryHeads: 2, keyValueHeads: 2, headDim: 4, causal: true, window: 4, keyStart: Int32Array.from([3, 0]), kvExtra: 2 } as Partial<AttentionShape>,
    ];
    for (const c of configs) {
      for (const impl of impls()) {
        N.setGemmImplementation(impl);
        const B = c.batch!, Tq = c.queryLength!, Tk = c.keyLength!, Hq = c.queryHeads!, Hkv = c.keyValueHeads!, D = c.headDim!;
        const extra = (c as { kvExtra?: number }).kvExtra ?? 0;
        const shape: AttentionShape = {
          batch: B, queryLength: Tq, keyLength: Tk, queryHeads: Hq, keyValueHeads: Hkv, headDim: D,
          keyValueBatchStride: (Tk + extra) * Hkv * D, scale: 1 / Math.sqrt(D), softCap: c.softCap ?? 0,
          causal: c.causal ?? false, window: c.window ?? 0, keyStart: c.keyStart ?? null,
        };
        const label = `attention[${impl}] ${JSON.stringify(c)}`;
        const qn = B * Tq * Hq * D, kvn = B * (Tk + extra) * Hkv * D, pn = B * Hq * Tq * Tk, dn = B * Tk * Hkv * D;
        const bufs = {
          q: f32(rand, qn, -2, 2), k: f32(rand, kvn, -2, 2), v: f32(rand, kvn), o: f32(rand, qn), p: f32(rand, pn), o2: f32(rand, qn),
          g: f32(rand, qn), gq: f32(rand, qn), gk: f32(rand, dn), gv: f32(rand, dn),
        };
        compare(label, bufs, ['o', 'p'], (k, b) => k.attention(F(b, 'q'), F(b, 'k'), F(b, 'v'), F(b, 'o'), F(b, 'p'), shape));
        compare(`${label} null probs`, bufs, ['o2'], (k, b) => k.attention(F(b, 'q'), F(b, 'k'), F(b, 'v'), F(b, 'o2'), null, shape));
        J.attention(bufs.q, bufs.k, bufs.v, bufs.o, bufs.p, shape);
        for (const acc of [false, true]) {
          compare(`${label} backward acc=${acc}`, bufs, ['gq', 'gk', 'gv'], (k, b) =>
            k.attentionBackward(F(b, 'q'), F(b, 'k'), F(b, 'v'), F(b, 'p'), F(b, 'g'), F(b, 'gq'), F(b, 'gk'), F(b, 'gv'), shape, acc),
          { rtol: 5e-4, atol: 5e-5 });
        }
      }
    }
    if (N.hasBlas) N.setGemmImplementation('blas');
  });

  test('softmax family and losses', () => {
    const rand = makeRng(7);
    for (const [rows, cols] of [[1, 1], [7, 13], [33, 129], [5, 4099], [64, 7]] as const) {
      const n = rows * cols;
      const x = f32(rand, n, -10, 10);
      const y = new Float32Array(n);
      const ly = new Float32Array(n);
      J.softmax(x, y, rows, cols);
      J.logSoftmax(x, ly, rows, cols);
      compare(`softmax ${rows}x${cols}`, { x, o: f32(rand, n) }, ['o'], (k, b) => k.softmax(F(b, 'x'), F(b, 'o'), rows, cols));
      compare(`logSoftmax ${rows}x${cols}`, { x, o: f32(rand, n) }, ['o'], (k, b) => k.logSoftmax(F(b, 'x'), F(b, 'o'), rows, cols));
      for (const acc of [false, true]) {
        compare(`softmaxBackward ${rows}x${cols} ${acc}`, { y, g: f32(rand, n), gi: f32(rand, n) }, ['gi'], (k, b) =>
          k.softmaxBackward(F(b, 'y'), F(b, 'g'), F(b, 'gi'), rows, cols, acc));
        compare(`logSoftmaxBackward ${rows}x${cols} ${acc}`, { y: ly, g: f32(rand, n), gi: f32(rand, n) }, ['gi'], (k, b) =>
          k.logSoftmaxBackward(F(b, 'y'), F(b, 'g'), F(b, 'gi'), rows, cols, acc));
      }
      const targets = ints(rand, rows, 0, cols);
      if (rows > 2) targets[1] = -100;
      for (const withW of [false, true]) {
        const bufs = { x, t: targets, w: f32(rand, rows, 0, 2), loss: f32(rand, rows), lse: f32(rand, rows), s: f32(rand, rows), gl: f32(rand, n) };
        compare(`crossEntropy ${rows}x${cols} w=${withW}`, bufs, ['loss', 'lse'], (k, b) =>
          k.crossEntropy(F(b, 'x'), I(b, 't'), withW ? F(b, 'w') : null, rows, cols, -100, F(b, 'loss'), F(b, 'lse')));
        J.crossEntropy(x, targets, withW ? bufs.w : null, rows, cols, -100, bufs.loss, bufs.lse);
        for (const acc of [false, true]) {
          compare(`crossEntropyBackward ${rows}x${cols} w=${withW} acc=${acc}`, bufs, ['gl'], (k, b) =>
            k.crossEntropyBackward(F(b, 'x'), I(b, 't'), withW ? F(b, 'w') : null, F(b, 'lse'), F(b, 's'), F(b, 'gl'), rows, cols, -100, acc));
        }
      }
      const q = f32(rand, n, -5, 5);
      compare(`klDivergence ${rows}x${cols}`, { p: x, q, o: f32(rand, rows) }, ['o'], (k, b) => k.klDivergence(F(b, 'p'), F(b, 'q'), rows, cols, F(b, 'o')),
        { rtol: 1e-3, atol: 1e-5 });
      for (const acc of [false, true]) {
        for (const [wp, wq] of [[true, true], [true, false], [false, true]] as const) {
          compare(`klDivergenceBackward ${rows}x${cols} ${wp} ${wq} ${acc}`, { p: x, q, s: f32(rand, rows), gp: f32(rand, n), gq: f32(rand, n) }, ['gp', 'gq'], (k, b) =>
            k.klDivergenceBackward(F(b, 'p'), F(b, 'q'), F(b, 's'), wp ? F(b, 'gp') : null, wq ? F(b, 'gq') : null, rows, cols, acc));
        }
      }
    }
  });

  test('topK (ties to the lower index) and topKBackward; embedding; optimisers', () => {
    const rand = makeRng(8);
    for (const [rows, cols, k] of [[1, 1, 1], [7, 13, 5], [33, 129, 129], [5, 4096, 100], [3, 9, 0]] as const) {
      const x = f32(rand, rows * cols);
      for (let i = 0; i < x.length; i++) x[i] = Math.round(x[i]! * 4) / 4; // many ties
      const bufs = { x, o: f32(rand, rows * cols), idx: new Int32Array(rows * k), g: f32(rand, rows * cols), gi: f32(rand, rows * cols) };
      compare(`topK ${rows}x${cols} k=${k}`, bufs, ['o', 'idx'], (kk, b) => kk.topK(F(b, 'x'), F(b, 'o'), I(b, 'idx'), rows, cols, k), { rtol: 0, atol: 0 });
      J.topK(x, bufs.o, bufs.idx, rows, cols, k);
      for (const acc of [false, true]) {
        compare(`topKBackward ${rows}x${cols} k=${k} ${acc}`, bufs, ['gi'], (kk, b) =>
          kk.topKBackward(F(b, 'g'), I(b, 'idx'), F(b, 'gi'), rows, cols, k, acc), { rtol: 0, atol: 0 });
      }
    }
    for (const [vocab, dim, n] of [[1, 1, 1], [13, 7, 33], [4096, 256, 1024], [5, 33, 0]] as const) {
      const bufs = { t: f32(rand, vocab * dim), ids: ints(rand, n, 0, vocab), o: f32(rand, n * dim), g: f32(rand, n * dim), gt: f32(rand, vocab * dim) };
      compare(`embedding ${vocab},${dim},${n}`, bufs, ['o'], (k, b) => k.embedding(F(b, 't'), vocab, dim, I(b, 'ids'), F(b, 'o')), { rtol: 0, atol: 0 });
      compare(`embeddingBackward ${vocab},${dim},${n}`, bufs, ['gt'], (k, b) => k.embeddingBackward(F(b, 'g'), I(b, 'ids'), vocab, dim, F(b, 'gt')));
    }
    for (const n of [1, 7, 129, 50001]) {
      const bufs = { p: f32(rand, n), g: f32(rand, n), m: f32(rand, n, -0.1, 0.1), v: f32(rand, n, 0, 0.1), buf: f32(rand, n) };
      compare(`adamW ${n}`, bufs, ['p', 'm', 'v'], (k, b) => k.adamW(F(b, 'p'), F(b, 'g'), F(b, 'm'), F(b, 'v'), 1e-3, 0.9, 0.999, 1e-8, 0.01, 0.1, 0.01));
      for (const [mom, damp, nest, first] of [[0.9, 0, false, true], [0.9, 0.1, false, false], [0.9, 0, true, false], [0, 0.5, false, false]] as const) {
        compare(`sgd ${n} ${mom} ${damp} ${nest} ${first}`, bufs, ['p', 'buf'], (k, b) =>
          k.sgd(F(b, 'p'), F(b, 'g'), F(b, 'buf'), 0.1, mom, damp, 1e-4, nest, first));
      }
    }
  });

  test('determinism with 2 threads, and 1 vs 2 threads agree', () => {
    const rand = makeRng(9);
    const shape: AttentionShape = {
      batch: 2, queryLength: 70, keyLength: 70, queryHeads: 4, keyValueHeads: 2, headDim: 32, keyValueBatchStride: 70 * 2 * 32,
      scale: 0.2, softCap: 0, causal: true, window: 0,
    };
    const qn = 2 * 70 * 4 * 32, kvn = 2 * 70 * 2 * 32, pn = 2 * 4 * 70 * 70;
    const base = {
      q: f32(rand, qn), k: f32(rand, kvn), v: f32(rand, kvn), g: f32(rand, qn),
      A: f32(rand, 300 * 200), B: f32(rand, 200 * 500), x: f32(rand, 1024 * 256), w: f32(rand, 256), lg: f32(rand, 256 * 4096, -5, 5),
      t: ints(rand, 256, 0, 4096),
    };
    const run = (threads: number): Float32Array[] => {
      N.setThreads(threads);
      const b = clone(base);
      const o = new Float32Array(qn), p = new Float32Array(pn), gq = new Float32Array(qn), gk = new Float32Array(kvn), gv = new Float32Array(kvn);
      N.attention(F(b, 'q'), F(b, 'k'), F(b, 'v'), o, p, shape);
      N.attentionBackward(F(b, 'q'), F(b, 'k'), F(b, 'v'), p, F(b, 'g'), gq, gk, gv, shape, false);
      const C = new Float32Array(300 * 500);
      N.gemm(false, false, 300, 500, 200, 1, F(b, 'A'), 200, 0, F(b, 'B'), 500, 0, 0, C, 500, 0, 1);
      const y = new Float32Array(1024 * 256), mean = new Float32Array(1024), rstd = new Float32Array(1024);
      N.layerNorm(F(b, 'x'), F(b, 'w'), null, y, mean, rstd, 1024, 256, 1e-5);
      const gx = new Float32Array(1024 * 256), gw = new Float32Array(256), gb = new Float32Array(256);
      N.layerNormBackward(F(b, 'x'), F(b, 'w'), mean, rstd, y, gx, gw, gb, 1024, 256, false, false);
      const loss = new Float32Array(256), lse = new Float32Array(256), gl = new Float32Array(256 * 4096);
      N.crossEntropy(F(b, 'lg'), I(b, 't'), null, 256, 4096, -1, loss, lse);
      N.crossEntropyBackward(F(b, 'lg'), I(b, 't'), null, lse, new Float32Array(256).fill(1 / 256), gl, 256, 4096, -1, false);
      const sums = new Float32Array([N.sumAll(F(b, 'x')), N.sumSquares(F(b, 'x'))]);
      return [o, p, gq, gk, gv, C, y, gx, gw, gb, loss, gl, sums];
    };
    const names = ['out', 'probs', 'gradQ', 'gradK', 'gradV', 'gemm', 'layerNorm', 'gradX', 'gradW', 'gradB', 'loss', 'gradLogits', 'sums'];
    const a = run(2);
    const b = run(2);
    a.forEach((x, i) => bitEqual(`2 threads, run twice: ${names[i]}`, x, b[i]!));
    const c = run(1);
    a.forEach((x, i) => assertClose(`1 vs 2 threads: ${names[i]}`, x, c[i]!, { rtol: 1e-5, atol: 1e-6 }));
    N.setThreads(2);
  });

  test('bad calls throw helpful errors and never crash', () => {
    const f = (n: number): Float32Array => new Float32Array(n);
    const expectErr = (fn: () => unknown, re: RegExp): void => { assert.throws(fn, (e: unknown) => e instanceof Error && re.test(e.message)); };
    expectErr(() => N.gemm(false, false, 8, 8, 16, 1, f(100), 16, 0, f(128), 8, 0, 0, f(64), 8, 0, 1),
      /^gemm: A has 100 elements but transA=false, M=8, K=16, lda=16 needs at least 128/);
    expectErr(() => N.gemm(false, false, 2, 2, 2, 1, f(4), 2, 4, f(4), 2, 4, 0, f(4), 2, 4, 2), /gemm: A has 4 elements .*batch=2, strideA=4 needs at least 8/);
    expectErr(() => N.gemm(false, false, 2, 2, 2, 1, f(4), 1, 0, f(4), 2, 0, 0, f(4), 2, 0, 1), /gemm: lda=1 is too small/);
    expectErr(() => N.gemm(false, false, -1, 2, 2, 1, f(4), 2, 0, f(4), 2, 0, 0, f(4), 2, 0, 1), /gemm: M must be a non-negative integer.*got -1/);
    expectErr(() => N.gemm(false, false, 1.5, 2, 2, 1, f(4), 2, 0, f(4), 2, 0, 0, f(4), 2, 0, 1), /gemm: M .*got 1.5/);
    expectErr(() => N.gemm(false, false, 2, 2, 2, 1, new Float64Array(4) as unknown as Float32Array, 2, 0, f(4), 2, 0, 0, f(4), 2, 0, 1),
      /gemm: A must be a Float32Array, got Float64Array\(4\)/);
    expectErr(() => N.fill(null as unknown as Float32Array, 1), /fill: out must be a Float32Array, got null/);
    expectErr(() => (N.fill as unknown as () => void)(), /fill: expected 2 arguments/);
    expectErr(() => N.scaleInto(f(3), 1, f(4), false), /scaleInto: out has 4 elements/);
    expectErr(() => N.embedding(f(12), 3, 4, new Int32Array([0, 2, 3, 1]), f(16)), /embedding: ids\[2\] = 3 is outside \[0, vocab=3\)/);
    expectErr(() => N.embedding(f(12), 3, 4, new Float32Array([0]) as unknown as Int32Array, f(16)), /embedding: ids must be an Int32Array/);
    expectErr(() => N.embeddingBackward(f(8), new Int32Array([0, -1]), 3, 4, f(12)), /embeddingBackward: ids\[1\] = -1/);
    expectErr(() => N.crossEntropy(f(6), new Int32Array([1, 7]), null, 2, 3, -100, f(2), f(2)), /crossEntropy: targets\[1\] = 7/);
    expectErr(() => N.topK(f(6), f(6), new Int32Array(8), 2, 3, 4), /topK: k \(4\) must be <= cols \(3\)/);
    expectErr(() => N.topKBackward(f(6), new Int32Array([0, 3]), f(6), 2, 3, 1, false), /topKBackward: indices\[1\] = 3/);
    expectErr(() => N.rope(f(8), f(8), f(4), f(4), new Int32Array([0, 1]), 1, 2, 1, 4, 3, 4, false, false), /rope: rotaryDim must be even/);
    expectErr(() => N.rope(f(8), f(8), f(4), f(4), new Int32Array([0, 1]), 1, 2, 1, 4, 6, 4, false, false), /rope: rotaryDim \(6\) must be <= headDim \(4\)/);
    expectErr(() => N.rope(f(8), f(8), f(4), f(4), new Int32Array([0, 9]), 1, 2, 1, 4, 2, 4, false, false), /rope: positions\[1\] = 9/);
    const shape: AttentionShape = { batch: 1, queryLength: 2, keyLength: 2, queryHeads: 3, keyValueHeads: 2, headDim: 2, keyValueBatchStride: 8, scale: 1, softCap: 0, causal: false, window: 0 };
    expectErr(() => N.attention(f(12), f(8), f(8), f(12), null, shape), /attention: shape.queryHeads \(3\) must be a multiple of shape.keyValueHeads \(2\)/);
    expectErr(() => N.attention(f(12), f(8), f(8), f(12), null, { ...shape, queryHeads: 2, headDim: 4, keyValueBatchStride: 16 }), /attention: q has 12 elements but batch=1, queryLength=2, queryHeads=2, headDim=4 needs at least 16/);
    expectErr(() => N.attention(f(12), f(8), f(8), f(12), null, { ...shape, batch: -1 }), /attention: shape.batch must be a non-negative integer/);
    const good = { ...shape, queryHeads: 2, keyValueHeads: 2 };
    expectErr(() => N.attention(f(12), f(8), f(8), f(12), null, { ...good, keyStart: [0] as unknown as Int32Array }), /attention: shape.keyStart must be an Int32Array/);
    expectErr(() => N.attention(f(12), f(8), f(8), f(12), null, { ...good, keyStart: Int32Array.from([9]) }), /attention: shape.keyStart\[0\] = 9 is outside/);
    expectErr(() => N.broadcastBinary(BinaryOp.Add, f(4), new Int32Array([1]), f(4), new Int32Array([1, 1]), f(4), new Int32Array([4])), /broadcastBinary: bStrides has 2 entries/);
    expectErr(() => N.broadcastBinary(BinaryOp.Add, f(3), new Int32Array([1]), f(4), new Int32Array([1]), f(4), new Int32Array([4])), /broadcastBinary: a has 3 elements/);
    expectErr(() => N.copyStrided(f(4), 0, new Int32Array(9), f(4), 0, new Int32Array(9), new Int32Array(9).fill(1), false), /at most 8/);
    expectErr(() => N.copyStrided(f(4), 2, new Int32Array([1]), f(4), 0, new Int32Array([1]), new Int32Array([4]), false), /copyStrided: src has 4 elements/);
    expectErr(() => N.layerNorm(f(6), f(2), null, f(6), f(2), f(2), 2, 3, 1e-5), /layerNorm: weight has 2 elements/);
    expectErr(() => N.gelu(f(3), f(3), 5 as GeluApproximation), /gelu: approximation must be an integer in \[0, 1\]/);
    expectErr(() => N.setThreads(0), /setThreads/);
    expectErr(() => N.setGemmImplementation('cuda' as 'blas'), /setGemmImplementation: kind must be 'blas' or 'bundled'/);
    // still alive and computing
    const o = f(4);
    N.fill(o, 2);
    assert.equal(N.sumAll(o), 8);
  });
});
