import type { Tape, Tensor } from '../../tensor/index.js';
import type { SaeNormalization } from './config.js';

// SAELens' run-time input normalisations. Each row x becomes x * scale + shift
// before encoding, and the reconstruction y is mapped back with (y - shift) / scale.
// The per-row coefficients are computed from the data and then held constant:
// the tape passes gradients through the affine maps but not through the
// coefficients themselves (SAE training never needs the latter: x is data).

export interface RowAffine {
  scale: Float64Array;
  shift: Float64Array;
}

const LAYER_NORM_EPS = 1e-5;

/** Per-row coefficients for a normalisation, or null for 'none'. */
export function normalizationCoefficients(kind: SaeNormalization, x: ArrayLike<number>, rows: number, width: number): RowAffine | null {
  if (kind === 'none') return null;
  const scale = new Float64Array(rows);
  const shift = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const base = r * width;
    if (kind === 'constant_norm_rescale') {
      let squares = 0;
      for (let i = 0; i < width; i++) squares += x[base + i] * x[base + i];
      // A zero row stays zero rather than becoming NaN.
      scale[r] = squares > 0 ? Math.sqrt(width / squares) : 1;
    } else {
      let sum = 0;
      for (let i = 0; i < width; i++) sum += x[base + i];
      const mean = sum / width;
      let squares = 0;
      for (let i = 0; i < width; i++) squares += (x[base + i] - mean) ** 2;
      // torch's Tensor.std is the unbiased (n - 1) estimate.
      const std = width > 1 ? Math.sqrt(squares / (width - 1)) : 0;
      scale[r] = 1 / (std + LAYER_NORM_EPS);
      shift[r] = -mean * scale[r];
    }
  }
  return { scale, shift };
}

/** The inverse map, for reconstructions. */
export function invertAffine(affine: RowAffine): RowAffine {
  const scale = affine.scale.map((s) => 1 / s);
  const shift = affine.shift.map((t, r) => -t / affine.scale[r]);
  return { scale, shift };
}

/** y[r, :] = x[r, :] * scale[r] + shift[r] with constant coefficients. */
export function affineRows(tape: Tape, x: Tensor, affine: RowAffine): Tensor {
  const width = x.shape[x.shape.length - 1];
  const rows = affine.scale.length;
  if (x.size !== rows * width) throw new RangeError(`affineRows: x [${x.shape.join(', ')}] does not hold ${rows} rows of ${width}`);
  const input = x.data;
  const out = tape.allocate(x.shape);
  const y = out.data;
  for (let r = 0; r < rows; r++) {
    for (let i = r * width; i < (r + 1) * width; i++) y[i] = input[i] * affine.scale[r] + affine.shift[r];
  }
  return tape.record('affineRows', out, [x], (gradOut) => {
    const sink = tape.gradientSink(x);
    if (sink === null) return;
    const g = gradOut.data;
    const dst = sink.array;
    for (let r = 0; r < rows; r++) {
      for (let i = r * width; i < (r + 1) * width; i++) {
        const d = g[i] * affine.scale[r];
        dst[i] = sink.accumulate ? dst[i] + d : d;
      }
    }
  });
}
