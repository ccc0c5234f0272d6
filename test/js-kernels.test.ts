// Forward semantics, accumulate flags, precision handling and argument validation of the
// JS reference backend, checked against small independent computations.
// (Gradients are checked by finite differences in js-gradcheck.test.ts.)

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { jsKernels as K, KernelArgumentError } from '../src/tensor/backends/js.js';
import { BinaryOp, GatedKind, GeluApproximation, type AttentionShape, type FloatArray } from '../src/tensor/backends/kernels.js';
import { erf, erfc } from '../src/tensor/backends/js/activations.js';
import { makeRng, uniform64 as uniform } from './support/random-data.js';

type F64 = Float64Array;



function assertClose(label: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-12): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `${label}[${i}]: ${a} vs ${e}`);
  }
}

function near(label: string, a: number, e: number, tol = 1e-12): void {
  assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `${label}: ${a} vs ${e}`);
}

/** assert.throws with a KernelArgumentError whose message starts with "<kernel>: " and matches `pattern`. */
function throwsKernel(fn: () => void, kernel: string, pattern?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof KernelArgumentError, `expected KernelArgumentError, got ${String(e)}`);
    assert.ok(e.message.startsWith(`${kernel}: `), `message should name ${kernel}: ${e.message}`);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

// ---- GEMM ----------------------------------------------------------------------------------

function refGemm(
  transA: boolean, transB: boolean, M: number, N: number, Kd: number, alpha: number,
  A: FloatArray, lda: number, sA: number, B: FloatArray, ldb: number, sB: number,
  beta: number, C: FloatArray, ldc: number, sC: number, batch: number,
): F64 {
  const out = Float64Array.from(C);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < Kd; k++) {
          const a = transA ? A[b * sA + k * lda + i]! : A[b * sA + i * lda + k]!;
          const bb = transB ? B[b * sB + j * ldb + k]! : B[b * sB + k * ldb + j]!;
          s += a * bb;
        }
        const c = b * sC + i * ldc + j;
        out[c] = alpha * s + beta * out[c]!;
      }
    }
  }
  return out;
}

describe('gemm', () => {
  const rand = makeRng(100);
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      test(`transA=${transA} transB=${transB}, batched, non-tight leading dims`, () => {
        const M = 5, N = 4, Kd = 3, batch = 3;
        const lda = (transA ? M : Kd) + 2;
        const ldb = (transB ? Kd : N) + 1;
        const ldc = N + 3;
        const sA = (transA ? Kd : M) * lda + 5;
        const sB = (transB ? N : Kd) * ldb + 2;
        const sC = M * ldc + 1;
        const A = uniform(rand, batch * sA);
        const B = uniform(rand, batch * sB);
        const C = uniform(rand, batch * sC);
        const expected = refGemm(transA, transB, M, N, Kd, 0.7, A, lda, sA, B, ldb, sB, 0.3, C, ldc, sC, batch);
        K.gemm(transA, transB, M, N, Kd, 0.7, A, lda, sA, B, ldb, sB, 0.3, C, ldc, sC, batch);
        // Also checks that padding between rows/batches of C is untouched.
        assertClose('C', C, expected, 1e-14);

        // Float32 buffers: float32 results within float32 rounding of the double computation.
        const A32 = Float32Array.from(A), B32 = Float32Array.from(B), C32 = new Float32Array(C.length);
        const exp32 = refGemm(transA, transB, M, N, Kd, 1, A32, lda, sA, B32, ldb, sB, 0, C32, ldc, sC, batch);
        K.gemm(transA, transB, M, N, Kd, 1, A32, lda, sA, B32, ldb, sB, 0, C32, ldc, sC, batch);
        for (let i = 0; i < C32.length; i++) assert.equal(C32[i], Math.fround(exp32[i]!));
      });
    }
  }

  test('batch = 1 ignores strides; beta = 0 does not read C', () => {
    const A = Float64Array.from([1, 2, 3, 4]); // 2x2
    const B = Float64Array.from([5, 6, 7, 8]);
    const C = Float64Array.from([NaN, Infinity, NaN, NaN]);
    K.gemm(false, false, 2, 2, 2, 1, A, 2, 12345, B, 2, -7, 0, C, 2, 999, 1);
    assert.deepEqual(Array.from(C), [19, 22, 43, 50]);
  });

  test('K = 0 scales C by beta', () => {
    const C = Float64Array.from([1, 2, 3]);
    K.gemm(false, false, 1, 3, 0, 1, new Float64Array(0), 0, 0, new Float64Array(0), 3, 0, 2, C, 3, 0, 1);
    assert.deepEqual(Array.from(C), [2, 4, 6]);
  });

  test('errors', () => {
    throwsKernel(() => K.gemm(false, false, 8, 4, 16, 1, new Float32Array(100), 16, 0, new Float32Array(64), 4, 0, 0, new Float32Array(32), 4, 0, 1),
      'gemm', /^gemm: A has 100 elements but transA=false, M=8, K=16, lda=16 needs at least 128$/);
    throwsKernel(() => K.gemm(true, false, 2, 2, 2, 1, new Float32Array(4), 2, 4, new Float32Array(8), 2, 4, 0, new Float32Array(8), 2, 4, 2),
      'gemm', /A has 4 elements .*batch=2, strideA=4 needs at least 8/);
    throwsKernel(() => K.gemm(false, true, 2, 3, 2, 1, new Float32Array(4), 2, 0, new Float32Array(6), 1, 0, 0, new Float32Array(6), 3, 0, 1),
      'gemm', /ldb=1 is smaller than/);
    throwsKernel(() => K.gemm(false, false, 2, 3, 2, 1, new Float32Array(4), 2, 0, new Float32Array(6), 3, 0, 0, new Float32Array(5), 3, 0, 1),
      'gemm', /C has 5 elements/);
    throwsKernel(() => K.gemm(false, false, -1, 3, 2, 1, new Float32Array(4), 2, 0, new Float32Array(6), 3, 0, 0, new Float32Array(6), 3, 0, 1),
      'gemm', /M must be a non-negative integer, got -1/);
  });
});

// ---- elementwise -------------------------------------------------------------------------------

describe('elementwise', () => {
  const rand = makeRng(101);

  test('fill and scaleInto (overwrite and accumulate)', () => {
    const out = new Float32Array(5);
    K.fill(out, 2.5);
    assert.deepEqual(Array.from(out), [2.5, 2.5, 2.5, 2.5, 2.5]);
    const x = Float32Array.from([1, 2, 3, 4, 5]);
    K.scaleInto(x, 2, out, true);
    assert.deepEqual(Array.from(out), [4.5, 6.5, 8.5, 10.5, 12.5]);
    K.scaleInto(x, -1, out, false);
    assert.deepEqual(Array.from(out), [-1, -2, -3, -4, -5]);
    throwsKernel(() => K.scaleInto(x, 1, new Float32Array(4), false), 'scaleInto', /out has 4 elements/);
  });

  test('broadcastBinary matches a hand computation', () => {
    const a = Float64Array.from([1, 2, 3]); // [3, 1]
    const b = Float64Array.from([10, 20, 30, 40]); // [1, 4]
    const shape = Int32Array.from([3, 4]);
    const out = new Float64Array(12);
    K.broadcastBinary(BinaryOp.Add, a, Int32Array.from([1, 0]), b, Int32Array.from([0, 1]), out, shape);
    assert.deepEqual(Array.from(out), [11, 21, 31, 41, 12, 22, 32, 42, 13, 23, 33, 43]);
    K.broadcastBinary(BinaryOp.Mul, a, Int32Array.from([1, 0]), b, Int32Array.from([0, 1]), out, shape);
    assert.deepEqual(Array.from(out), [10, 20, 30, 40, 20, 40, 60, 80, 30, 60, 90, 120]);
    // 0-d and transposed (non-contiguous) operands.
    const s = new Float64Array(1);
    K.broadcastBinary(BinaryOp.Mul, Float64Array.from([3]), new Int32Array(0), Float64Array.from([4]), new Int32Array(0), s, new Int32Array(0));
    assert.equal(s[0], 12);
    const m = Float64Array.from([1, 2, 3, 4, 5, 6]); // [2, 3]
    const t = new Float64Array(6);
    K.broadcastBinary(BinaryOp.Add, m, Int32Array.from([1, 3]), new Float64Array(1), Int32Array.from([0, 0]), t, Int32Array.from([3, 2]));
    assert.deepEqual(Array.from(t), [1, 4, 2, 5, 3, 6]);
  });

  test('copyStrided overwrite, accumulate with repeated destinations, 4-d', () => {
    const src = Float64Array.from({ length: 24 }, (_, i) => i);
    const dst = new Float64Array(6).fill(100);
    // Sum [2, 3, 4] over axes 0 and 2 into [3] at dst offset 2 (stride 0 destinations).
    K.copyStrided(src, 0, Int32Array.from([12, 4, 1]), dst, 2, Int32Array.from([0, 1, 0]), Int32Array.from([2, 3, 4]), true);
    const expected = [100, 100, 100, 100, 100, 100];
    for (let a = 0; a < 2; a++) for (let b = 0; b < 3; b++) for (let c = 0; c < 4; c++) expected[2 + b]! += a * 12 + b * 4 + c;
    assert.deepEqual(Array.from(dst), expected);
    // 4-d transpose with a negative stride (reversed last axis).
    const shape = Int32Array.from([2, 1, 3, 4]);
    const out = new Float64Array(24);
    K.copyStrided(src, 3, Int32Array.from([12, 0, 4, -1]), out, 0, Int32Array.from([12, 12, 4, 1]), shape, false);
    for (let a = 0; a < 2; a++) for (let b = 0; b < 3; b++) for (let c = 0; c < 4; c++) assert.equal(out[a * 12 + b * 4 + c], a * 12 + b * 4 + 3 - c);
  });

  test('sumAxis, sumAll, sumSquares, findNonFinite', () => {
    const x = uniform(rand, 2 * 3 * 4);
    const out = Float64Array.from([1, 1, 1, 1, 1, 1, 1, 1]);
    K.sumAxis(x, 2, 3, 4, out, true);
    for (let o = 0; o < 2; o++) {
      for (let i = 0; i < 4; i++) {
        let s = 1;
        for (let a = 0; a < 3; a++) s += x[(o * 3 + a) * 4 + i]!;
        near('sumAxis', out[o * 4 + i]!, s, 1e-15);
      }
    }
    K.sumAxis(x, 2, 3, 4, out, false);
    near('sumAxis overwrite', out[0]!, x[0]! + x[4]! + x[8]!, 1e-15);
    // Double accumulation: float32 accumulation would lose the 1s against 2^24.
    const big = Float32Array.from([16777216, 1, 1, -16777216]);
    assert.equal(K.sumAll(big), 2);
    assert.equal(K.sumSquares(Float32Array.from([4096, 1, -1])), 16777216 + 2);
    assert.equal(K.findNonFinite(Float32Array.from([0, 1, 2])), -1);
    assert.equal(K.findNonFinite(Float64Array.from([0, -Infinity, NaN])), 1);
    assert.equal(K.findNonFinite(Float32Array.from([0, 0, NaN])), 2);
  });

  test('errors: mismatched strides, out of range strided access, too many dims', () => {
    const a = new Float64Array(12);
    throwsKernel(() => K.broadcastBinary(BinaryOp.Add, a, Int32Array.from([4, 1, 0]), a, Int32Array.from([4, 1]), new Float64Array(12), Int32Array.from([3, 4])),
      'broadcastBinary', /aStrides has 3 entries but shape has 2 dimensions/);
    throwsKernel(() => K.copyStrided(a, 0, Int32Array.from([4, 1]), a, 0, Int32Array.from([1]), Int32Array.from([3, 4]), false),
      'copyStrided', /dstStrides has 1 entries but shape has 2 dimensions/);
    throwsKernel(() => K.copyStrided(a, 1, Int32Array.from([4, 1]), new Float64Array(12), 0, Int32Array.from([4, 1]), Int32Array.from([3, 4]), false),
      'copyStrided', /src has 12 elements but srcOffset=1, srcStrides=\[4,1\], shape=\[3,4\] reaches index 12/);
    throwsKernel(() => K.copyStrided(a, 3, Int32Array.from([-4, 1]), new Float64Array(12), 0, Int32Array.from([4, 1]), Int32Array.from([3, 4]), false),
      'copyStrided', /reaches index -5/);
    const nine = new Int32Array(9).fill(1);
    throwsKernel(() => K.copyStrided(a, 0, nine, a, 0, nine, nine, false), 'copyStrided', /at most 8/);
    throwsKernel(() => K.sumAxis(a, 2, 3, 4, new Float64Array(8), false), 'sumAxis', /x has 12 elements but outer=2, axis=3, inner=4 needs at least 24/);
  });
});

// ---- activations ------------------------------------------------------------------------------------

describe('activations', () => {
  test('erf / erfc against tabulated values', () => {
    const table: [number, number][] = [
      [0.1, 0.1124629160182848922], [0.5, 0.5204998778130465377], [1, 0.8427007929497148693],
      [1.5, 0.9661051464753107271], [2, 0.9953222650189527342],
    ];
    for (const [x, v] of table) {
      near(`erf(${x})`, erf(x), v, 1e-14);
      near(`erf(${-x})`, erf(-x), -v, 1e-14);
    }
    const tails: [number, number][] = [[2.5, 4.069520174449589639e-4], [3, 2.209049699858544137e-5], [5, 1.537459794428034850e-12], [10, 2.088487583762544757e-45]];
    for (const [x, v] of tails) assert.ok(Math.abs(erfc(x) - v) <= 1e-13 * v, `erfc(${x}) = ${erfc(x)} vs ${v}`);
    assert.equal(erf(0), 0);
    assert.equal(erf(Infinity), 1);
    assert.equal(erf(-Infinity), -1);
    assert.equal(erfc(-Infinity), 2);
    // Continuity across the series / continued-fraction switch and derivative 2/sqrt(pi) exp(-x^2).
    for (const x of [0.3, 1.2, 2.4999, 2.5, 3.1]) {
      const h = 1e-5;
      const d = (erf(x + h) - erf(x - h)) / (2 * h);
      near(`erf'(${x})`, d, (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x), 1e-9);
    }
  });

  test('gelu, silu, gated forward formulas; float32 storage', () => {
    const xs = [-6, -2.5, -1, -0.3, 0, 0.2, 1, 3, 7];
    const x = Float64Array.from(xs);
    const out = new Float64Array(xs.length);
    K.gelu(x, out, GeluApproximation.Tanh);
    xs.forEach((v, i) => near('gelu tanh', out[i]!, 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))), 1e-15));
    K.gelu(x, out, GeluApproximation.Erf);
    xs.forEach((v, i) => near('gelu erf', out[i]!, 0.5 * v * (1 + erf(v / Math.SQRT2)), 1e-15));
    K.silu(x, out);
    xs.forEach((v, i) => near('silu', out[i]!, v / (1 + Math.exp(-v)), 1e-15));
    const up = Float64Array.from(xs.map((v) => v * 0.5 + 1));
    K.gated(GatedKind.SwiGLU, x, up, out);
    xs.forEach((v, i) => near('swiglu', out[i]!, (v / (1 + Math.exp(-v))) * up[i]!, 1e-15));
    K.gated(GatedKind.GeGLUErf, x, up, out);
    xs.forEach((v, i) => near('geglu erf', out[i]!, 0.5 * v * (1 + erf(v / Math.SQRT2)) * up[i]!, 1e-15));
    K.gated(GatedKind.GeGLUTanh, x, up, out);
    xs.forEach((v, i) => near('geglu tanh', out[i]!, 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))) * up[i]!, 1e-15));
    const x32 = Float32Array.from(xs);
    const out32 = new Float32Array(xs.length);
    K.silu(x32, out32);
    xs.forEach((v, i) => assert.equal(out32[i], Math.fround(x32[i]! / (1 + Math.exp(-x32[i]!)))));
    // Extreme inputs stay finite.
    K.gelu(Float64Array.from([1e200, -1e200]), out.subarray(0, 2), GeluApproximation.Tanh);
    assert.deepEqual(Array.from(out.subarray(0, 2)), [1e200, -0]);
    const g = new Float64Array(2);
    K.geluBackward(Float64Array.from([1e200, -1e200]), Float64Array.from([1, 1]), g, GeluApproximation.Tanh, false);
    assert.ok(g.every(Number.isFinite));
  });

  test('errors', () => {
    throwsKernel(() => K.gelu(new Float32Array(3), new Float32Array(2), GeluApproximation.Erf), 'gelu', /out has 2 elements/);
    throwsKernel(() => K.gated(7 as GatedKind, new Float32Array(2), new Float32Array(2), new Float32Array(2)), 'gated', /kind/);
    throwsKernel(() => K.gatedBackward(GatedKind.SwiGLU, new Float32Array(2), new Float32Array(2), new Float32Array(2), new Float32Array(2), new Float32Array(1), false),
      'gatedBackward', /gradUp has 1 elements/);
  });
});

// ---- normalisation ----------------------------------------------------------------------------------

describe('normalisation', () => {
  const rand = makeRng(102);
  const rows = 4, cols = 9, n = rows * cols;

  test('layerNorm output has mean 0 and variance 1 per row; affine applied; mean/rstd written', () => {
    const x = uniform(rand, n, -3, 5);
    const out = new Float64Array(n);
    const mean = new Float64Array(rows);
    const rstd = new Float64Array(rows);
    K.layerNorm(x, null, null, out, mean, rstd, rows, cols, 0);
    for (let r = 0; r < rows; r++) {
      const row = Array.from(out.subarray(r * cols, (r + 1) * cols));
      const mu = row.reduce((a, b) => a + b, 0) / cols;
      const v = row.reduce((a, b) => a + (b - mu) ** 2, 0) / cols;
      near('mean', mu, 0, 1e-14);
      near('var', v, 1, 1e-13);
      const xr = Array.from(x.subarray(r * cols, (r + 1) * cols));
      const xm = xr.reduce((a, b) => a + b, 0) / cols;
      near('mean written', mean[r]!, xm, 1e-14);
      near('rstd written', rstd[r]!, 1 / Math.sqrt(xr.reduce((a, b) => a + (b - xm) ** 2, 0) / cols), 1e-13);
    }
    const weight = uniform(rand, cols), bias = uniform(rand, cols);
    const out2 = new Float64Array(n);
    K.layerNorm(x, weight, bias, out2, mean, rstd, rows, cols, 0);
    for (let i = 0; i < n; i++) near('affine', out2[i]!, out[i]! * weight[i % cols]! + bias[i % cols]!, 1e-14);
  });

  test('rmsNorm matches a hand computation (weightOffset 0 and 1, null weight)', () => {
    const x = uniform(rand, n, -2, 2);
    const weight = uniform(rand, cols);
    const out = new Float64Array(n);
    const rstd = new Float64Array(rows);
    for (const offset of [0, 1]) {
      K.rmsNorm(x, weight, out, rstd, rows, cols, 1e-6, offset);
      for (let r = 0; r < rows; r++) {
        let ss = 0;
        for (let j = 0; j < cols; j++) ss += x[r * cols + j]! ** 2;
        const rs = 1 / Math.sqrt(ss / cols + 1e-6);
        near('rstd', rstd[r]!, rs, 1e-14);
        for (let j = 0; j < cols; j++) near('rmsNorm', out[r * cols + j]!, x[r * cols + j]! * rs * (offset + weight[j]!), 1e-14);
      }
    }
    K.rmsNorm(x, null, out, rstd, rows, cols, 1e-6, 1);
    for (let i = 0; i < n; i++) near('rmsNorm null weight', out[i]!, x[i]! * rstd[Math.floor(i / cols)]!, 1e-15);
  });

  test('float32 layerNorm agrees with float64', () => {
    const x = uniform(rand, n, -3, 3);
    const o64 = new Float64Array(n), m64 = new Float64Array(rows), r64 = new Float64Array(rows);
    K.layerNorm(x, null, null, o64, m64, r64, rows, cols, 1e-5);
    const o32 = new Float32Array(n), m32 = new Float32Array(rows), r32 = new Float32Array(rows);
    K.layerNorm(Float32Array.from(x), null, null, o32, m32, r32, rows, cols, 1e-5);
    assertClose('f32 layerNorm', o32, o64, 1e-6);
  });

  test('errors', () => {
    throwsKernel(() => K.layerNorm(new Float32Array(10), null, null, new Float32Array(12), new Float32Array(3), new Float32Array(3), 3, 4, 1e-5),
      'layerNorm', /x has 10 elements but rows=3, cols=4 needs at least 12/);
    throwsKernel(() => K.rmsNorm(new Float32Array(12), new Float32Array(3), new Float32Array(12), new Float32Array(3), 3, 4, 1e-5, 0),
      'rmsNorm', /weight has 3 elements but cols=4 needs at least 4/);
    throwsKernel(() => K.rmsNormBackward(new Float32Array(12), null, new Float32Array(2), new Float32Array(12), new Float32Array(12), null, 3, 4, 0, false, false),
      'rmsNormBackward', /rstd has 2 elements/);
  });
});

// ---- rope ------------------------------------------------------------------------------------------

describe('rope', () => {
  const rand = makeRng(103);
  const batch = 1, seq = 2, heads = 2, headDim = 6, rotaryDim = 4, maxPosition = 5, h = 2;
  const cos = new Float64Array(maxPosition * h), sin = new Float64Array(maxPosition * h);
  for (let p = 0; p < maxPosition; p++) for (let i = 0; i < h; i++) {
    cos[p * h + i] = Math.cos(p * (i + 1) * 0.3);
    sin[p * h + i] = Math.sin(p * (i + 1) * 0.3);
  }
  const positions = Int32Array.from([3, 1]);
  const n = batch * seq * heads * headDim;

  test('rotate_half layout, pass-through channels, inverse undoes, accumulate, in place', () => {
    const x = uniform(rand, n);
    const out = new Float64Array(n);
    K.rope(x, out, cos, sin, positions, batch, seq, heads, headDim, rotaryDim, maxPosition, false, false);
    for (let t = 0; t < seq; t++) for (let hd = 0; hd < heads; hd++) {
      const base = (t * heads + hd) * headDim;
      const p = positions[t]!;
      for (let i = 0; i < h; i++) {
        const c = Math.cos(p * (i + 1) * 0.3), s = Math.sin(p * (i + 1) * 0.3);
        near('rot lo', out[base + i]!, x[base + i]! * c - x[base + i + h]! * s, 1e-15);
        near('rot hi', out[base + i + h]!, x[base + i + h]! * c + x[base + i]! * s, 1e-15);
      }
      for (let i = rotaryDim; i < headDim; i++) assert.equal(out[base + i], x[base + i]);
    }
    const back = new Float64Array(n);
    K.rope(out, back, cos, sin, positions, batch, seq, heads, headDim, rotaryDim, maxPosition, true, false);
    assertClose('inverse', back, x, 1e-15);
    const acc = Float64Array.from(x);
    K.rope(x, acc, cos, sin, positions, batch, seq, heads, headDim, rotaryDim, maxPosition, false, true);
    for (let i = 0; i < n; i++) near('accumulate', acc[i]!, x[i]! + out[i]!, 1e-15);
    const inPlace = Float64Array.from(x);
    K.rope(inPlace, inPlace, cos, sin, positions, batch, seq, heads, headDim, rotaryDim, maxPosition, false, false);
    assert.deepEqual(inPlace, out);
  });

  test('errors', () => {
    const x = new Float64Array(n);
    throwsKernel(() => K.rope(x, x, cos, sin, Int32Array.from([3, 5]), batch, seq, heads, headDim, rotaryDim, maxPosition, false, false),
      'rope', /positions\[1\] = 5 is outside \[0, maxPosition=5\)/);
    throwsKernel(() => K.rope(x, x, cos, sin, positions, batch, seq, heads, headDim, 3, maxPosition, false, false), 'rope', /rotaryDim must be even/);
    throwsKernel(() => K.rope(x, x, cos, sin, positions, batch, seq, heads, headDim, 8, maxPosition, false, false), 'rope', /rotaryDim=8 must be <= headDim=6/);
    throwsKernel(() => K.rope(x, x, cos.subarray(1), sin, positions, batch, seq, heads, headDim, rotaryDim, maxPosition, false, false), 'rope', /cos has 9 elements/);
  });
});

// ---- attention --------------------------------------------------------------------------------------

/** Independent reference: explicit mask matrix, per-row softmax. */
function refAttention(q: F64, k: F64, v: F64, s: AttentionShape): { out: F64; probs: F64 } {
  const { batch: B, queryLength: Tq, keyLength: Tk, queryHeads: Hq, keyValueHeads: Hkv, headDim: D } = s;
  const out = new Float64Array(B * Tq * Hq * D);
  const probs = new Float64Array(B * Hq * Tq * Tk);
  for (let b = 0; b < B; b++) for (let h = 0; h < Hq; h++) for (let i = 0; i < Tq; i++) {
    const kvh = Math.floor((h * Hkv) / Hq);
    const qpos = i + Tk - Tq;
    const visible: boolean[] = [];
    const logits: number[] = [];
    for (let j = 0; j < Tk; j++) {
      visible.push((!s.causal || j <= qpos) && (s.window === 0 || qpos - j < s.window) && j >= (s.keyStart?.[b] ?? 0));
      let dot = 0;
      for (let d = 0; d < D; d++) dot += q[((b * Tq + i) * Hq + h) * D + d]! * k[b * s.keyValueBatchStride + (j * Hkv + kvh) * D + d]!;
      let sc = dot * s.scale;
      if (s.softCap > 0) sc = s.softCap * Math.tanh(sc / s.softCap);
      logits.push(sc);
    }
    if (!visible.some(Boolean)) continue;
    const m = Math.max(...logits.filter((_, j) => visible[j]));
    const e = logits.map((l, j) => (visible[j] ? Math.exp(l - m) : 0));
    const z = e.reduce((a, c) => a + c, 0);
    for (let j = 0; j < Tk; j++) {
      const p = e[j]! / z;
      probs[((b * Hq + h) * Tq + i) * Tk + j] = p;
      for (let d = 0; d < D; d++) out[((b * Tq + i) * Hq + h) * D + d] += p * v[b * s.keyValueBatchStride + (j * Hkv + kvh) * D + d]!;
    }
  }
  return { out, probs };
}

describe('attention', () => {
  const rand = makeRng(104);
  const shapes: AttentionShape[] = [
    { batch: 2, queryLength: 3, keyLength: 7, queryHeads: 6, keyValueHeads: 2, headDim: 4, keyValueBatchStride: 9 * 2 * 4, scale: 0.8, softCap: 2, causal: true, window: 4 },
    { batch: 1, queryLength: 5, keyLength: 5, queryHeads: 2, keyValueHeads: 2, headDim: 3, keyValueBatchStride: 5 * 2 * 3, scale: 0.5, softCap: 0, causal: true, window: 0 },
    { batch: 2, queryLength: 2, keyLength: 4, queryHeads: 4, keyValueHeads: 1, headDim: 2, keyValueBatchStride: 4 * 2, scale: 1.3, softCap: 0, causal: false, window: 2 },
    { batch: 1, queryLength: 4, keyLength: 2, queryHeads: 1, keyValueHeads: 1, headDim: 3, keyValueBatchStride: 2 * 3, scale: 1, softCap: 0, causal: true, window: 0 },
    { batch: 3, queryLength: 4, keyLength: 6, queryHeads: 2, keyValueHeads: 1, headDim: 3, keyValueBatchStride: 7 * 3, scale: 0.7, softCap: 0, causal: true, window: 3, keyStart: Int32Array.from([0, 2, 6]) },
  ];
  shapes.forEach((shape, idx) => {
    test(`matches the reference (case ${idx})`, () => {
      const q = uniform(rand, shape.batch * shape.queryLength * shape.queryHeads * shape.headDim);
      const kvLen = (shape.batch - 1) * shape.keyValueBatchStride + shape.keyLength * shape.keyValueHeads * shape.headDim;
      const k = uniform(rand, kvLen), v = uniform(rand, kvLen);
      const out = new Float64Array(q.length).fill(NaN);
      const probs = new Float64Array(shape.batch * shape.queryHeads * shape.queryLength * shape.keyLength).fill(NaN);
      K.attention(q, k, v, out, probs, shape);
      const ref = refAttention(q, k, v, shape);
      assertClose('out', out, ref.out, 1e-14);
      assertClose('probs', probs, ref.probs, 1e-14);
      const out2 = new Float64Array(q.length);
      K.attention(q, k, v, out2, null, shape);
      assert.deepEqual(out2, out);
    });
  });

  test('a query row with no visible key yields zeros (and zero probs)', () => {
    const shape = shapes[3]!;
    const q = uniform(rand, 12), k = uniform(rand, 6), v = uniform(rand, 6);
    const out = new Float64Array(12).fill(7);
    const probs = new Float64Array(8).fill(7);
    K.attention(q, k, v, out, probs, shape);
    // Query rows 0 and 1 sit at positions -2 and -1.
    assert.deepEqual(Array.from(out.subarray(0, 6)), [0, 0, 0, 0, 0, 0]);
    assert.deepEqual(Array.from(probs.subarray(0, 4)), [0, 0, 0, 0]);
    // Row 2 (position 0) sees key 0 only; row 3 (position 1) sees both.
    assert.deepEqual(Array.from(probs.subarray(4, 6)), [1, 0]);
    near('row 3 sums to 1', probs[6]! + probs[7]!, 1, 1e-15);
    assert.ok(probs[6]! > 0 && probs[7]! > 0);
  });

  test('float32 attention agrees with float64', () => {
    const shape = shapes[0]!;
    const q = uniform(rand, 2 * 3 * 6 * 4);
    const kvLen = shape.keyValueBatchStride + 7 * 2 * 4;
    const k = uniform(rand, kvLen), v = uniform(rand, kvLen);
    const o64 = new Float64Array(q.length);
    K.attention(q, k, v, o64, null, shape);
    const o32 = new Float32Array(q.length);
    K.attention(Float32Array.from(q), Float32Array.from(k), Float32Array.from(v), o32, null, shape);
    assertClose('f32 attention', o32, o64, 1e-6);
  });

  test('errors', () => {
    const base = shapes[0]!;
    const q = new Float64Array(1000), kv = new Float64Array(1000);
    throwsKernel(() => K.attention(q, kv, kv, q, null, { ...base, queryHeads: 5 }), 'attention', /queryHeads=5 is not a multiple of shape.keyValueHeads=2/);
    throwsKernel(() => K.attention(q, new Float64Array(100), kv, q, null, base), 'attention', /k has 100 elements .* needs at least 128/);
    throwsKernel(() => K.attention(q, kv, kv, q, new Float64Array(10), base), 'attention', /probs has 10 elements/);
    throwsKernel(() => K.attentionBackward(q, kv, kv, new Float64Array(1000), q, q, new Float64Array(100), kv, base, false),
      'attentionBackward', /gradK has 100 elements but dense B=2, Tk=7, Hkv=2, D=4 needs at least 112/);
    throwsKernel(() => K.attention(q, kv, kv, q, null, { ...base, softCap: -1 }), 'attention', /softCap/);
  });
});

// ---- softmax family -----------------------------------------------------------------------------------

describe('softmax family', () => {
  const rand = makeRng(105);
  test('softmax rows sum to 1, logSoftmax = log(softmax), stable for large inputs', () => {
    const rows = 3, cols = 5;
    const x = uniform(rand, rows * cols, -4, 4);
    x[3] = 1000;
    x[7] = -1000;
    const y = new Float64Array(rows * cols);
    const ly = new Float64Array(rows * cols);
    K.softmax(x, y, rows, cols);
    K.logSoftmax(x, ly, rows, cols);
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let j = 0; j < cols; j++) s += y[r * cols + j]!;
      near('row sum', s, 1, 1e-15);
    }
    assert.ok(y.every(Number.isFinite) && ly.every(Number.isFinite));
    for (let i = 0; i < rows * cols; i++) if (y[i]! > 1e-300) near('log softmax', ly[i]!, Math.log(y[i]!), 1e-13);
    const inPlace = Float64Array.from(x);
    K.softmax(inPlace, inPlace, rows, cols);
    assert.deepEqual(inPlace, y);
  });

  test('errors', () => {
    throwsKernel(() => K.softmax(new Float32Array(5), new Float32Array(6), 2, 3), 'softmax', /x has 5 elements but rows=2, cols=3 needs at least 6/);
    throwsKernel(() => K.logSoftmaxBackward(new Float32Array(6), new Float32Array(6), new Float32Array(5), 2, 3, false), 'logSoftmaxBackward', /gradIn/);
  });
});

// ---- losses -----------------------------------------------------------------------------------------------

describe('losses', () => {
  const rand = makeRng(106);
  test('crossEntropy equals -weight * log softmax at the target; ignored rows are 0', () => {
    const rows = 4, vocab = 6;
    const logits = uniform(rand, rows * vocab, -3, 3);
    const targets = Int32Array.from([2, -100, 5, 0]);
    const weights = Float64Array.from([1, 2, 0.5, 3]);
    const losses = new Float64Array(rows);
    const lse = new Float64Array(rows);
    K.crossEntropy(logits, targets, weights, rows, vocab, -100, losses, lse);
    const ls = new Float64Array(rows * vocab);
    K.logSoftmax(logits, ls, rows, vocab);
    for (let r = 0; r < rows; r++) {
      const t = targets[r]!;
      near(`loss ${r}`, losses[r]!, t === -100 ? 0 : -weights[r]! * ls[r * vocab + t]!, 1e-14);
      near(`lse ${r}`, lse[r]!, logits[r * vocab]! - ls[r * vocab]!, 1e-14);
    }
    K.crossEntropy(logits, targets, null, rows, vocab, -100, losses, lse);
    near('unweighted', losses[2]!, -ls[2 * vocab + 5]!, 1e-14);
  });

  test('crossEntropy: bad target throws naming row and value, before writing', () => {
    const losses = Float64Array.from([9, 9, 9]);
    const lse = Float64Array.from([9, 9, 9]);
    throwsKernel(() => K.crossEntropy(new Float64Array(12), Int32Array.from([1, -100, 4]), null, 3, 4, -100, losses, lse),
      'crossEntropy', /targets\[2\] = 4 is outside \[0, vocab=4\) and is not ignoreIndex=-100/);
    assert.deepEqual(Array.from(losses), [9, 9, 9]);
    assert.deepEqual(Array.from(lse), [9, 9, 9]);
    const grad = Float64Array.from({ length: 12 }, () => 5);
    throwsKernel(() => K.crossEntropyBackward(new Float64Array(12), Int32Array.from([-1, 0, 0]), null, lse, lse, grad, 3, 4, -100, false),
      'crossEntropyBackward', /targets\[0\] = -1/);
    assert.ok(grad.every((g) => g === 5));
  });

  test('crossEntropyBackward leaves ignored rows untouched when accumulating', () => {
    const logits = uniform(rand, 6);
    const lse = new Float64Array(2);
    K.crossEntropy(logits, Int32Array.from([0, -1]), null, 2, 3, -1, new Float64Array(2), lse);
    const g = Float64Array.from([1, 1, 1, 1, 1, 1]);
    K.crossEntropyBackward(logits, Int32Array.from([0, -1]), null, lse, Float64Array.from([1, 1]), g, 2, 3, -1, true);
    assert.deepEqual(Array.from(g.subarray(3)), [1, 1, 1]);
    near('row 0 sums to 3', g[0]! + g[1]! + g[2]!, 3, 1e-15);
  });

  test('klDivergence: KL(P||P) = 0, KL >= 0, matches a hand computation', () => {
    const rows = 3, vocab = 5;
    const p = uniform(rand, rows * vocab, -2, 2), q = uniform(rand, rows * vocab, -2, 2);
    const out = new Float64Array(rows);
    K.klDivergence(p, p, rows, vocab, out);
    for (const v of out) near('KL(P||P)', v, 0, 1e-15);
    K.klDivergence(p, q, rows, vocab, out);
    const P = new Float64Array(rows * vocab), Q = new Float64Array(rows * vocab);
    K.softmax(p, P, rows, vocab);
    K.softmax(q, Q, rows, vocab);
    for (let r = 0; r < rows; r++) {
      let kl = 0;
      for (let j = 0; j < vocab; j++) kl += P[r * vocab + j]! * Math.log(P[r * vocab + j]! / Q[r * vocab + j]!);
      assert.ok(out[r]! > 0);
      near('KL', out[r]!, kl, 1e-13);
    }
    // Masked logits (P = 0 entries) contribute 0 rather than NaN.
    const pm = Float64Array.from([0, -Infinity, 1]);
    K.klDivergence(pm, Float64Array.from([0, 0, 0]), 1, 3, out);
    assert.ok(Number.isFinite(out[0]!));
  });
});

// ---- topK, embedding ------------------------------------------------------------------------------------

/** Reference ranking by full sort. */
function refTopK(row: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: row.length }, (_, i) => i)
    .sort((a, b) => (row[a]! === row[b]! ? a - b : row[b]! - row[a]!))
    .slice(0, k);
}

describe('topK', () => {
  const rand = makeRng(107);
  test('ties: lower index wins; indices in descending value order; dense output', () => {
    const x = Float64Array.from([1, 3, 3, 2, 3, -1]);
    const out = new Float64Array(6).fill(9);
    const idx = new Int32Array(2);
    K.topK(x, out, idx, 1, 6, 2);
    assert.deepEqual(Array.from(idx), [1, 2]);
    assert.deepEqual(Array.from(out), [0, 3, 3, 0, 0, 0]);
    const idx4 = new Int32Array(4);
    K.topK(x, out, idx4, 1, 6, 4);
    assert.deepEqual(Array.from(idx4), [1, 2, 4, 3]);
    K.topK(x, out, new Int32Array(0), 1, 6, 0);
    assert.ok(out.every((v) => v === 0));
  });

  test('insertion (small k) and full-sort (large k) paths agree with a reference, with ties', () => {
    const rows = 3, cols = 300;
    const x = new Float64Array(rows * cols);
    for (let i = 0; i < x.length; i++) x[i] = Math.floor(rand() * 40); // many ties
    for (const k of [1, 7, 64, 65, 200, 300]) {
      const idx = new Int32Array(rows * k);
      const out = new Float64Array(rows * cols);
      K.topK(x, out, idx, rows, cols, k);
      for (let r = 0; r < rows; r++) {
        const ref = refTopK(x.subarray(r * cols, (r + 1) * cols), k);
        assert.deepEqual(Array.from(idx.subarray(r * k, (r + 1) * k)), ref, `k=${k} row ${r}`);
        const kept = new Set(ref);
        for (let j = 0; j < cols; j++) assert.equal(out[r * cols + j], kept.has(j) ? x[r * cols + j] : 0);
      }
    }
  });

  test('NaN ranks above every number', () => {
    const idx = new Int32Array(2);
    K.topK(Float64Array.from([5, NaN, Infinity]), new Float64Array(3), idx, 1, 3, 2);
    assert.deepEqual(Array.from(idx), [1, 2]);
  });

  test('errors: bad k, bad indices', () => {
    throwsKernel(() => K.topK(new Float64Array(6), new Float64Array(6), new Int32Array(8), 2, 3, 4), 'topK', /k=4 must be <= cols=3/);
    throwsKernel(() => K.topK(new Float64Array(6), new Float64Array(6), new Int32Array(3), 2, 3, 2), 'topK', /indices has 3 elements but rows=2, k=2 needs at least 4/);
    throwsKernel(() => K.topKBackward(new Float64Array(6), Int32Array.from([0, 3]), new Float64Array(6), 2, 3, 1, false),
      'topKBackward', /indices\[1\] = 3 is outside \[0, cols=3\)/);
  });
});

describe('embedding', () => {
  test('gathers rows; bad id throws naming position and value, before writing', () => {
    const table = Float64Array.from([0, 1, 10, 11, 20, 21]);
    const out = new Float64Array(6);
    K.embedding(table, 3, 2, Int32Array.from([2, 0, 2]), out);
    assert.deepEqual(Array.from(out), [20, 21, 0, 1, 20, 21]);
    const sentinel = new Float64Array(6).fill(-1);
    throwsKernel(() => K.embedding(table, 3, 2, Int32Array.from([1, 3, -1]), sentinel), 'embedding', /ids\[1\] = 3 is outside \[0, vocab=3\)/);
    assert.ok(sentinel.every((v) => v === -1));
    const grad = new Float64Array(6).fill(1);
    throwsKernel(() => K.embeddingBackward(new Float64Array(6), Int32Array.from([0, 0, -2]), 3, 2, grad), 'embeddingBackward', /ids\[2\] = -2/);
    assert.ok(grad.every((v) => v === 1));
    throwsKernel(() => K.embedding(table.subarray(1), 3, 2, Int32Array.from([0]), out), 'embedding', /table has 5 elements/);
  });

  test('embeddingBackward always accumulates', () => {
    const g = Float64Array.from([1, 1, 1, 1]);
    K.embeddingBackward(Float64Array.from([1, 2, 3, 4, 5, 6]), Int32Array.from([1, 0, 1]), 2, 2, g);
    assert.deepEqual(Array.from(g), [4, 5, 7, 9]);
  });
});

// ---- optimisers ---------------------------------------------------------------------------------------------

describe('optimisers', () => {
  test('adamW one step vs a hand computation', () => {
    const p = Float64Array.from([0.5, -1]), g = Float64Array.from([0.2, 0.05]);
    const m = Float64Array.from([0.1, 0]), v = Float64Array.from([0.01, 0]);
    const lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
    const bc1 = 1 - b1 ** 3, bc2 = 1 - b2 ** 3;
    K.adamW(p, g, m, v, lr, b1, b2, eps, wd, bc1, bc2);
    // element 0: m = 0.9*0.1 + 0.1*0.2 = 0.11, v = 0.999*0.01 + 0.001*0.04 = 0.01003
    near('m0', m[0]!, 0.11, 1e-15);
    near('v0', v[0]!, 0.01003, 1e-15);
    near('p0', p[0]!, 0.5 - 0.01 * (0.1 * 0.5 + (0.11 / bc1) / (Math.sqrt(0.01003 / bc2) + 1e-8)), 1e-15);
    // element 1: m = 0.005, v = 0.0000025
    near('m1', m[1]!, 0.005, 1e-15);
    near('v1', v[1]!, 0.0000025, 1e-15);
    near('p1', p[1]!, -1 - 0.01 * (0.1 * -1 + (0.005 / bc1) / (Math.sqrt(0.0000025 / bc2) + 1e-8)), 1e-15);
  });

  for (const nesterov of [false, true]) {
    test(`sgd with momentum, dampening, weight decay, nesterov=${nesterov}: two steps`, () => {
      const p = Float64Array.from([1, -2]), buf = Float64Array.from([123, 456]);
      const lr = 0.1, mu = 0.9, damp = 0.2, wd = 0.01;
      // Step 1 (firstStep): g' = g + wd p, buf = g'.
      const g1 = [0.5, 0.25];
      K.sgd(p, Float64Array.from(g1), buf, lr, mu, damp, wd, nesterov, true);
      const hp = [1, -2], hb = [0, 0];
      for (let i = 0; i < 2; i++) {
        const gp = g1[i]! + wd * hp[i]!;
        hb[i] = gp;
        hp[i] = hp[i]! - lr * (nesterov ? gp + mu * hb[i]! : hb[i]!);
      }
      assertClose('p after 1', p, hp, 1e-15);
      assertClose('buf after 1', buf, hb, 1e-15);
      // Step 2: buf = mu buf + (1 - damp) g'.
      const g2 = [-0.3, 1];
      K.sgd(p, Float64Array.from(g2), buf, lr, mu, damp, wd, nesterov, false);
      for (let i = 0; i < 2; i++) {
        const gp = g2[i]! + wd * hp[i]!;
        hb[i] = mu * hb[i]! + (1 - damp) * gp;
        hp[i] = hp[i]! - lr * (nesterov ? gp + mu * hb[i]! : hb[i]!);
      }
      assertClose('p after 2', p, hp, 1e-15);
      assertClose('buf after 2', buf, hb, 1e-15);
    });
  }

  test('sgd without momentum ignores the buffer', () => {
    const p = Float64Array.from([1, 2]);
    K.sgd(p, Float64Array.from([1, 1]), new Float64Array(0), 0.5, 0, 0, 0.1, false, true);
    assertClose('p', p, [1 - 0.5 * 1.1, 2 - 0.5 * 1.2], 1e-15);
  });

  test('errors', () => {
    throwsKernel(() => K.adamW(new Float32Array(3), new Float32Array(3), new Float32Array(2), new Float32Array(3), 1, 0.9, 0.99, 1e-8, 0, 1, 1),
      'adamW', /m has 2 elements but must have the same length as param \(3\)/);
    throwsKernel(() => K.sgd(new Float32Array(3), new Float32Array(3), new Float32Array(2), 1, 0.9, 0, 0, false, false), 'sgd', /momentumBuffer/);
  });
});

describe('backend object', () => {
  test('identity and completeness', () => {
    assert.equal(K.name, 'js');
    assert.equal(K.threads, 1);
    assert.equal(K.gemmImplementation, 'js');
    assert.ok(Object.isFrozen(K));
  });
  test('rejects non-float buffers', () => {
    throwsKernel(() => K.fill([1, 2] as unknown as Float32Array, 0), 'fill', /out must be a Float32Array or Float64Array, got Array/);
    throwsKernel(() => K.embedding(new Float32Array(4), 2, 2, [0] as unknown as Int32Array, new Float32Array(2)), 'embedding', /ids must be an Int32Array/);
  });
});
