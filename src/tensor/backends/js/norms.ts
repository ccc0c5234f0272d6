import type { FloatArray } from '../kernels.js';
import {
  checkBoolean, checkFinite, checkFloatArray, checkMinLength, checkNonNegativeFinite, checkOptionalFloatArray,
  checkSize, checkedProduct, fail,
} from './validate.js';

function checkRowsCols(kernel: string, rows: number, cols: number): number {
  checkSize(kernel, 'rows', rows);
  checkSize(kernel, 'cols', cols);
  if (rows > 0 && cols === 0) fail(kernel, 'cols', `cols must be >= 1 when rows > 0 (got rows=${rows}, cols=0)`);
  return checkedProduct(kernel, 'rows*cols', rows, cols);
}

function checkMatrix(kernel: string, name: string, x: FloatArray, n: number, rows: number, cols: number): void {
  checkFloatArray(kernel, name, x);
  checkMinLength(kernel, name, x, n, `rows=${rows}, cols=${cols}`);
}

function checkVector(kernel: string, name: string, x: FloatArray | null, len: number, because: string): void {
  checkOptionalFloatArray(kernel, name, x);
  if (x !== null) checkMinLength(kernel, name, x, len, because);
}

/** y = (x - mean) * rstd * w + b, with biased variance; mean/rstd written per row. */
export function layerNorm(
  x: FloatArray, weight: FloatArray | null, bias: FloatArray | null, out: FloatArray,
  mean: FloatArray, rstd: FloatArray, rows: number, cols: number, eps: number,
): void {
  const k = 'layerNorm';
  const n = checkRowsCols(k, rows, cols);
  checkNonNegativeFinite(k, 'eps', eps);
  checkMatrix(k, 'x', x, n, rows, cols);
  checkMatrix(k, 'out', out, n, rows, cols);
  checkVector(k, 'weight', weight, cols, `cols=${cols}`);
  checkVector(k, 'bias', bias, cols, `cols=${cols}`);
  checkVector(k, 'mean', mean, rows, `rows=${rows}`);
  checkVector(k, 'rstd', rstd, rows, `rows=${rows}`);
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    let s = 0;
    for (let j = 0; j < cols; j++) s += x[off + j]!;
    const mu = s / cols;
    let sq = 0;
    for (let j = 0; j < cols; j++) {
      const d = x[off + j]! - mu;
      sq += d * d;
    }
    const rs = 1 / Math.sqrt(sq / cols + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (let j = 0; j < cols; j++) {
      let y = (x[off + j]! - mu) * rs;
      if (weight !== null) y *= weight[j]!;
      if (bias !== null) y += bias[j]!;
      out[off + j] = y;
    }
  }
}

/**
 * With xhat = (x - mean) * rstd and g = gradOut * w:
 *   gradX = rstd * (g - mean(g) - xhat * mean(g * xhat)),
 *   gradWeight = sum_rows gradOut * xhat,  gradBias = sum_rows gradOut.
 * A null weight means w = 1 (gradWeight, if requested, is then the gradient with respect to a unit weight).
 */
export function layerNormBackward(
  x: FloatArray, weight: FloatArray | null, mean: FloatArray, rstd: FloatArray,
  gradOut: FloatArray, gradX: FloatArray, gradWeight: FloatArray | null, gradBias: FloatArray | null,
  rows: number, cols: number, accumulateX: boolean, accumulateParams: boolean,
): void {
  const k = 'layerNormBackward';
  const n = checkRowsCols(k, rows, cols);
  checkBoolean(k, 'accumulateX', accumulateX);
  checkBoolean(k, 'accumulateParams', accumulateParams);
  checkMatrix(k, 'x', x, n, rows, cols);
  checkMatrix(k, 'gradOut', gradOut, n, rows, cols);
  checkMatrix(k, 'gradX', gradX, n, rows, cols);
  checkVector(k, 'weight', weight, cols, `cols=${cols}`);
  checkVector(k, 'mean', mean, rows, `rows=${rows}`);
  checkVector(k, 'rstd', rstd, rows, `rows=${rows}`);
  checkVector(k, 'gradWeight', gradWeight, cols, `cols=${cols}`);
  checkVector(k, 'gradBias', gradBias, cols, `cols=${cols}`);
  const gw = new Float64Array(gradWeight !== null ? cols : 0);
  const gb = new Float64Array(gradBias !== null ? cols : 0);
  const g = new Float64Array(cols);
  const xh = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const mu = mean[r]!;
    const rs = rstd[r]!;
    let sumG = 0;
    let sumGX = 0;
    for (let j = 0; j < cols; j++) {
      const go = gradOut[off + j]!;
      const xhat = (x[off + j]! - mu) * rs;
      const gj = weight !== null ? go * weight[j]! : go;
      g[j] = gj;
      xh[j] = xhat;
      sumG += gj;
      sumGX += gj * xhat;
      if (gradWeight !== null) gw[j] += go * xhat;
      if (gradBias !== null) gb[j] += go;
    }
    const meanG = sumG / cols;
    const meanGX = sumGX / cols;
    for (let j = 0; j < cols; j++) {
      const d = rs * (g[j]! - meanG - xh[j]! * meanGX);
      if (accumulateX) gradX[off + j] += d;
      else gradX[off + j] = d;
    }
  }
  writeParamGrad(gradWeight, gw, cols, accumulateParams);
  writeParamGrad(gradBias, gb, cols, accumulateParams);
}

function writeParamGrad(dst: FloatArray | null, src: Float64Array, cols: number, accumulate: boolean): void {
  if (dst === null) return;
  if (accumulate) for (let j = 0; j < cols; j++) dst[j] += src[j]!;
  else for (let j = 0; j < cols; j++) dst[j] = src[j]!;
}

/** y = x * rstd * (weightOffset + w), rstd = 1/sqrt(mean(x^2) + eps); null weight: y = x * rstd. */
export function rmsNorm(
  x: FloatArray, weight: FloatArray | null, out: FloatArray, rstd: FloatArray,
  rows: number, cols: number, eps: number, weightOffset: number,
): void {
  const k = 'rmsNorm';
  const n = checkRowsCols(k, rows, cols);
  checkNonNegativeFinite(k, 'eps', eps);
  checkFinite(k, 'weightOffset', weightOffset);
  checkMatrix(k, 'x', x, n, rows, cols);
  checkMatrix(k, 'out', out, n, rows, cols);
  checkVector(k, 'weight', weight, cols, `cols=${cols}`);
  checkVector(k, 'rstd', rstd, rows, `rows=${rows}`);
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    let sq = 0;
    for (let j = 0; j < cols; j++) {
      const v = x[off + j]!;
      sq += v * v;
    }
    const rs = 1 / Math.sqrt(sq / cols + eps);
    rstd[r] = rs;
    for (let j = 0; j < cols; j++) {
      const y = x[off + j]! * rs;
      out[off + j] = weight !== null ? y * (weightOffset + weight[j]!) : y;
    }
  }
}

/**
 * With xhat = x * rstd and g = gradOut * (weightOffset + w):
 *   gradX = rstd * (g - xhat * mean(g * xhat)),  gradWeight = sum_rows gradOut * xhat.
 */
export function rmsNormBackward(
  x: FloatArray, weight: FloatArray | null, rstd: FloatArray, gradOut: FloatArray,
  gradX: FloatArray, gradWeight: FloatArray | null, rows: number, cols: number, weightOffset: number,
  accumulateX: boolean, accumulateParams: boolean,
): void {
  const k = 'rmsNormBackward';
  const n = checkRowsCols(k, rows, cols);
  checkFinite(k, 'weightOffset', weightOffset);
  checkBoolean(k, 'accumulateX', accumulateX);
  checkBoolean(k, 'accumulateParams', accumulateParams);
  checkMatrix(k, 'x', x, n, rows, cols);
  checkMatrix(k, 'gradOut', gradOut, n, rows, cols);
  checkMatrix(k, 'gradX', gradX, n, rows, cols);
  checkVector(k, 'weight', weight, cols, `cols=${cols}`);
  checkVector(k, 'rstd', rstd, rows, `rows=${rows}`);
  checkVector(k, 'gradWeight', gradWeight, cols, `cols=${cols}`);
  const gw = new Float64Array(gradWeight !== null ? cols : 0);
  const g = new Float64Array(cols);
  const xh = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const rs = rstd[r]!;
    let sumGX = 0;
    for (let j = 0; j < cols; j++) {
      const go = gradOut[off + j]!;
      const xhat = x[off + j]! * rs;
      const gj = weight !== null ? go * (weightOffset + weight[j]!) : go;
      g[j] = gj;
      xh[j] = xhat;
      sumGX += gj * xhat;
      if (gradWeight !== null) gw[j] += go * xhat;
    }
    const meanGX = sumGX / cols;
    for (let j = 0; j < cols; j++) {
      const d = rs * (g[j]! - xh[j]! * meanGX);
      if (accumulateX) gradX[off + j] += d;
      else gradX[off + j] = d;
    }
  }
  writeParamGrad(gradWeight, gw, cols, accumulateParams);
}
