import assert from 'node:assert/strict';
import type { AdapterSet } from '../../src/adapt/index.js';
import type { CausalLm, ForwardOptions } from '../../src/model/causalLm.js';
import { withInferenceTape } from '../../src/model/inference.js';
import { AdamW, Random, Tape, mul, sum, type Tensor } from '../../src/tensor/index.js';

// Helpers shared by the adapter tests: token streams, logits of a forward pass,
// random parameter values, a finite-difference check of an adapter set's gradients,
// and a few AdamW steps on a random linear objective (to move an adapter off its init).

export function tokens(n: number, vocab: number, seed: number): Int32Array {
  const rng = new Random(seed);
  return Int32Array.from({ length: n }, () => rng.int(vocab));
}

export function logitsOf(model: CausalLm, ids: Int32Array, batch: number, options: ForwardOptions = {}): Float64Array {
  return withInferenceTape((tape) => Float64Array.from(model.forward(tape, ids, batch, ids.length / batch, options).logits!.data));
}

export function randomize(params: Tensor[], seed: number, std: number): void {
  const rng = new Random(seed);
  for (const p of params) rng.fillNormal(p.data, std);
}

/** Each trainable parameter's analytic gradient (of a random projection of the logits) against central differences. */
export function checkGradients(model: CausalLm, set: AdapterSet, ids: Int32Array, batch: number): void {
  const rng = new Random(99);
  let probe: Float64Array | null = null;
  const loss = (withGrad: boolean): number => {
    const tape = new Tape({ grad: withGrad });
    try {
      const logits = model.forward(tape, ids, batch, ids.length / batch, set.forwardOptions()).logits!;
      probe ??= Float64Array.from({ length: logits.size }, () => rng.normal());
      const weights = tape.allocate(logits.shape);
      weights.data.set(probe);
      const total = sum(tape, mul(tape, logits, weights));
      if (withGrad) tape.backward(total);
      return total.item();
    } finally {
      tape.release();
    }
  };
  const params = set.parameters();
  for (const p of params) p.grad = null;
  loss(true);
  const grads = params.map((p) => Float64Array.from(p.grad!.data));
  const step = 1e-6;
  params.forEach((p, index) => {
    const count = Math.min(p.size, 12);
    for (let c = 0; c < count; c++) {
      const j = Math.floor((c * p.size) / count);
      const saved = p.data[j];
      p.data[j] = saved + step;
      const plus = loss(false);
      p.data[j] = saved - step;
      const minus = loss(false);
      p.data[j] = saved;
      const numeric = (plus - minus) / (2 * step);
      const scale = Math.max(1, Math.abs(numeric));
      assert.ok(Math.abs(numeric - grads[index][j]) < 1e-6 * scale, `${p.name} element ${j}: analytic ${grads[index][j]} vs finite difference ${numeric}`);
    }
  });
}

/**
 * `steps` AdamW steps of `set` on a random linear probe of the logits of one
 * batch, with the set's gradient and parameter projections, as the learner applies them.
 */
export function trainOnRandomProbe(model: CausalLm, set: AdapterSet, steps: number, seed: number, weightDecay = 0): void {
  const ids = tokens(12, model.spec.vocabSize, seed);
  const rng = new Random(seed);
  const optimiser = new AdamW(set.parameters(), { lr: 0.05, weightDecay });
  for (let step = 0; step < steps; step++) {
    const tape = new Tape();
    try {
      const logits = model.forward(tape, ids, 2, 6, set.forwardOptions()).logits!;
      const probe = tape.allocate(logits.shape);
      rng.fillNormal(probe.data);
      tape.backward(sum(tape, mul(tape, logits, probe)));
    } finally {
      tape.release();
    }
    set.projectGradients();
    optimiser.step();
    set.projectParameters();
    optimiser.zeroGrad();
  }
}
