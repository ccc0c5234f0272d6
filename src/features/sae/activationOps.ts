import { ShapeError, type Tape, type Tensor } from '../../tensor/index.js';

// The two SAE nonlinearities the tensor layer lacks, as tape ops (forward beside
// backward). Both are cheap elementwise passes next to the encoder GEMM, so plain
// loops are fast enough.

function contiguousData(op: string, name: string, t: Tensor) {
  t.assertAlive(op);
  if (!t.isContiguous) throw new ShapeError(op, `${name} [${t.shape.join(', ')}] must be contiguous`);
  return t.data;
}

/** max(x, 0); the gradient passes where x > 0. */
export function relu(tape: Tape, x: Tensor): Tensor {
  const input = contiguousData('relu', 'x', x);
  const out = tape.allocate(x.shape);
  const y = out.data;
  for (let i = 0; i < y.length; i++) y[i] = input[i] > 0 ? input[i] : 0;
  return tape.record('relu', out, [x], (gradOut) => {
    const sink = tape.gradientSink(x);
    if (sink === null) return;
    const g = gradOut.data;
    const dst = sink.array;
    for (let i = 0; i < g.length; i++) {
      const d = input[i] > 0 ? g[i] : 0;
      dst[i] = sink.accumulate ? dst[i] + d : d;
    }
  });
}

/**
 * JumpReLU (Gemma Scope): z = pre where pre > threshold (and pre > 0, as SAELens
 * applies ReLU first), else 0; threshold is per latent (the last dimension).
 *
 * The gradient to `pre` is exact (the mask). The output is a step function of the
 * threshold, so its true derivative is zero almost everywhere; when the threshold
 * requires a gradient it gets the straight-through pseudo-derivative of Rajamanoharan
 * et al. (2024): -(threshold / bandwidth) * rect((pre - threshold) / bandwidth),
 * summed over rows, with rect the unit box on (-1/2, 1/2).
 */
export function jumpRelu(tape: Tape, pre: Tensor, threshold: Tensor, bandwidth = 0.001): Tensor {
  const input = contiguousData('jumpRelu', 'pre', pre);
  const thresholds = contiguousData('jumpRelu', 'threshold', threshold);
  const width = pre.shape[pre.shape.length - 1];
  if (threshold.shape.length !== 1 || threshold.shape[0] !== width) {
    throw new ShapeError('jumpRelu', `threshold [${threshold.shape.join(', ')}] must be [${width}] (one per latent of pre [${pre.shape.join(', ')}])`);
  }
  if (!(bandwidth > 0)) throw new RangeError(`jumpRelu: bandwidth must be positive, got ${bandwidth}`);
  const out = tape.allocate(pre.shape);
  const y = out.data;
  for (let i = 0; i < y.length; i++) {
    const v = input[i];
    y[i] = v > thresholds[i % width] && v > 0 ? v : 0;
  }
  return tape.record('jumpRelu', out, [pre, threshold], (gradOut) => {
    const g = gradOut.data;
    const preSink = tape.gradientSink(pre);
    if (preSink !== null) {
      const dst = preSink.array;
      for (let i = 0; i < g.length; i++) {
        const d = y[i] !== 0 ? g[i] : 0;
        dst[i] = preSink.accumulate ? dst[i] + d : d;
      }
    }
    const thresholdSink = tape.gradientSink(threshold);
    if (thresholdSink !== null) {
      const sums = new Float64Array(width);
      for (let i = 0; i < g.length; i++) {
        const j = i % width;
        const u = (input[i] - thresholds[j]) / bandwidth;
        if (u > -0.5 && u < 0.5) sums[j] -= (thresholds[j] / bandwidth) * g[i];
      }
      const dst = thresholdSink.array;
      for (let j = 0; j < width; j++) dst[j] = thresholdSink.accumulate ? dst[j] + sums[j] : sums[j];
    }
  });
}
