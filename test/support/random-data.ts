import { Random } from '../../src/tensor/random.js';

// Seeded test data shared by the kernel tests.

/** A function returning seeded uniforms in [0, 1). */
export function makeRng(seed: number): () => number {
  const rng = new Random(seed);
  return () => rng.uniform();
}

export function uniform64(rand: () => number, n: number, lo = -1, hi = 1): Float64Array {
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = lo + (hi - lo) * rand();
  return x;
}

export function uniform32(rand: () => number, n: number, lo = -1, hi = 1): Float32Array {
  return Float32Array.from(uniform64(rand, n, lo, hi));
}
