import { type AdapterSet, type FeatureSpace, featureActivations } from '../adapt/index.js';
import type { CausalLm } from '../model/causalLm.js';
import { ResidualHooks } from '../model/hooks.js';
import { withInferenceTape } from '../model/inference.js';
import { Tensor } from '../tensor/index.js';

// The bundle's feature activations over a reply: one forward pass over prompt +
// reply, with a user's adapter (or none, for the base model), reading the
// residual stream at the bundle's hook point on each reply token. Each
// feature's activation is what the adapters themselves use (featureActivations:
// the projection on a vector feature's unit direction, the SAE latent of an SAE
// feature). The pass stops right after the hook point, as captureRows.ts does.

class StopAfterHookPoint extends Error {}

/** [features][reply tokens]: activation of each feature of `space` on each reply token. */
export function replyActivations(model: CausalLm, space: FeatureSpace, promptIds: readonly number[], replyIds: readonly number[], adapters: AdapterSet | null): number[][] {
  const k = space.ids.length;
  if (replyIds.length === 0) return Array.from({ length: k }, () => []);
  const ids = [...promptIds, ...replyIds];
  const hooks = new ResidualHooks(model.spec.layers);
  // The adapter's own residual-site edits first, so the capture sees the stream as the adapted model has it.
  if (adapters !== null) adapters.residualHooks(hooks);
  const d = model.spec.hiddenSize;
  let stream: Float32Array | null = null;
  hooks.on(space.hookPoint, (hidden) => {
    const data = hidden.isContiguous ? hidden.data : Float32Array.from(hidden.toArray());
    stream = Float32Array.from(data.subarray((ids.length - replyIds.length) * d, ids.length * d));
    throw new StopAfterHookPoint();
  });
  return withInferenceTape((tape) => {
    try {
      model.forward(tape, Int32Array.from(ids), 1, ids.length, { hooks, logits: 'none', ...(adapters === null ? {} : { linearHook: adapters.forwardOptions().linearHook }) });
    } catch (error) {
      if (!(error instanceof StopAfterHookPoint)) throw error;
    }
    if (stream === null) throw new RangeError(`the forward pass never reached the bundle's hook point ${space.hookPoint}`);
    const n = replyIds.length;
    const f = featureActivations(tape, Tensor.fromArray(stream, [n, d]), space.encoders, space.directions).data;
    return Array.from({ length: k }, (_, j) => Array.from({ length: n }, (_, t) => f[t * k + j]));
  });
}
