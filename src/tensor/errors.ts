// Errors raised by the tensor layer. Each names the op, the shapes involved and,
// where it applies, the first bad index, so that a failure deep inside a training
// loop can be traced back to its input without a debugger.

export class ShapeError extends Error {
  constructor(op: string, detail: string) {
    super(`${op}: ${detail}`);
    this.name = 'ShapeError';
  }
}

export class NonFiniteError extends Error {
  constructor(readonly op: string, readonly what: string, readonly shape: readonly number[], readonly index: number, readonly value: number) {
    super(`${op}: ${what} ${formatShape(shape)} has a non-finite value (${value}) at flat index ${index}${describeIndex(shape, index)}`);
    this.name = 'NonFiniteError';
  }
}

export class ReleasedTensorError extends Error {
  constructor(detail: string) {
    super(`${detail}: the tensor's buffer was returned to the pool when its tape was released; call tape.keep(tensor) before release to keep it`);
    this.name = 'ReleasedTensorError';
  }
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function describeIndex(shape: readonly number[], flat: number): string {
  if (shape.length < 2) return '';
  const position: number[] = [];
  let rest = flat;
  for (let d = shape.length - 1; d >= 0; d--) {
    position.unshift(rest % shape[d]);
    rest = Math.floor(rest / shape[d]);
  }
  return ` (position ${formatShape(position)})`;
}
