import type { OrthonormalBasis } from '../../features/bundles/index.js';
import type { HookPointName, ResidualHooks } from '../../model/hooks.js';
import { Tensor, add } from '../../tensor/index.js';
import { type SubspaceFraction, subspaceFraction } from './subspaceFraction.js';

// Reads ∂L/∂h, the gradient of an objective with respect to the residual stream
// h at one hook point, for every forward pass recorded on a gradient tape: the
// hook adds a zero leaf z (h + z = h, so nothing changes) and after backward()
// z.grad = ∂L/∂h. A leaf, because the tape frees intermediate gradients as soon
// as backward has passed them. Inference tapes are left alone.

export class GradientProbe {
  private readonly leaves: Tensor[] = [];

  constructor(readonly point: HookPointName) {}

  attach(hooks: ResidualHooks): void {
    hooks.on(this.point, (hidden, context) => {
      if (!context.tape.recordsGradients) return undefined;
      const z = Tensor.zeros(hidden.shape);
      z.requiresGrad = true;
      this.leaves.push(z);
      return add(context.tape, hidden, z);
    });
  }

  /** All recorded gradients, concatenated as rows [positions, hidden]. */
  gradients(): Float32Array {
    const parts = this.leaves.map((z) => (z.grad === null || z.gradIsStale ? new Float32Array(z.size) : Float32Array.from(z.grad.data)));
    const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  fraction(basis: Pick<OrthonormalBasis, 'u' | 'rank' | 'width'>): SubspaceFraction {
    return subspaceFraction(this.gradients(), basis);
  }

  /** Returns the leaves' buffers to the pool. */
  release(): void {
    for (const z of this.leaves) {
      if (z.grad !== null) z.grad.dispose();
      z.dispose();
    }
    this.leaves.length = 0;
  }
}
