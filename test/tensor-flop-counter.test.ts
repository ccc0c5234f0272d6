import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Random, Tape, Tensor, attention, countingKernels, createBackend, getBackend, linear, matmul, reshape, sum, visibleAttentionPairs, withBackend } from '../src/tensor/index.js';

function trainable(values: Float32Array, shape: number[]): Tensor {
  const t = Tensor.fromArray(values, shape);
  t.requiresGrad = true;
  return t;
}

// The FLOP counter the benchmark reads around each update: what it adds for a
// matrix product and for attention, forward and backward, against hand counts;
// and that counting changes no result.

const base = { batch: 1, queryHeads: 1, keyValueHeads: 1, headDim: 8, keyValueBatchStride: 0, scale: 1, softCap: 0, window: 0 };

test('visible attention pairs: causal prefill, decoding with a cache, a window, and no mask', () => {
  assert.equal(visibleAttentionPairs({ ...base, queryLength: 4, keyLength: 4, causal: true }), 1 + 2 + 3 + 4);
  assert.equal(visibleAttentionPairs({ ...base, queryLength: 1, keyLength: 9, causal: true }), 9);
  assert.equal(visibleAttentionPairs({ ...base, queryLength: 4, keyLength: 4, causal: true, window: 2 }), 1 + 2 + 2 + 2);
  assert.equal(visibleAttentionPairs({ ...base, batch: 3, queryLength: 2, keyLength: 5, causal: false }), 3 * 10);
});

test('products and attention are counted forward and backward, and the results are the same as without counting', () => {
  const counter = { flops: 0 };
  const plain = getBackend();
  const counting = { ...createBackend(countingKernels(plain.kernels, counter)), pool: plain.pool };
  const rng = new Random(4);
  const values = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  const x = values(3 * 5);
  const w = values(7 * 5);
  const run = () => {
    const tape = new Tape();
    const input = trainable(x, [3, 5]);
    const weight = trainable(w, [7, 5]);
    const y = linear(tape, input, weight);
    const loss = matmul(tape, y, Tensor.full([7, 1], 1));
    tape.backward(sum(tape, loss));
    const out = [Array.from(y.data), Array.from(input.grad!.data), Array.from(weight.grad!.data)];
    tape.release();
    return out;
  };
  const reference = run();
  const counted = withBackend(counting, run);
  assert.deepEqual(counted, reference);
  // Forward: x·Wᵀ (3·7·5) and y·1 (3·1·7); backward: dX and dW of the first (3·5·7 each), dY of the second (3·7·1).
  assert.equal(counter.flops, 2 * (3 * 7 * 5 + 3 * 1 * 7) + 2 * (2 * 3 * 5 * 7 + 3 * 7 * 1));

  counter.flops = 0;
  withBackend(counting, () => {
    const tape = new Tape();
    const shape = [1, 4, 2, 8];
    const q = trainable(values(64), shape);
    const k = trainable(values(64), shape);
    const v = trainable(values(64), shape);
    const out = attention(tape, q, k, v, { causal: true });
    const forward = counter.flops;
    assert.equal(forward, 4 * 8 * 2 * (1 + 2 + 3 + 4));
    tape.backward(sum(tape, matmul(tape, reshape(tape, out, [1, 64]), Tensor.full([64, 1], 1))));
    tape.release();
  });
  // Then the product with ones (2·64) and its backward (2·64 for the attention output's gradient), and attention backward (8·D·H per pair).
  assert.equal(counter.flops, 4 * 8 * 2 * 10 + 2 * 64 + 2 * 64 + 8 * 8 * 2 * 10);
});
