import { getBackend } from '../tensor/backend.js';
import { Random } from '../tensor/random.js';
import { median, timeRepeated } from './stats.js';

// GEMM throughput on the shapes the issue names (M x N x K): a square 1024^3 and the
// 256x3072x768 shape of a transformer MLP projection.

export const benchmarkGemmShapes: ReadonlyArray<[number, number, number]> = [[1024, 1024, 1024], [256, 3072, 768]];

export function gemmGflops(shapes = benchmarkGemmShapes, repeats = 30): Record<string, number> {
  const k = getBackend().kernels;
  const rng = new Random(1);
  const result: Record<string, number> = {};
  for (const [M, N, K] of shapes) {
    const A = new Float32Array(M * K);
    const B = new Float32Array(K * N);
    const C = new Float32Array(M * N);
    rng.fillUniform(A, -1, 1);
    rng.fillUniform(B, -1, 1);
    const times = timeRepeated(() => k.gemm(false, false, M, N, K, 1, A, K, 0, B, N, 0, 0, C, N, 0, 1), 3, repeats);
    result[`${M}x${N}x${K}`] = round((2 * M * N * K) / (median(times) / 1000) / 1e9, 1);
  }
  return result;
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
