// Conversions between float32 and the 16-bit float formats found in checkpoints
// (IEEE half "F16" and bfloat16 "BF16"). They work on raw bit patterns through
// Uint32Array views, so every value, including subnormals, infinities and NaN,
// converts exactly as the hardware formats define it, with no lookup tables.

const FLOAT16_SUBNORMAL_UNIT = 2 ** -24;

function outputFor<T extends Float32Array | Uint16Array>(fn: string, srcLength: number, dst: T | undefined, make: (n: number) => T): T {
  if (dst === undefined) return make(srcLength);
  if (dst.length < srcLength) {
    throw new RangeError(`${fn}: destination holds ${dst.length} values, expected at least ${srcLength}`);
  }
  return dst;
}

function bitsOf(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}

export function float16ToFloat32(src: Uint16Array, dst?: Float32Array): Float32Array {
  const out = outputFor('float16ToFloat32', src.length, dst, (n) => new Float32Array(n));
  const outBits = bitsOf(out);
  for (let i = 0; i < src.length; i++) {
    const h = src[i];
    const sign = (h & 0x8000) << 16;
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0x1f) {
      // Keeping the mantissa bits keeps NaN payloads (and NaN-ness) intact.
      outBits[i] = (sign | 0x7f800000 | (mantissa << 13)) >>> 0;
    } else if (exponent !== 0) {
      outBits[i] = (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0;
    } else if (mantissa === 0) {
      outBits[i] = sign >>> 0;
    } else {
      // A subnormal half is mantissa * 2^-24: exact in float32 arithmetic.
      const magnitude = mantissa * FLOAT16_SUBNORMAL_UNIT;
      out[i] = sign !== 0 ? -magnitude : magnitude;
    }
  }
  return out;
}

export function bfloat16ToFloat32(src: Uint16Array, dst?: Float32Array): Float32Array {
  const out = outputFor('bfloat16ToFloat32', src.length, dst, (n) => new Float32Array(n));
  const outBits = bitsOf(out);
  // bfloat16 is the top half of a float32, so widening is a shift.
  for (let i = 0; i < src.length; i++) outBits[i] = (src[i] << 16) >>> 0;
  return out;
}

export function float32ToFloat16(src: Float32Array, dst?: Uint16Array): Uint16Array {
  const out = outputFor('float32ToFloat16', src.length, dst, (n) => new Uint16Array(n));
  const srcBits = bitsOf(src);
  for (let i = 0; i < src.length; i++) {
    const x = srcBits[i];
    const sign = (x >>> 16) & 0x8000;
    const exponent = (x >>> 23) & 0xff;
    const mantissa = x & 0x7fffff;
    if (exponent === 0xff) {
      // Force the quiet bit so that a NaN whose payload lives only in the low
      // bits does not turn into infinity.
      out[i] = sign | 0x7c00 | (mantissa !== 0 ? 0x200 | (mantissa >>> 13) : 0);
      continue;
    }
    const unbiased = exponent - 127;
    if (unbiased > 15) {
      out[i] = sign | 0x7c00;
    } else if (unbiased >= -14) {
      let half = ((unbiased + 15) << 10) | (mantissa >>> 13);
      const rest = mantissa & 0x1fff;
      // Round to nearest, ties to even; a carry out of the mantissa correctly
      // bumps the exponent, up to infinity for values just under 65520.
      if (rest > 0x1000 || (rest === 0x1000 && (half & 1) !== 0)) half++;
      out[i] = sign | half;
    } else if (unbiased >= -25) {
      // Subnormal half: the value in units of 2^-24 is significand * 2^(unbiased + 1).
      const significand = mantissa | 0x800000;
      const shift = -unbiased - 1;
      let half = significand >>> shift;
      const rest = significand & ((1 << shift) - 1);
      const halfway = 1 << (shift - 1);
      if (rest > halfway || (rest === halfway && (half & 1) !== 0)) half++;
      out[i] = sign | half;
    } else {
      out[i] = sign;
    }
  }
  return out;
}

export function float32ToBfloat16(src: Float32Array, dst?: Uint16Array): Uint16Array {
  const out = outputFor('float32ToBfloat16', src.length, dst, (n) => new Uint16Array(n));
  const srcBits = bitsOf(src);
  for (let i = 0; i < src.length; i++) {
    const x = srcBits[i];
    if ((x & 0x7fffffff) > 0x7f800000) {
      // Truncating could clear every remaining mantissa bit and give infinity.
      out[i] = (x >>> 16) | 0x40;
      continue;
    }
    // Adding 0x7fff (+1 when the kept part is odd) rounds to nearest even; the
    // sum stays below 2^32 for every non-NaN input, and overflow lands on infinity.
    out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}
