import type { FloatArray } from './backends/kernels.js';
import { getBackend } from './backend.js';
import { NonFiniteError, ShapeError, formatShape } from './errors.js';
import type { StorageHandle } from './pool.js';
import { Tensor } from './tensor.js';

// Reverse-mode autodiff over coarse ops. Every op in ops/ allocates its outputs
// through the tape (so the tape owns their buffers) and, when gradients are being
// recorded, pushes one node whose backward closure sits next to its forward code.
// `release()` hands every buffer the tape owns back to the pool: that is what keeps
// a training loop's memory flat. Tensors you want to outlive the tape: `keep()`.

export interface TapeOptions {
  /** Record gradients (default true). false = inference: ops still allocate through the tape. */
  grad?: boolean;
  /** Check every op output and every gradient for NaN/Inf (slower; for debugging). */
  checkFinite?: boolean;
}

export interface GradientSink {
  readonly array: FloatArray;
  /** true: add into array; false: overwrite it. */
  readonly accumulate: boolean;
}

interface TapeNode {
  readonly op: string;
  readonly output: Tensor;
  readonly inputs: readonly Tensor[];
  readonly backward: (gradOut: Tensor) => void;
}

export class Tape {
  readonly recordsGradients: boolean;
  readonly checkFinite: boolean;
  private nodes: TapeNode[] = [];
  private owned: StorageHandle[] = [];
  private produced = new Set<Tensor>();
  private grads = new Map<Tensor, Tensor>();
  // The gradient being propagated by the node now running backward, and whether an
  // input has taken its buffer over (see passGradient).
  private currentGradOut: Tensor | null = null;
  private currentGradOutAdopted = false;

  constructor(options: TapeOptions = {}) {
    this.recordsGradients = options.grad ?? true;
    this.checkFinite = options.checkFinite ?? false;
  }

  /** True when an op over these inputs must record a backward node. */
  tracks(...inputs: readonly Tensor[]): boolean {
    if (!this.recordsGradients) return false;
    for (const t of inputs) if (t.requiresGrad) return true;
    return false;
  }

  /** A fresh output buffer owned by this tape. */
  allocate(shape: readonly number[]): Tensor {
    const t = Tensor.empty(shape);
    this.owned.push(t.storage);
    this.produced.add(t);
    return t;
  }

  /** Registers a view (sharing another tensor's storage) as produced by this tape. */
  adoptView(view: Tensor): Tensor {
    this.produced.add(view);
    return view;
  }

  /**
   * Records an op. `backward` receives the gradient of the output and writes into
   * the inputs' gradients through `gradientSink`.
   */
  record(op: string, output: Tensor, inputs: readonly Tensor[], backward: (gradOut: Tensor) => void): Tensor {
    if (this.checkFinite) this.assertFinite(op, 'output', output);
    if (!this.tracks(...inputs)) return output;
    output.requiresGrad = true;
    this.nodes.push({ op, output, inputs, backward });
    return output;
  }

  /**
   * Where to write the gradient for `t`, or null if `t` needs none. For a leaf
   * (a parameter) this is its persistent `.grad`; for an intermediate, a buffer the
   * tape owns. The first write overwrites, later writes accumulate.
   */
  gradientSink(t: Tensor): GradientSink | null {
    if (!t.requiresGrad) return null;
    if (this.produced.has(t)) {
      const existing = this.grads.get(t);
      if (existing !== undefined) return { array: existing.data, accumulate: true };
      const grad = this.allocate(t.shape);
      this.grads.set(t, grad);
      return { array: grad.data, accumulate: false };
    }
    if (t.grad === null) {
      t.grad = Tensor.empty(t.shape);
      t.gradIsStale = false;
      return { array: t.grad.data, accumulate: false };
    }
    const accumulate = !t.gradIsStale;
    t.gradIsStale = false;
    return { array: t.grad.data, accumulate };
  }

  /**
   * Adds `grad` (same number of elements as `t`) into t's gradient. When `grad` is
   * the gradient of the node now running backward and `t` has no gradient yet, t
   * takes the buffer over instead of copying it: identity-like backward passes
   * (reshape, residual adds) then cost nothing.
   */
  passGradient(t: Tensor, grad: Tensor): void {
    if (!t.requiresGrad) return;
    if (grad === this.currentGradOut && !this.currentGradOutAdopted && this.produced.has(t) && !this.grads.has(t)) {
      this.grads.set(t, new Tensor(grad.storage, [...t.shape]));
      this.currentGradOutAdopted = true;
      return;
    }
    const sink = this.gradientSink(t)!;
    getBackend().kernels.scaleInto(grad.data, 1, sink.array, sink.accumulate);
  }

  /**
   * A leaf's .grad. Intermediate gradients are handed back to the pool as backward()
   * consumes them, so for an op output this is null once backward() has passed it.
   */
  gradOf(t: Tensor): Tensor | null {
    return this.grads.get(t) ?? (this.produced.has(t) ? null : t.grad);
  }

  backward(loss: Tensor, seed = 1): void {
    if (!this.recordsGradients) throw new Error('Tape.backward: this tape was created with { grad: false }');
    if (loss.size !== 1) throw new ShapeError('Tape.backward', `the loss must be a single element, got shape ${formatShape(loss.shape)}`);
    if (!loss.requiresGrad) throw new Error('Tape.backward: the loss does not depend on any tensor that requires a gradient');
    const lossGrad = this.allocate(loss.shape);
    lossGrad.data.fill(seed);
    this.grads.set(loss, lossGrad);
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const node = this.nodes[i];
      const gradOut = this.grads.get(node.output);
      if (gradOut === undefined) continue;
      this.currentGradOut = gradOut;
      this.currentGradOutAdopted = false;
      node.backward(gradOut);
      if (this.checkFinite) {
        for (const input of node.inputs) {
          const g = this.gradOf(input);
          if (g !== null) this.assertFinite(`${node.op} (backward)`, 'gradient of input', g);
        }
      }
      // The output's gradient is fully consumed: let the pool reuse it right away
      // (unless an input adopted the buffer as its own gradient).
      this.grads.delete(node.output);
      if (!this.currentGradOutAdopted) this.releaseOwned(gradOut.storage);
    }
    this.currentGradOut = null;
    this.nodes = [];
  }

  /** Keeps a tensor (and anything viewing the same storage) alive past release(). */
  keep(t: Tensor): Tensor {
    const index = this.owned.indexOf(t.storage);
    if (index >= 0) this.owned.splice(index, 1);
    this.produced.delete(t);
    t.requiresGrad = false;
    return t;
  }

  /** Returns every owned buffer to its pool and forgets the graph. */
  release(): void {
    for (const handle of this.owned) handle.pool.release(handle);
    this.owned = [];
    this.nodes = [];
    this.produced = new Set();
    this.grads = new Map();
  }

  private releaseOwned(handle: StorageHandle): void {
    const index = this.owned.lastIndexOf(handle);
    if (index < 0) return;
    this.owned[index] = this.owned[this.owned.length - 1];
    this.owned.pop();
    handle.pool.release(handle);
  }

  private assertFinite(op: string, what: string, t: Tensor): void {
    const data = t.isContiguous ? t.data : Float32Array.from(t.toArray());
    const index = getBackend().kernels.findNonFinite(data);
    if (index >= 0) throw new NonFiniteError(op, what, t.shape, index, data[index]);
  }
}
