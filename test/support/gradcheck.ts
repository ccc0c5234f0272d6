import assert from 'node:assert/strict';
import { createReferenceBackend, withBackend } from '../../src/tensor/backend.js';
import { mul } from '../../src/tensor/ops/elementwise.js';
import { sum } from '../../src/tensor/ops/reduce.js';
import { Random } from '../../src/tensor/random.js';
import { Tape } from '../../src/tensor/tape.js';
import { Tensor } from '../../src/tensor/tensor.js';

// Finite-difference gradient checks through the tape, in float64 on the reference
// backend. The loss is a random linear functional of the op's output, so every
// output element's gradient path is exercised with a distinct weight.

export const float64Backend = createReferenceBackend('float64');

export interface InputSpec {
  shape: number[];
  /** Defaults to standard normal values. */
  init?: (rng: Random, size: number) => number[];
  requiresGrad?: boolean;
}

export interface GradCheckOptions {
  seed?: number;
  step?: number;
  tolerance?: number;
  /** Check at most this many elements per input (spread evenly). */
  maxElements?: number;
}

export function gradCheck(name: string, inputs: InputSpec[], build: (tape: Tape, xs: Tensor[]) => Tensor, options: GradCheckOptions = {}): void {
  withBackend(float64Backend, () => {
    const rng = new Random(options.seed ?? 7);
    const step = options.step ?? 1e-5;
    const tolerance = options.tolerance ?? 1e-6;
    const values = inputs.map((spec) => {
      const size = spec.shape.reduce((a, b) => a * b, 1);
      return spec.init ? spec.init(rng, size) : Array.from({ length: size }, () => rng.normal());
    });
    const makeInputs = (vals: number[][]) => vals.map((v, i) => {
      const t = Tensor.fromArray(v, inputs[i].shape);
      return inputs[i].requiresGrad === false ? t : Tensor.parameter(t, `input${i}`);
    });
    // Probe weights for the linear functional.
    let weights: number[] | null = null;
    const evaluate = (vals: number[][], withGrad: boolean): { loss: number; grads: (number[] | null)[] } => {
      const tape = new Tape({ grad: withGrad });
      try {
        const xs = makeInputs(vals);
        const out = build(tape, xs);
        const flat = out.isContiguous ? Array.from(out.data) : out.toArray();
        if (weights === null) weights = flat.map(() => rng.normal());
        let loss = 0;
        for (let i = 0; i < flat.length; i++) loss += flat[i] * weights[i];
        if (!withGrad) return { loss, grads: [] };
        // Backpropagate the linear functional by seeding the output gradient.
        const probe = tape.allocate(out.shape);
        probe.data.set(weights);
        const seeded = seedLoss(tape, out, probe);
        tape.backward(seeded);
        return { loss, grads: xs.map((x) => (x.grad === null ? null : Array.from(x.grad.data))) };
      } finally {
        tape.release();
      }
    };
    const analytic = evaluate(values, true);
    inputs.forEach((spec, i) => {
      if (spec.requiresGrad === false) return;
      const grad = analytic.grads[i];
      assert.ok(grad !== null, `${name}: input ${i} received no gradient`);
      const size = values[i].length;
      const count = Math.min(size, options.maxElements ?? 48);
      const scale = Math.max(1, ...grad.map(Math.abs));
      for (let c = 0; c < count; c++) {
        const j = Math.floor((c * size) / count);
        const plus = values.map((v) => [...v]);
        const minus = values.map((v) => [...v]);
        plus[i][j] += step;
        minus[i][j] -= step;
        const numeric = (evaluate(plus, false).loss - evaluate(minus, false).loss) / (2 * step);
        const error = Math.abs(numeric - grad[j]) / scale;
        assert.ok(error < tolerance,
          `${name}: input ${i} element ${j}: analytic ${grad[j]} vs finite difference ${numeric} (relative error ${error.toExponential(2)})`);
      }
    });
  });
}

function seedLoss(tape: Tape, out: Tensor, probe: Tensor): Tensor {
  return sum(tape, mul(tape, out, probe));
}
