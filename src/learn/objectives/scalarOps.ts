import { NonFiniteError, type Tape, type Tensor } from '../../tensor/index.js';

// Two pointwise functions of a single-element loss value, each forward beside its
// backward, for the preference objectives (the tensor core has no sigmoid op, and
// these act on one number per experience, so plain JavaScript is the kernel).
//   -log σ(x) = softplus(-x),   d/dx = -σ(-x)        (DPO)
//   σ(x),                       d/dx = σ(x) σ(-x)    (KTO's value function)

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** log(1 + e^x) without overflow. */
function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

function scalarOp(tape: Tape, op: string, x: Tensor, f: (v: number) => number, df: (v: number) => number): Tensor {
  if (x.size !== 1) throw new RangeError(`${op}: expects a single-element tensor, got shape [${x.shape.join(', ')}]`);
  const v = x.item();
  const out = tape.allocate(x.shape);
  out.data[0] = f(v);
  if (!Number.isFinite(out.data[0])) throw new NonFiniteError(op, 'output of input', x.shape, 0, v);
  return tape.record(op, out, [x], (gradOut) => {
    const sink = tape.gradientSink(x);
    if (sink === null) return;
    const g = gradOut.data[0] * df(v);
    sink.array[0] = sink.accumulate ? sink.array[0] + g : g;
  });
}

/** -log σ(x), the logistic loss of a margin x. */
export function negativeLogSigmoid(tape: Tape, x: Tensor): Tensor {
  return scalarOp(tape, 'negativeLogSigmoid', x, (v) => softplus(-v), (v) => -sigmoid(-v));
}

export function sigmoidOf(tape: Tape, x: Tensor): Tensor {
  return scalarOp(tape, 'sigmoid', x, sigmoid, (v) => sigmoid(v) * sigmoid(-v));
}

/** x + c for a constant c (a reference log-probability, a reference point). */
export function addConstant(tape: Tape, x: Tensor, c: number): Tensor {
  return scalarOp(tape, 'addConstant', x, (v) => v + c, () => 1);
}
