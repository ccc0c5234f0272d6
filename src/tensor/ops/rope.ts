import { ShapeError, formatShape } from '../errors.js';
import type { Tape } from '../tape.js';
import { Tensor } from '../tensor.js';
import { checkIds, kernels, requireContiguous, requireRank } from './common.js';

// Rotary position embedding in the Hugging Face "rotate_half" layout. The table
// holds cos/sin per position and frequency; the model decides the frequencies
// (plain theta, or Llama-3 style scaled ones), the op only rotates.

export interface RopeTable {
  readonly cos: Tensor;        // [maxPosition, rotaryDim / 2]
  readonly sin: Tensor;
  readonly maxPosition: number;
  readonly rotaryDim: number;
}

/** theta^(-2i/rotaryDim) for i < rotaryDim/2: the standard RoPE frequencies. */
export function ropeFrequencies(rotaryDim: number, theta: number): Float64Array {
  if (!Number.isInteger(rotaryDim) || rotaryDim <= 0 || rotaryDim % 2 !== 0) {
    throw new RangeError(`ropeFrequencies: rotaryDim must be a positive even integer, got ${rotaryDim}`);
  }
  const half = rotaryDim / 2;
  const out = new Float64Array(half);
  for (let i = 0; i < half; i++) out[i] = Math.pow(theta, -(2 * i) / rotaryDim);
  return out;
}

export function createRopeTable(maxPosition: number, frequencies: Float64Array): RopeTable {
  const half = frequencies.length;
  const cos = Tensor.empty([maxPosition, half]);
  const sin = Tensor.empty([maxPosition, half]);
  const c = cos.data;
  const s = sin.data;
  for (let p = 0; p < maxPosition; p++) {
    for (let i = 0; i < half; i++) {
      // Angles in float64 first: float32 angles lose accuracy at large positions.
      const angle = p * frequencies[i];
      c[p * half + i] = Math.cos(angle);
      s[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin, maxPosition, rotaryDim: half * 2 };
}

/** x: [batch, seq, heads, headDim]; positions: [batch * seq]. */
export function rope(tape: Tape, x: Tensor, table: RopeTable, positions: Int32Array): Tensor {
  const input = requireContiguous('rope', 'x', x);
  requireRank('rope', 'x', x, 4);
  const [batch, seq, heads, headDim] = x.shape;
  if (table.rotaryDim > headDim) {
    throw new ShapeError('rope', `rotary dimension ${table.rotaryDim} exceeds head dimension ${headDim} of x ${formatShape(x.shape)}`);
  }
  checkIds('rope', 'positions', positions, batch * seq);
  const out = tape.allocate(x.shape);
  const k = kernels();
  k.rope(input, out.data, table.cos.data, table.sin.data, positions, batch, seq, heads, headDim, table.rotaryDim, table.maxPosition, false, false);
  return tape.record('rope', out, [x], (gradOut) => {
    const sink = tape.gradientSink(x);
    if (sink === null) return;
    // A rotation's transpose is the inverse rotation.
    k.rope(gradOut.data, sink.array, table.cos.data, table.sin.data, positions, batch, seq, heads, headDim, table.rotaryDim, table.maxPosition, true, sink.accumulate);
  });
}
