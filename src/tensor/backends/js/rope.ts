import type { FloatArray } from '../kernels.js';
import {
  checkBoolean, checkFloatArray, checkIndices, checkInt32Array, checkMinLength, checkSize, checkedProduct, fail,
} from './validate.js';

/**
 * Rotary position embedding, Hugging Face rotate_half layout. For each head, with h = rotaryDim/2
 * and s = inverse ? -sin : sin:
 *   out[i] = x[i] cos - x[i+h] s,  out[i+h] = x[i+h] cos + x[i] s  (i < h); other channels pass through.
 * x and out may be the same array.
 */
export function rope(
  x: FloatArray, out: FloatArray, cos: FloatArray, sin: FloatArray, positions: Int32Array,
  batch: number, seq: number, heads: number, headDim: number, rotaryDim: number, maxPosition: number,
  inverse: boolean, accumulate: boolean,
): void {
  const k = 'rope';
  checkFloatArray(k, 'x', x);
  checkFloatArray(k, 'out', out);
  checkFloatArray(k, 'cos', cos);
  checkFloatArray(k, 'sin', sin);
  checkInt32Array(k, 'positions', positions);
  checkSize(k, 'batch', batch);
  checkSize(k, 'seq', seq);
  checkSize(k, 'heads', heads);
  checkSize(k, 'headDim', headDim);
  checkSize(k, 'rotaryDim', rotaryDim);
  checkSize(k, 'maxPosition', maxPosition);
  checkBoolean(k, 'inverse', inverse);
  checkBoolean(k, 'accumulate', accumulate);
  if (rotaryDim % 2 !== 0) fail(k, 'rotaryDim', `rotaryDim must be even, got ${rotaryDim}`);
  if (rotaryDim > headDim) fail(k, 'rotaryDim', `rotaryDim=${rotaryDim} must be <= headDim=${headDim}`);
  const h = rotaryDim / 2;
  const tokens = checkedProduct(k, 'batch*seq', batch, seq);
  const n = checkedProduct(k, 'x size', tokens, heads, headDim);
  const dims = `batch=${batch}, seq=${seq}, heads=${heads}, headDim=${headDim}`;
  checkMinLength(k, 'x', x, n, dims);
  checkMinLength(k, 'out', out, n, dims);
  const table = checkedProduct(k, 'table size', maxPosition, h);
  checkMinLength(k, 'cos', cos, table, `maxPosition=${maxPosition}, rotaryDim/2=${h}`);
  checkMinLength(k, 'sin', sin, table, `maxPosition=${maxPosition}, rotaryDim/2=${h}`);
  checkMinLength(k, 'positions', positions, tokens, `batch=${batch}, seq=${seq}`);
  checkIndices(k, 'positions', positions, tokens, maxPosition, 'maxPosition');

  const sign = inverse ? -1 : 1;
  for (let tok = 0; tok < tokens; tok++) {
    const tBase = positions[tok]! * h;
    for (let hd = 0; hd < heads; hd++) {
      const base = (tok * heads + hd) * headDim;
      for (let i = 0; i < h; i++) {
        const c = cos[tBase + i]!;
        const s = sign * sin[tBase + i]!;
        const x1 = x[base + i]!;
        const x2 = x[base + i + h]!;
        const o1 = x1 * c - x2 * s;
        const o2 = x2 * c + x1 * s;
        if (accumulate) {
          out[base + i] += o1;
          out[base + i + h] += o2;
        } else {
          out[base + i] = o1;
          out[base + i + h] = o2;
        }
      }
      for (let i = rotaryDim; i < headDim; i++) {
        if (accumulate) out[base + i] += x[base + i]!;
        else out[base + i] = x[base + i]!;
      }
    }
  }
}
