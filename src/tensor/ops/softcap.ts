import type { Tape } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { requireContiguous } from './common.js';

// y = cap * tanh(x / cap): Gemma-2's final-logit soft-capping. Attention's
// soft-cap lives inside the fused attention kernel; this one runs once per
// forward on the logits, so a plain loop here is fast enough and keeps the
// kernel contract small.

export function softCap(tape: Tape, x: Tensor, cap: number): Tensor {
  if (!(cap > 0) || !Number.isFinite(cap)) throw new RangeError(`softCap: cap must be a positive finite number, got ${cap}`);
  const input = requireContiguous('softCap', 'x', x);
  const out = tape.allocate(x.shape);
  const y = out.data;
  const inverse = 1 / cap;
  for (let i = 0; i < y.length; i++) y[i] = cap * Math.tanh(input[i] * inverse);
  return tape.record('softCap', out, [x], (gradOut) => {
    const sink = tape.gradientSink(x);
    if (sink === null) return;
    const g = gradOut.data;
    const dst = sink.array;
    // d/dx cap*tanh(x/cap) = 1 - tanh^2 = 1 - (y/cap)^2
    for (let i = 0; i < g.length; i++) {
      const t = y[i] * inverse;
      const d = g[i] * (1 - t * t);
      dst[i] = sink.accumulate ? dst[i] + d : d;
    }
  });
}
