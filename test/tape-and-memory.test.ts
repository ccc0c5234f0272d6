import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReferenceGpt, trainStep } from '../src/model/referenceGpt.js';
import {
  AdamW, NonFiniteError, Random, ReleasedTensorError, SGD, ShapeError, Tape, Tensor, clipGradNorm, crossEntropy,
  embedding, linear, matmul, mul, reshape, sum, transpose,
} from '../src/tensor/index.js';
import { getBackend } from '../src/tensor/backend.js';

// The tape's bookkeeping: memory stays flat across a training loop, gradients
// accumulate correctly, errors name what went wrong, runs are deterministic.

const tinyConfig = { vocabSize: 64, contextLength: 16, dModel: 32, layers: 2, heads: 4, mlpRatio: 4, layerNormEps: 1e-5 };

function batchFor(step: number, batch: number, seq: number, vocab: number): { ids: Int32Array; targets: Int32Array } {
  const rng = new Random(1000 + step);
  const ids = Int32Array.from({ length: batch * seq }, () => rng.int(vocab));
  // A learnable target: next token = (token + 1) mod vocab.
  const targets = ids.map((t) => (t + 1) % vocab);
  return { ids, targets };
}

test('a 200-step training loop keeps memory flat and learns', () => {
  const model = new ReferenceGpt(tinyConfig, 5);
  const optimiser = new AdamW(model.parameters(), { lr: 3e-3, weightDecay: 0 });
  const pool = getBackend().pool;
  const losses: number[] = [];
  let allocatedAfterWarmup = 0;
  let liveAfterWarmup = 0;
  for (let step = 0; step < 200; step++) {
    const { ids, targets } = batchFor(step, 2, 16, tinyConfig.vocabSize);
    losses.push(trainStep(model, optimiser, ids, targets, 2, 16));
    if (step === 4) {
      allocatedAfterWarmup = pool.snapshot().allocatedBytes;
      liveAfterWarmup = pool.snapshot().liveBytes;
    }
  }
  const stats = pool.snapshot();
  assert.equal(stats.allocatedBytes, allocatedAfterWarmup, `pool grew from ${allocatedAfterWarmup} to ${stats.allocatedBytes} bytes after warm-up`);
  assert.equal(stats.liveBytes, liveAfterWarmup, 'live bytes after a step must return to the same level');
  const early = losses.slice(0, 10).reduce((a, b) => a + b) / 10;
  const late = losses.slice(-10).reduce((a, b) => a + b) / 10;
  assert.ok(late < early * 0.5, `loss should fall on a learnable task: first 10 mean ${early.toFixed(3)}, last 10 mean ${late.toFixed(3)}`);
});

test('training is deterministic for a given seed', () => {
  const run = () => {
    const model = new ReferenceGpt(tinyConfig, 11);
    const optimiser = new AdamW(model.parameters(), { lr: 1e-3 });
    const losses: number[] = [];
    for (let step = 0; step < 5; step++) {
      const { ids, targets } = batchFor(step, 2, 16, tinyConfig.vocabSize);
      losses.push(trainStep(model, optimiser, ids, targets, 2, 16));
    }
    return { losses, weights: Array.from(model.blocks[1].fc.data.subarray(0, 64)) };
  };
  const a = run();
  const b = run();
  assert.deepEqual(a.losses, b.losses);
  assert.deepEqual(a.weights, b.weights);
});

test('gradients from several consumers accumulate; zeroGrad makes the next backward overwrite', () => {
  const w = Tensor.parameter(Tensor.fromArray([1, 2, 3, 4], [2, 2]), 'w');
  const x = Tensor.fromArray([1, 0, 0, 1], [2, 2]);
  const optimiser = new SGD([w], { lr: 0 });
  for (let round = 0; round < 2; round++) {
    optimiser.zeroGrad();
    const tape = new Tape();
    // loss = sum(x w) + sum(w * w): d/dw = x^T 1 + 2w
    const loss = sum(tape, matmul(tape, x, w));
    const loss2 = sum(tape, mul(tape, w, w));
    tape.backward(loss);
    tape.release();
    const tape2 = new Tape();
    const again = sum(tape2, mul(tape2, w, w));
    tape2.backward(again);
    tape2.release();
    assert.deepEqual(Array.from(w.grad!.data), [1 + 2, 1 + 4, 1 + 6, 1 + 8], `round ${round}`);
    void loss2;
  }
});

test('transposed views feed matmul without copies', () => {
  const tape = new Tape({ grad: false });
  const a = Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
  const at = transpose(tape, a, 0, 1);
  assert.equal(at.storage, a.storage, 'transpose must be a view');
  const product = matmul(tape, at, a);
  assert.deepEqual(Array.from(product.data), [17, 22, 27, 22, 29, 36, 27, 36, 45]);
  tape.release();
});

test('clear errors: shapes, token ids, non-finite losses and gradients, released tensors', () => {
  const tape = new Tape();
  const a = Tensor.zeros([2, 3]);
  const b = Tensor.zeros([4, 5]);
  assert.throws(() => matmul(tape, a, b), (e: Error) => e instanceof ShapeError && /matmul/.test(e.message) && /\[2, 3\]/.test(e.message) && /\[4, 5\]/.test(e.message));
  assert.throws(() => linear(tape, a, b), (e: Error) => /linear/.test(e.message) && /\[4, 5\]/.test(e.message));
  assert.throws(() => reshape(tape, a, [4, 2]), (e: Error) => /reshape/.test(e.message));
  const table = Tensor.zeros([10, 4]);
  assert.throws(() => embedding(tape, table, Int32Array.from([1, 2, 10, 3])), (e: Error) => /embedding/.test(e.message) && /10/.test(e.message) && /2/.test(e.message));
  const logits = Tensor.fromArray([0, 1, NaN, 0, 0, 1], [2, 3]);
  assert.throws(() => crossEntropy(tape, logits, Int32Array.from([0, 1])), (e: Error) => e instanceof NonFiniteError && /crossEntropy/.test(e.message));
  assert.throws(() => crossEntropy(tape, Tensor.zeros([2, 3]), Int32Array.from([0, 7])), (e: Error) => /crossEntropy/.test(e.message) && /7/.test(e.message));
  tape.release();

  // With checkFinite, a NaN produced by a forward op is caught at that op...
  const strictForward = new Tape({ checkFinite: true });
  const w = Tensor.parameter(Tensor.fromArray([1, Infinity], [1, 2]), 'w');
  assert.throws(() => mul(strictForward, Tensor.fromArray([0, 0], [1, 2]), w), (e: Error) => e instanceof NonFiniteError && /^mul: output/.test(e.message) && /index 1/.test(e.message));
  strictForward.release();
  // ...and a non-finite gradient is caught at the op whose backward produced it.
  const strictBackward = new Tape({ checkFinite: true });
  const v = Tensor.parameter(Tensor.fromArray([1, 2], [1, 2]), 'v');
  const total = sum(strictBackward, mul(strictBackward, v, v));
  assert.throws(() => strictBackward.backward(total, Infinity), (e: Error) => e instanceof NonFiniteError && /sum \(backward\)/.test(e.message));
  strictBackward.release();

  // Using a tensor after its tape released it is an error, not silent garbage.
  const t2 = new Tape();
  const y = matmul(t2, Tensor.zeros([2, 2]), Tensor.zeros([2, 2]));
  t2.release();
  assert.throws(() => y.data, ReleasedTensorError);
});

test('clipGradNorm scales to the max norm and names a non-finite gradient', () => {
  const p = Tensor.parameter(Tensor.zeros([2]), 'p');
  p.grad = Tensor.fromArray([3, 4]);
  const norm = clipGradNorm([p], 1);
  assert.ok(Math.abs(norm - 5) < 1e-6);
  const clipped = Math.hypot(...p.grad.data);
  assert.ok(Math.abs(clipped - 1) < 1e-4, `clipped norm ${clipped}`);
  p.grad = Tensor.fromArray([1, NaN]);
  assert.throws(() => clipGradNorm([p], 1), (e: Error) => /clipGradNorm/.test(e.message) && /p/.test(e.message) && /index 1/.test(e.message));
});

test('parameter groups carry their own learning rate and weight decay', () => {
  const a = Tensor.parameter(Tensor.fromArray([1, 1]), 'a');
  const b = Tensor.parameter(Tensor.fromArray([1, 1]), 'b');
  const optimiser = new SGD([{ params: [a], lr: 0.1 }, { params: [b], lr: 1, weightDecay: 0.5 }], { lr: 0 });
  a.grad = Tensor.fromArray([1, 2]);
  b.grad = Tensor.fromArray([1, 2]);
  optimiser.step();
  assert.deepEqual(Array.from(a.data).map((v) => +v.toFixed(5)), [0.9, 0.8]);
  assert.deepEqual(Array.from(b.data).map((v) => +v.toFixed(5)), [-0.5, -1.5]);
  assert.throws(() => new AdamW([{ params: [a] }, { params: [a] }], { lr: 1 }), /more than one group/);
});
