import type { Kernels } from './backends/kernels.js';
import { jsKernels } from './backends/js.js';
import { loadNativeKernels } from './backends/native.js';
import { BufferPool, type Precision } from './pool.js';

// The chosen backend is the one piece of global state in the tensor layer: which
// kernels run and which pool buffers come from. It is picked once, lazily: the
// native addon when it built, otherwise the pure-TypeScript kernels with a warning.
// IMPRINT_BACKEND=js|native forces a choice.

export interface Backend {
  readonly kernels: Kernels;
  readonly precision: Precision;
  readonly pool: BufferPool;
}

let current: Backend | null = null;

export function createBackend(kernels: Kernels, precision: Precision = 'float32'): Backend {
  if (kernels.name === 'native' && precision !== 'float32') {
    throw new Error(`createBackend: the native backend computes in float32 only, got precision '${precision}'`);
  }
  return { kernels, precision, pool: new BufferPool(precision) };
}

/** The pure-TypeScript reference backend; float64 is for gradient checks. */
export function createReferenceBackend(precision: Precision = 'float32'): Backend {
  return createBackend(jsKernels, precision);
}

export function selectDefaultBackend(): Backend {
  const forced = process.env.IMPRINT_BACKEND;
  if (forced !== undefined && forced !== '' && forced !== 'js' && forced !== 'native') {
    throw new Error(`IMPRINT_BACKEND must be 'js' or 'native', got '${forced}'`);
  }
  if (forced === 'js') return createReferenceBackend();
  const native = loadNativeKernels();
  if ('kernels' in native) return createBackend(native.kernels);
  if (forced === 'native') throw new Error(`IMPRINT_BACKEND=native but the native addon is unavailable: ${native.error}`);
  process.emitWarning(
    `imprint: the native addon is unavailable (${native.error}); using the pure-TypeScript backend, which is much slower. ` +
    'Run `npm run build:native` to see why the build failed.',
    { code: 'IMPRINT_NO_NATIVE' },
  );
  return createReferenceBackend();
}

export function getBackend(): Backend {
  if (current === null) current = selectDefaultBackend();
  return current;
}

export function setBackend(backend: Backend): void {
  current = backend;
}

/** Runs fn with another backend, restoring the previous one afterwards (also on throw). */
export function withBackend<T>(backend: Backend, fn: () => T): T {
  const previous = current;
  current = backend;
  try {
    return fn();
  } finally {
    current = previous;
  }
}
