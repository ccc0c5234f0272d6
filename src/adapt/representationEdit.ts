import { type HookPointName, parseHookPoint } from '../model/hooks.js';
import { Tensor, add, linear, type Tape } from '../tensor/index.js';
import type { FeatureGeometry } from './featureSpace.js';
import { fixedMatrix } from './linearAdapter.js';
import { projectRowsInPlace } from './matrices.js';

// A representation edit in the style of LoReFT (Wu et al. 2024) at the bundle's
// hook point: h <- h + U (M h + b - Uᵀ h).
// Two departures from the paper, both deliberate:
// - U is the bundle's fixed orthonormal basis; LoReFT trains its R (kept
//   orthonormal). Here the subspace is the user's choice, not learned.
// - M is stored as Uᵀ + D and D is what is trained, so the edit is
//   h + U (D h + b) and the zero state (D = 0, b = 0) is exactly the identity.
//   The family of edits is the same (M is free either way).
// Gradient projection keeps D's rows in span(U): the edit then also only *reads*
// the bundle's directions. It writes only along them in any case.

export interface ResidualSiteTensor {
  name: string;
  tensor: Tensor;
  trainable: boolean;
}

export class RepresentationEdit {
  readonly kind = 'reft' as const;
  constructor(
    readonly name: string,
    readonly point: HookPointName,
    /** Basis ids (one per column of U). */
    readonly ids: readonly string[],
    /** U [d, r], fixed. */
    readonly basis: Tensor,
    /** D [r, d], trained from zero. */
    readonly edit: Tensor,
    /** b [r], trained from zero. */
    readonly bias: Tensor,
    readonly projectGradientsOn: boolean,
  ) {
    const [d, r] = basis.shape;
    if (edit.shape[0] !== r || edit.shape[1] !== d || bias.shape[0] !== r) {
      throw new RangeError(`${name}: U [${basis.shape.join(', ')}] needs D [${r}, ${d}] and b [${r}], got D [${edit.shape.join(', ')}] and b [${bias.shape.join(', ')}]`);
    }
    basis.requiresGrad = false;
    for (const [t, role] of [[basis, 'U'], [edit, 'D'], [bias, 'b']] as const) t.name = `${name}.${role}`;
    edit.requiresGrad = true;
    bias.requiresGrad = true;
  }

  tensors(): ResidualSiteTensor[] {
    return [
      { name: 'U', tensor: this.basis, trainable: false },
      { name: 'D', tensor: this.edit, trainable: true },
      { name: 'b', tensor: this.bias, trainable: true },
    ];
  }

  parameters(): Tensor[] {
    return [this.edit, this.bias];
  }

  apply(tape: Tape, hidden: Tensor): Tensor {
    const coordinates = linear(tape, hidden, this.edit, this.bias);
    return add(tape, hidden, linear(tape, coordinates, this.basis));
  }

  /** Per basis direction j: ‖(D_j, b_j)‖, the size of the edit along it. */
  perFeature(): Map<string, number> {
    const d = this.edit.shape[1];
    const D = this.edit.toArray();
    const b = this.bias.toArray();
    return new Map(this.ids.map((id, j) => {
      let s = b[j] * b[j];
      for (let i = 0; i < d; i++) s += D[j * d + i] ** 2;
      return [id, Math.sqrt(s)];
    }));
  }

  projectGradients(): void {
    if (this.projectGradientsOn && this.edit.grad !== null) this.project(this.edit.grad);
  }

  projectParameters(): void {
    if (this.projectGradientsOn) this.project(this.edit);
  }

  private project(t: Tensor): void {
    const [r, d] = this.edit.shape;
    projectRowsInPlace(t.data, r, d, this.basis.toArray(), r);
  }
}

export function createRepresentationEdit(space: FeatureGeometry, layers: number, name: string, projectGradients: boolean): RepresentationEdit {
  parseHookPoint(space.hookPoint, layers);
  const { width: d, rank: r, u } = space.basis;
  return new RepresentationEdit(name, space.hookPoint, space.basis.keptIds, fixedMatrix(u, d, r), Tensor.zeros([r, d]), Tensor.zeros([r]), projectGradients);
}
