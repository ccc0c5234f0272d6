// Argument checks shared by the JS reference kernels. Every check runs before a
// kernel touches memory and throws a KernelArgumentError whose message names the
// kernel, the argument, what was expected and what was given.

export class KernelArgumentError extends Error {
  readonly kernel: string;
  readonly argument: string;
  constructor(kernel: string, argument: string, detail: string) {
    super(`${kernel}: ${detail}`);
    this.name = 'KernelArgumentError';
    this.kernel = kernel;
    this.argument = argument;
  }
}

export const MAX_NDIM = 8;

export function fail(kernel: string, argument: string, detail: string): never {
  throw new KernelArgumentError(kernel, argument, detail);
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (x === undefined) return 'undefined';
  if (typeof x === 'object') {
    const ctor = (x as { constructor?: { name?: string } }).constructor;
    return ctor?.name ?? 'object';
  }
  return typeof x;
}

export function checkFloatArray(kernel: string, name: string, x: unknown): void {
  if (!(x instanceof Float32Array) && !(x instanceof Float64Array)) {
    fail(kernel, name, `${name} must be a Float32Array or Float64Array, got ${describe(x)}`);
  }
}

export function checkOptionalFloatArray(kernel: string, name: string, x: unknown): void {
  if (x !== null) checkFloatArray(kernel, name, x);
}

export function checkInt32Array(kernel: string, name: string, x: unknown): void {
  if (!(x instanceof Int32Array)) fail(kernel, name, `${name} must be an Int32Array, got ${describe(x)}`);
}

/** A size/count/leading dimension: a non-negative safe integer. */
export function checkSize(kernel: string, name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    fail(kernel, name, `${name} must be a non-negative integer, got ${String(value)}`);
  }
}

export function checkInteger(kernel: string, name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    fail(kernel, name, `${name} must be an integer, got ${String(value)}`);
  }
}

export function checkFinite(kernel: string, name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    fail(kernel, name, `${name} must be a finite number, got ${String(value)}`);
  }
}

export function checkNonNegativeFinite(kernel: string, name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    fail(kernel, name, `${name} must be a finite number >= 0, got ${String(value)}`);
  }
}

export function checkBoolean(kernel: string, name: string, value: unknown): void {
  if (typeof value !== 'boolean') fail(kernel, name, `${name} must be a boolean, got ${describe(value)}`);
}

/** Product of sizes, failing if it is not a safe integer. */
export function checkedProduct(kernel: string, what: string, ...factors: number[]): number {
  let p = 1;
  for (const f of factors) p *= f;
  if (!Number.isSafeInteger(p)) fail(kernel, what, `${what} = ${factors.join(' * ')} is too large`);
  return p;
}

/** x.length >= needed; `because` describes where `needed` comes from. */
export function checkMinLength(kernel: string, name: string, x: { length: number }, needed: number, because: string): void {
  if (x.length < needed) {
    fail(kernel, name, `${name} has ${x.length} elements but ${because} needs at least ${needed}`);
  }
}

/** x.length === expected (for kernels whose sizes are implied by another array). */
export function checkSameLength(kernel: string, name: string, x: { length: number }, refName: string, expected: number): void {
  if (x.length !== expected) {
    fail(kernel, name, `${name} has ${x.length} elements but must have the same length as ${refName} (${expected})`);
  }
}

/**
 * Every idx[i] for i < count lies in [0, limit), or equals ignoreIndex when given.
 * Reports the first bad position and its value.
 */
export function checkIndices(
  kernel: string, name: string, idx: Int32Array, count: number, limit: number, limitName: string,
  ignoreIndex?: number,
): void {
  for (let i = 0; i < count; i++) {
    const v = idx[i]!;
    if ((v < 0 || v >= limit) && v !== ignoreIndex) {
      const ignore = ignoreIndex === undefined ? '' : ` and is not ignoreIndex=${ignoreIndex}`;
      fail(kernel, name, `${name}[${i}] = ${v} is outside [0, ${limitName}=${limit})${ignore}`);
    }
  }
}

/** shape: Int32Array of at most MAX_NDIM non-negative entries. Returns the element count. */
export function checkShape(kernel: string, name: string, shape: Int32Array): number {
  checkInt32Array(kernel, name, shape);
  if (shape.length > MAX_NDIM) fail(kernel, name, `${name} has ${shape.length} dimensions but at most ${MAX_NDIM} are supported`);
  let n = 1;
  for (let d = 0; d < shape.length; d++) {
    const s = shape[d]!;
    if (s < 0) fail(kernel, name, `${name}[${d}] = ${s} is negative`);
    n *= s;
  }
  if (!Number.isSafeInteger(n)) fail(kernel, name, `${name} [${Array.from(shape).join(', ')}] has too many elements`);
  return n;
}

export function checkStrides(kernel: string, name: string, strides: Int32Array, shapeName: string, shape: Int32Array): void {
  checkInt32Array(kernel, name, strides);
  if (strides.length !== shape.length) {
    fail(kernel, name, `${name} has ${strides.length} entries but ${shapeName} has ${shape.length} dimensions`);
  }
}

/**
 * Every index offset + idx·strides (idx ranging over shape) lies in [0, x.length).
 * Strides may be negative or zero. Nothing is accessed when shape has a zero extent.
 */
export function checkStridedAccess(
  kernel: string, name: string, x: { length: number }, offset: number, offsetName: string,
  strides: Int32Array, stridesName: string, shape: Int32Array,
): void {
  for (let d = 0; d < shape.length; d++) if (shape[d] === 0) return;
  let lo = offset;
  let hi = offset;
  for (let d = 0; d < shape.length; d++) {
    const reach = strides[d]! * (shape[d]! - 1);
    if (reach < 0) lo += reach; else hi += reach;
  }
  if (lo < 0 || hi >= x.length) {
    const where = `${offsetName}=${offset}, ${stridesName}=[${Array.from(strides).join(',')}], shape=[${Array.from(shape).join(',')}]`;
    const bad = lo < 0 ? `reaches index ${lo}` : `reaches index ${hi}`;
    fail(kernel, name, `${name} has ${x.length} elements but ${where} ${bad}`);
  }
}
