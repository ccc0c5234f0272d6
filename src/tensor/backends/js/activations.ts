import { GatedKind, GeluApproximation, type FloatArray } from '../kernels.js';
import { checkBoolean, checkFloatArray, checkSameLength, fail } from './validate.js';

// ---- scalar functions (double precision) ------------------------------------

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const INV_SQRT_PI = 1 / Math.sqrt(Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_CUBIC = 0.044715;
/** Below this |x| erf uses the power series, above it erfc uses the continued fraction. */
const ERF_SERIES_LIMIT = 2.5;

/**
 * erf(x) for 0 <= x < ERF_SERIES_LIMIT by the series
 *   erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_{n>=0} 2^n x^(2n+1) / (1*3*5*...*(2n+1)),
 * whose terms are all positive (no cancellation): relative error ~1e-16.
 */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term <= sum * 1e-17) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

/**
 * erfc(x) for x >= ERF_SERIES_LIMIT by the Laplace continued fraction
 *   erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))
 * evaluated with the modified Lentz algorithm.
 */
function erfcContinuedFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = x + a * d;
    if (d === 0) d = tiny;
    c = x + a / c;
    if (c === 0) c = tiny;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return (INV_SQRT_PI * Math.exp(-x * x)) / f;
}

/** Error function, accurate to ~1e-15 relative. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax === Infinity) return x > 0 ? 1 : -1;
  const r = ax < ERF_SERIES_LIMIT ? erfSeries(ax) : 1 - erfcContinuedFraction(ax);
  return x < 0 ? -r : r;
}

/** Complementary error function 1 - erf(x), without cancellation for large positive x. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x >= ERF_SERIES_LIMIT) return x === Infinity ? 0 : erfcContinuedFraction(x);
  if (x <= -ERF_SERIES_LIMIT) return x === -Infinity ? 2 : 2 - erfcContinuedFraction(-x);
  return 1 - (x < 0 ? -erfSeries(-x) : erfSeries(x));
}

/** Standard normal CDF Phi(x) = 0.5 * (1 + erf(x / sqrt 2)), computed via erfc to keep the left tail accurate. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x * Math.SQRT1_2);
}

export function geluTanh(x: number): number {
  const u = SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x);
  return 0.5 * x * (1 + Math.tanh(u));
}

export function geluTanhGrad(x: number): number {
  const x2 = x * x;
  const t = Math.tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x2 * x));
  const sech2 = 1 - t * t;
  // Guard 0 * Infinity when x^3 overflows (the term is then 0).
  const second = sech2 === 0 ? 0 : 0.5 * x * sech2 * SQRT_2_OVER_PI * (1 + 3 * GELU_CUBIC * x2);
  return 0.5 * (1 + t) + second;
}

export function geluErf(x: number): number {
  return x * normalCdf(x);
}

export function geluErfGrad(x: number): number {
  const pdf = INV_SQRT_2PI * Math.exp(-0.5 * x * x);
  return normalCdf(x) + (pdf === 0 ? 0 : x * pdf);
}

export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

export function silu(x: number): number {
  return x * sigmoid(x);
}

export function siluGrad(x: number): number {
  const s = sigmoid(x);
  return s * (1 + x * (1 - s));
}

// ---- kernels ------------------------------------------------------------------

function geluFns(kernel: string, approximation: GeluApproximation): [(x: number) => number, (x: number) => number] {
  if (approximation === GeluApproximation.Tanh) return [geluTanh, geluTanhGrad];
  if (approximation === GeluApproximation.Erf) return [geluErf, geluErfGrad];
  return fail(kernel, 'approximation', `approximation must be GeluApproximation.Tanh (0) or Erf (1), got ${String(approximation)}`);
}

function gatedFns(kernel: string, kind: GatedKind): [(x: number) => number, (x: number) => number] {
  if (kind === GatedKind.SwiGLU) return [silu, siluGrad];
  if (kind === GatedKind.GeGLUTanh) return [geluTanh, geluTanhGrad];
  if (kind === GatedKind.GeGLUErf) return [geluErf, geluErfGrad];
  return fail(kernel, 'kind', `kind must be GatedKind.SwiGLU (0), GeGLUTanh (1) or GeGLUErf (2), got ${String(kind)}`);
}

function unaryForward(kernel: string, f: (x: number) => number, x: FloatArray, out: FloatArray): void {
  checkFloatArray(kernel, 'x', x);
  checkFloatArray(kernel, 'out', out);
  checkSameLength(kernel, 'out', out, 'x', x.length);
  for (let i = 0; i < x.length; i++) out[i] = f(x[i]!);
}

function unaryBackward(
  kernel: string, df: (x: number) => number, x: FloatArray, gradOut: FloatArray, gradIn: FloatArray, accumulate: boolean,
): void {
  checkFloatArray(kernel, 'x', x);
  checkFloatArray(kernel, 'gradOut', gradOut);
  checkFloatArray(kernel, 'gradIn', gradIn);
  checkBoolean(kernel, 'accumulate', accumulate);
  checkSameLength(kernel, 'gradOut', gradOut, 'x', x.length);
  checkSameLength(kernel, 'gradIn', gradIn, 'x', x.length);
  if (accumulate) for (let i = 0; i < x.length; i++) gradIn[i] += gradOut[i]! * df(x[i]!);
  else for (let i = 0; i < x.length; i++) gradIn[i] = gradOut[i]! * df(x[i]!);
}

export function gelu(x: FloatArray, out: FloatArray, approximation: GeluApproximation): void {
  const [f] = geluFns('gelu', approximation);
  unaryForward('gelu', f, x, out);
}

export function geluBackward(x: FloatArray, gradOut: FloatArray, gradIn: FloatArray, approximation: GeluApproximation, accumulate: boolean): void {
  const [, df] = geluFns('geluBackward', approximation);
  unaryBackward('geluBackward', df, x, gradOut, gradIn, accumulate);
}

export function siluKernel(x: FloatArray, out: FloatArray): void {
  unaryForward('silu', silu, x, out);
}

export function siluBackward(x: FloatArray, gradOut: FloatArray, gradIn: FloatArray, accumulate: boolean): void {
  unaryBackward('siluBackward', siluGrad, x, gradOut, gradIn, accumulate);
}

export function gated(kind: GatedKind, gate: FloatArray, up: FloatArray, out: FloatArray): void {
  const k = 'gated';
  const [f] = gatedFns(k, kind);
  checkFloatArray(k, 'gate', gate);
  checkFloatArray(k, 'up', up);
  checkFloatArray(k, 'out', out);
  checkSameLength(k, 'up', up, 'gate', gate.length);
  checkSameLength(k, 'out', out, 'gate', gate.length);
  for (let i = 0; i < gate.length; i++) out[i] = f(gate[i]!) * up[i]!;
}

export function gatedBackward(
  kind: GatedKind, gate: FloatArray, up: FloatArray, gradOut: FloatArray,
  gradGate: FloatArray, gradUp: FloatArray, accumulate: boolean,
): void {
  const k = 'gatedBackward';
  const [f, df] = gatedFns(k, kind);
  checkFloatArray(k, 'gate', gate);
  checkFloatArray(k, 'up', up);
  checkFloatArray(k, 'gradOut', gradOut);
  checkFloatArray(k, 'gradGate', gradGate);
  checkFloatArray(k, 'gradUp', gradUp);
  checkBoolean(k, 'accumulate', accumulate);
  const n = gate.length;
  checkSameLength(k, 'up', up, 'gate', n);
  checkSameLength(k, 'gradOut', gradOut, 'gate', n);
  checkSameLength(k, 'gradGate', gradGate, 'gate', n);
  checkSameLength(k, 'gradUp', gradUp, 'gate', n);
  for (let i = 0; i < n; i++) {
    const g = gate[i]!;
    const u = up[i]!;
    const go = gradOut[i]!;
    const dGate = go * u * df(g);
    const dUp = go * f(g);
    if (accumulate) {
      gradGate[i] += dGate;
      gradUp[i] += dUp;
    } else {
      gradGate[i] = dGate;
      gradUp[i] = dUp;
    }
  }
}
