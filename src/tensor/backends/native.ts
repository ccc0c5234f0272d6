// Loader for the native compute addon (native/build/Release/imprint_native.node).
// The returned kernels object exposes the addon's functions directly (no JS wrapper
// per call); `threads` and `gemmImplementation` are live getters.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kernels } from './kernels.js';

export interface NativeKernels extends Kernels {
  setThreads(n: number): void;
  setGemmImplementation(kind: 'blas' | 'bundled'): void;
  readonly hasBlas: boolean;
}

type KernelMethods = Omit<Kernels, 'name' | 'threads' | 'gemmImplementation'>;

interface NativeAddon extends KernelMethods {
  setThreads(n: number): void;
  getThreads(): number;
  setGemmImplementation(kind: 'blas' | 'bundled'): void;
  getGemmImplementation(): string;
  readonly hasBlas: boolean;
}

const KERNEL_METHODS: readonly (keyof KernelMethods)[] = [
  'gemm', 'fill', 'scaleInto', 'broadcastBinary', 'copyStrided', 'sumAxis', 'sumAll', 'sumSquares', 'findNonFinite',
  'gelu', 'geluBackward', 'silu', 'siluBackward', 'gated', 'gatedBackward',
  'layerNorm', 'layerNormBackward', 'rmsNorm', 'rmsNormBackward', 'rope', 'attention', 'attentionBackward',
  'softmax', 'softmaxBackward', 'logSoftmax', 'logSoftmaxBackward',
  'crossEntropy', 'crossEntropyBackward', 'klDivergence', 'klDivergenceBackward',
  'topK', 'topKBackward', 'embedding', 'embeddingBackward', 'adamW', 'sgd',
];

/** The package root: the nearest folder above this module that holds package.json. */
function packageRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'native'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** The addon's path (IMPRINT_NATIVE_ADDON overrides it), or null when the package root cannot be found. */
export function nativeAddonPath(): string | null {
  const override = process.env.IMPRINT_NATIVE_ADDON;
  if (override !== undefined && override !== '') return override;
  const root = packageRoot();
  return root === null ? null : join(root, 'native', 'build', 'Release', 'imprint_native.node');
}

let cached: { kernels: NativeKernels } | { error: string } | null = null;

export function loadNativeKernels(): { kernels: NativeKernels } | { error: string } {
  if (process.env.IMPRINT_BACKEND === 'js') return { error: 'disabled by IMPRINT_BACKEND=js' };
  if (cached !== null) return cached;
  cached = load();
  return cached;
}

function load(): { kernels: NativeKernels } | { error: string } {
  const path = nativeAddonPath();
  if (path === null) return { error: 'cannot locate the imprint package root (package.json with a native/ folder)' };
  if (!existsSync(path)) return { error: `the native addon is not built (${path} is missing)` };
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (err) {
    return { error: `failed to load ${path}: ${err instanceof Error ? err.message : String(err)}` };
  }
  for (const name of [...KERNEL_METHODS, 'setThreads', 'getThreads', 'setGemmImplementation', 'getGemmImplementation'] as const) {
    if (typeof addon[name] !== 'function') return { error: `${path} does not export ${name}(); rebuild it with \`npm run build:native\`` };
  }
  const kernels = {
    name: 'native' as const,
    get threads(): number { return addon.getThreads(); },
    get gemmImplementation(): string { return addon.getGemmImplementation(); },
    hasBlas: addon.hasBlas === true,
    setThreads: addon.setThreads,
    setGemmImplementation: addon.setGemmImplementation,
  } as Record<string, unknown>;
  for (const name of KERNEL_METHODS) kernels[name] = addon[name];
  return { kernels: Object.freeze(kernels) as unknown as NativeKernels };
}
