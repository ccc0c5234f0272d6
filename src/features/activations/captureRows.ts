import { ActivationCapture } from '../../model/activationCapture.js';
import { padBatch } from '../../model/batch.js';
import type { CausalLm } from '../../model/causalLm.js';
import { ResidualHooks, parseHookPoint } from '../../model/hooks.js';
import { withInferenceTape } from '../../model/inference.js';

// One forward pass over a left-padded batch, returning the residual stream at the
// chosen points, one row per real token: sequence 0's tokens first, then
// sequence 1's, each in position order (padding skipped). The pass stops right
// after the deepest requested point, so capturing layer 3 of a 24-layer model
// costs four blocks, not twenty-four.

class StopAfterDeepestPoint extends Error {}

/** Position of a hook point in forward order: blocks.L.pre, blocks.L.post, blocks.L+1.pre, ... */
function forwardOrder(point: string, layers: number): number {
  const { layer, where } = parseHookPoint(point, layers);
  return 2 * layer + (where === 'post' ? 1 : 0);
}

/** Validates hook point names against the model; returns them without duplicates, in the order given. */
export function checkPoints(points: readonly string[], layers: number): string[] {
  if (points.length === 0) throw new RangeError('activation capture: name at least one hook point (e.g. "blocks.3.post")');
  for (const p of points) parseHookPoint(p, layers);
  return [...new Set(points)];
}

export function captureResidualRows(model: CausalLm, sequences: readonly (readonly number[])[], points: readonly string[]): Map<string, Float32Array> {
  const layers = model.spec.layers;
  const hooks = new ResidualHooks(layers);
  const capture = new ActivationCapture(points);
  capture.install(hooks);
  const deepest = points.reduce((a, b) => (forwardOrder(b, layers) > forwardOrder(a, layers) ? b : a));
  // Registered after the capture hook, so the deepest point is captured before the stop.
  if (forwardOrder(deepest, layers) < 2 * layers - 1) hooks.on(deepest, () => { throw new StopAfterDeepestPoint(); });
  // Any id works for padding: keyStart hides pad tokens from attention.
  const padded = padBatch(sequences, 0);
  try {
    withInferenceTape((tape) => model.forward(tape, padded.ids, padded.batch, padded.seq, { keyStart: padded.keyStart, hooks, logits: 'none' }));
  } catch (error) {
    if (!(error instanceof StopAfterDeepestPoint)) throw error;
  }
  return new Map(points.map((p) => [p, capture.collect(p)]));
}
