import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsKernels } from '../src/tensor/backends/js.js';
import { loadNativeKernels } from '../src/tensor/backends/native.js';
import { Random } from '../src/tensor/random.js';

// Random garbage into every native kernel: each call must either succeed or throw a
// JavaScript Error. A crash (segfault, abort) would take this test process down.

const loaded = loadNativeKernels();
const skip = 'error' in loaded ? `native addon unavailable: ${loaded.error}` : false;

const kernelNames = Object.keys(jsKernels).filter((name) => typeof (jsKernels as unknown as Record<string, unknown>)[name] === 'function');

function garbage(rng: Random): unknown {
  const pick = rng.int(16);
  const smallLength = [0, 1, 3, 8, 17, 64][rng.int(6)];
  switch (pick) {
    case 0: case 1: case 2: return new Float32Array(smallLength).map(() => rng.normal());
    case 3: return Int32Array.from({ length: smallLength }, () => rng.int(9) - 2);
    case 4: return new Float64Array(smallLength);
    case 5: return [-1, 0, 1, 2, 3, 7, 16][rng.int(7)];
    case 6: return [NaN, Infinity, 2.5, 1e9, 2 ** 31, -(2 ** 40), 0.5][rng.int(7)];
    case 7: return rng.int(2) === 0;
    case 8: return null;
    case 9: return undefined;
    case 10: return 'text';
    case 11: return { batch: rng.int(3), queryLength: rng.int(5), keyLength: rng.int(5), queryHeads: rng.int(4), keyValueHeads: rng.int(3),
      headDim: rng.int(6), keyValueBatchStride: rng.int(40) - 5, scale: 1, softCap: rng.int(2), causal: true, window: rng.int(3) };
    case 12: return {};
    case 13: return Int32Array.from({ length: rng.int(4) }, () => rng.int(5));
    case 14: return [1, 2, 3];
    default: return new Uint8Array(smallLength);
  }
}

test('native kernels survive random arguments (throw, never crash)', { skip }, () => {
  if ('error' in loaded) return;
  const native = loaded.kernels as unknown as Record<string, (...args: unknown[]) => unknown>;
  const rng = new Random(2024);
  let threw = 0;
  let ran = 0;
  for (let i = 0; i < 6000; i++) {
    const name = kernelNames[i % kernelNames.length];
    const arity = (jsKernels as unknown as Record<string, (...a: unknown[]) => unknown>)[name].length;
    // Mostly the right number of arguments, sometimes too few or too many.
    const count = Math.max(0, arity + (rng.int(10) === 0 ? rng.int(5) - 2 : 0));
    const args = Array.from({ length: count }, () => garbage(rng));
    try {
      native[name](...args);
      ran++;
    } catch (error) {
      assert.ok(error instanceof Error, `${name} threw a non-Error: ${String(error)}`);
      assert.ok(error.message.length > 0, `${name} threw an Error without a message`);
      threw++;
    }
  }
  assert.ok(threw > 0 && threw + ran === 6000);
});
