import { GatedKind, GeluApproximation } from '../backends/kernels.js';
import type { Tape } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { kernels, requireContiguous, requireSameShape } from './common.js';

// Pointwise nonlinearities and the fused gated MLP activations (SwiGLU, GeGLU).

export type GeluKind = 'tanh' | 'erf';

export function gelu(tape: Tape, x: Tensor, approximation: GeluKind = 'tanh'): Tensor {
  const input = requireContiguous('gelu', 'x', x);
  const kind = approximation === 'tanh' ? GeluApproximation.Tanh : GeluApproximation.Erf;
  const out = tape.allocate(x.shape);
  kernels().gelu(input, out.data, kind);
  return tape.record('gelu', out, [x], (gradOut) => {
    const sink = tape.gradientSink(x);
    if (sink !== null) kernels().geluBackward(input, gradOut.data, sink.array, kind, sink.accumulate);
  });
}

export function silu(tape: Tape, x: Tensor): Tensor {
  const input = requireContiguous('silu', 'x', x);
  const out = tape.allocate(x.shape);
  kernels().silu(input, out.data);
  return tape.record('silu', out, [x], (gradOut) => {
    const sink = tape.gradientSink(x);
    if (sink !== null) kernels().siluBackward(input, gradOut.data, sink.array, sink.accumulate);
  });
}

export type GatedActivation = 'swiglu' | 'geglu-tanh' | 'geglu-erf';

const gatedKinds: Record<GatedActivation, GatedKind> = {
  'swiglu': GatedKind.SwiGLU,
  'geglu-tanh': GatedKind.GeGLUTanh,
  'geglu-erf': GatedKind.GeGLUErf,
};

/** act(gate) * up in one pass: SwiGLU (Llama) or GeGLU (Gemma). */
export function gated(tape: Tape, activation: GatedActivation, gate: Tensor, up: Tensor): Tensor {
  const op = `gated(${activation})`;
  const gateData = requireContiguous(op, 'gate', gate);
  const upData = requireContiguous(op, 'up', up);
  requireSameShape(op, ['gate', 'up'], gate, up);
  const kind = gatedKinds[activation];
  const out = tape.allocate(gate.shape);
  kernels().gated(kind, gateData, upData, out.data);
  return tape.record(op, out, [gate, up], (gradOut) => {
    const gradGate = tape.gradientSink(gate);
    const gradUp = tape.gradientSink(up);
    if (gradGate === null && gradUp === null) return;
    // The kernel writes both gradients; route an unwanted one to scratch.
    const gateTarget = gradGate ?? { array: tape.allocate(gate.shape).data, accumulate: false };
    const upTarget = gradUp ?? { array: tape.allocate(up.shape).data, accumulate: false };
    if (gateTarget.accumulate === upTarget.accumulate) {
      kernels().gatedBackward(kind, gateData, upData, gradOut.data, gateTarget.array, upTarget.array, gateTarget.accumulate);
    } else {
      // Mixed modes (rare): overwrite into scratch and add where needed.
      const scratchGate = tape.allocate(gate.shape).data;
      const scratchUp = tape.allocate(up.shape).data;
      kernels().gatedBackward(kind, gateData, upData, gradOut.data, scratchGate, scratchUp, false);
      kernels().scaleInto(scratchGate, 1, gateTarget.array, gateTarget.accumulate);
      kernels().scaleInto(scratchUp, 1, upTarget.array, upTarget.accumulate);
    }
  });
}
