import { steeringHook } from '../../model/activationCapture.js';
import { ResidualHooks } from '../../model/hooks.js';
import type { ModelSpec } from '../../model/spec.js';
import { type Bundle, checkBundleFitsModel } from '../bundles/bundle.js';
import type { SaeDirectionResolver } from '../bundles/directions.js';
import type { SteerSpec } from './steerSpec.js';
import { steeringVectorFor } from './steeringVector.js';

// Steering a model with a bundle: one hook at the bundle's hook point adds
// sum(scale x unit direction) to the residual stream at every position. The
// returned hooks go to forward passes and to generateText(..., { hooks }).

export interface SteeringHookOptions {
  saeResolver?: SaeDirectionResolver;
  /** Add to these hooks (e.g. to steer with several bundles at once) instead of new ones. */
  hooks?: ResidualHooks;
}

export function steeringHooksFor(
  model: { spec: ModelSpec }, bundle: Bundle, vectors: ReadonlyMap<string, Float32Array>, specs: readonly SteerSpec[],
  options: SteeringHookOptions = {},
): ResidualHooks {
  checkBundleFitsModel(bundle, model.spec);
  for (const spec of specs) {
    if (spec.bundle !== bundle.name) {
      throw new RangeError(`steering spec for bundle "${spec.bundle}" (feature "${spec.feature}") was given to bundle "${bundle.name}"; pass each bundle only its own specs`);
    }
  }
  const hooks = options.hooks ?? new ResidualHooks(model.spec.layers);
  if (specs.length === 0) return hooks;
  const vector = steeringVectorFor(bundle, vectors, specs, options.saeResolver);
  hooks.on(bundle.hookPoint, steeringHook(vector, 1));
  return hooks;
}
