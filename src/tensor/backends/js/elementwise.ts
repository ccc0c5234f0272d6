import { BinaryOp, type FloatArray } from '../kernels.js';
import {
  checkBoolean, checkFinite, checkFloatArray, checkMinLength, checkSameLength, checkShape, checkSize,
  checkStridedAccess, checkStrides, checkedProduct, fail,
} from './validate.js';

export function fill(out: FloatArray, value: number): void {
  checkFloatArray('fill', 'out', out);
  if (typeof value !== 'number') fail('fill', 'value', `value must be a number, got ${typeof value}`);
  out.fill(value);
}

export function scaleInto(x: FloatArray, alpha: number, out: FloatArray, accumulate: boolean): void {
  const k = 'scaleInto';
  checkFloatArray(k, 'x', x);
  checkFloatArray(k, 'out', out);
  checkFinite(k, 'alpha', alpha);
  checkBoolean(k, 'accumulate', accumulate);
  checkSameLength(k, 'out', out, 'x', x.length);
  const n = x.length;
  if (accumulate) for (let i = 0; i < n; i++) out[i] += alpha * x[i]!;
  else for (let i = 0; i < n; i++) out[i] = alpha * x[i]!;
}

export function broadcastBinary(
  op: BinaryOp, a: FloatArray, aStrides: Int32Array, b: FloatArray, bStrides: Int32Array,
  out: FloatArray, shape: Int32Array,
): void {
  const k = 'broadcastBinary';
  if (op !== BinaryOp.Add && op !== BinaryOp.Mul) fail(k, 'op', `op must be BinaryOp.Add (0) or BinaryOp.Mul (1), got ${String(op)}`);
  checkFloatArray(k, 'a', a);
  checkFloatArray(k, 'b', b);
  checkFloatArray(k, 'out', out);
  const total = checkShape(k, 'shape', shape);
  checkStrides(k, 'aStrides', aStrides, 'shape', shape);
  checkStrides(k, 'bStrides', bStrides, 'shape', shape);
  checkStridedAccess(k, 'a', a, 0, 'offset', aStrides, 'aStrides', shape);
  checkStridedAccess(k, 'b', b, 0, 'offset', bStrides, 'bStrides', shape);
  checkMinLength(k, 'out', out, total, `shape=[${Array.from(shape).join(',')}]`);
  if (total === 0) return;
  const nd = shape.length;
  if (nd === 0) {
    out[0] = op === BinaryOp.Add ? a[0]! + b[0]! : a[0]! * b[0]!;
    return;
  }
  const last = nd - 1;
  const n = shape[last]!;
  const as = aStrides[last]!;
  const bs = bStrides[last]!;
  const idx = new Int32Array(nd);
  let aBase = 0;
  let bBase = 0;
  let o = 0;
  for (;;) {
    if (op === BinaryOp.Add) for (let j = 0; j < n; j++) out[o++] = a[aBase + j * as]! + b[bBase + j * bs]!;
    else for (let j = 0; j < n; j++) out[o++] = a[aBase + j * as]! * b[bBase + j * bs]!;
    // Odometer increment over the outer dimensions.
    let d = last - 1;
    for (; d >= 0; d--) {
      idx[d]!++;
      aBase += aStrides[d]!;
      bBase += bStrides[d]!;
      if (idx[d]! < shape[d]!) break;
      aBase -= aStrides[d]! * shape[d]!;
      bBase -= bStrides[d]! * shape[d]!;
      idx[d] = 0;
    }
    if (d < 0) break;
  }
}

export function copyStrided(
  src: FloatArray, srcOffset: number, srcStrides: Int32Array,
  dst: FloatArray, dstOffset: number, dstStrides: Int32Array, shape: Int32Array, accumulate: boolean,
): void {
  const k = 'copyStrided';
  checkFloatArray(k, 'src', src);
  checkFloatArray(k, 'dst', dst);
  checkSize(k, 'srcOffset', srcOffset);
  checkSize(k, 'dstOffset', dstOffset);
  checkBoolean(k, 'accumulate', accumulate);
  const total = checkShape(k, 'shape', shape);
  checkStrides(k, 'srcStrides', srcStrides, 'shape', shape);
  checkStrides(k, 'dstStrides', dstStrides, 'shape', shape);
  checkStridedAccess(k, 'src', src, srcOffset, 'srcOffset', srcStrides, 'srcStrides', shape);
  checkStridedAccess(k, 'dst', dst, dstOffset, 'dstOffset', dstStrides, 'dstStrides', shape);
  if (total === 0) return;
  const nd = shape.length;
  if (nd === 0) {
    if (accumulate) dst[dstOffset] += src[srcOffset]!;
    else dst[dstOffset] = src[srcOffset]!;
    return;
  }
  const last = nd - 1;
  const n = shape[last]!;
  const ss = srcStrides[last]!;
  const ds = dstStrides[last]!;
  const idx = new Int32Array(nd);
  let sBase = srcOffset;
  let dBase = dstOffset;
  for (;;) {
    // Sequential row-major order: repeated destinations are summed in a fixed order.
    if (accumulate) for (let j = 0; j < n; j++) dst[dBase + j * ds] += src[sBase + j * ss]!;
    else for (let j = 0; j < n; j++) dst[dBase + j * ds] = src[sBase + j * ss]!;
    let d = last - 1;
    for (; d >= 0; d--) {
      idx[d]!++;
      sBase += srcStrides[d]!;
      dBase += dstStrides[d]!;
      if (idx[d]! < shape[d]!) break;
      sBase -= srcStrides[d]! * shape[d]!;
      dBase -= dstStrides[d]! * shape[d]!;
      idx[d] = 0;
    }
    if (d < 0) break;
  }
}

export function sumAxis(x: FloatArray, outer: number, axis: number, inner: number, out: FloatArray, accumulate: boolean): void {
  const k = 'sumAxis';
  checkFloatArray(k, 'x', x);
  checkFloatArray(k, 'out', out);
  checkSize(k, 'outer', outer);
  checkSize(k, 'axis', axis);
  checkSize(k, 'inner', inner);
  checkBoolean(k, 'accumulate', accumulate);
  checkMinLength(k, 'x', x, checkedProduct(k, 'x size', outer, axis, inner), `outer=${outer}, axis=${axis}, inner=${inner}`);
  checkMinLength(k, 'out', out, checkedProduct(k, 'out size', outer, inner), `outer=${outer}, inner=${inner}`);
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    acc.fill(0);
    const base = o * axis * inner;
    for (let a = 0; a < axis; a++) {
      const off = base + a * inner;
      for (let i = 0; i < inner; i++) acc[i] += x[off + i]!;
    }
    const oo = o * inner;
    if (accumulate) for (let i = 0; i < inner; i++) out[oo + i] += acc[i]!;
    else for (let i = 0; i < inner; i++) out[oo + i] = acc[i]!;
  }
}

export function sumAll(x: FloatArray): number {
  checkFloatArray('sumAll', 'x', x);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  return s;
}

export function sumSquares(x: FloatArray): number {
  checkFloatArray('sumSquares', 'x', x);
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    s += v * v;
  }
  return s;
}

export function findNonFinite(x: FloatArray): number {
  checkFloatArray('findNonFinite', 'x', x);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v - v !== 0) return i; // NaN - NaN and Inf - Inf are NaN
  }
  return -1;
}
