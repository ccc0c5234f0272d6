import type { Tape, Tensor } from '../tensor/index.js';

// Hooks on the residual stream. Every block has two hook points: `blocks.N.pre`
// (the stream entering block N) and `blocks.N.post` (the stream leaving it).
// A hook sees the stream as a [batch, seq, hidden] tensor and may
//   - read it (return nothing),
//   - replace it, typically by adding to it (return the new tensor): steering
//     vectors, representation edits and feature adapters are built this way,
//   - capture it into a dataset (see ActivationCapture).
// Hooks run on the forward's tape, so whatever they add is differentiable.

export type HookPointName = `blocks.${number}.${'pre' | 'post'}`;

export interface HookContext {
  readonly tape: Tape;
  readonly point: HookPointName;
  readonly layer: number;
  readonly batch: number;
  readonly seq: number;
  /** Absolute position of each token, [batch * seq]; negative for left padding. */
  readonly positions: Int32Array;
}

export type ResidualHook = (hidden: Tensor, context: HookContext) => Tensor | void;

export function hookPoint(layer: number, where: 'pre' | 'post'): HookPointName {
  return `blocks.${layer}.${where}`;
}

const pointPattern = /^blocks\.(\d+)\.(pre|post)$/;

/** Parses "blocks.3.post" (also accepts "resid_pre.3"-free spellings only; other names fail). */
export function parseHookPoint(name: string, layers: number): { layer: number; where: 'pre' | 'post' } {
  const match = pointPattern.exec(name);
  if (match === null) throw new RangeError(`hook point "${name}" is not of the form blocks.<layer>.pre or blocks.<layer>.post`);
  const layer = Number(match[1]);
  if (layer >= layers) throw new RangeError(`hook point "${name}" names layer ${layer}, but the model has ${layers} layers (0..${layers - 1})`);
  return { layer, where: match[2] as 'pre' | 'post' };
}

/** A set of hooks to pass to a forward pass. Hooks at one point run in the order they were added. */
export class ResidualHooks {
  private readonly byPoint = new Map<string, ResidualHook[]>();

  constructor(private readonly layers: number) {}

  on(point: string, hook: ResidualHook): () => void {
    parseHookPoint(point, this.layers);
    const list = this.byPoint.get(point) ?? [];
    list.push(hook);
    this.byPoint.set(point, list);
    return () => {
      const index = list.indexOf(hook);
      if (index >= 0) list.splice(index, 1);
    };
  }

  get size(): number {
    let n = 0;
    for (const list of this.byPoint.values()) n += list.length;
    return n;
  }

  /** Runs the hooks registered at `context.point` in order, threading the stream through them. */
  run(hidden: Tensor, context: HookContext): Tensor {
    const list = this.byPoint.get(context.point);
    if (list === undefined) return hidden;
    let current = hidden;
    for (const hook of list) {
      const replaced = hook(current, context);
      if (replaced !== undefined) {
        if (replaced.shape.length !== current.shape.length || replaced.shape.some((d, i) => d !== current.shape[i])) {
          throw new RangeError(`hook at ${context.point} returned shape [${replaced.shape.join(', ')}], expected [${current.shape.join(', ')}]`);
        }
        current = replaced;
      }
    }
    return current;
  }
}
