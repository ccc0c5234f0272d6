import type { FastifyInstance } from 'fastify';
import { adapterDrift, updatePoints } from '../adapterDrift.js';
import type { ServeContext } from '../context.js';
import { NoQuery } from '../schemas.js';

// GET /v1/adapter/features: the caller's adapter along the bundle's features,
// per version (drift), and the learner's numbers per trained update (the
// learning curve), for the web UI's charts. Only the caller's store is read.

export function registerAdapterFeatureRoutes(app: FastifyInstance, ctx: ServeContext): void {
  app.get('/v1/adapter/features', { schema: { querystring: NoQuery } }, async (request) => {
    const { userId, userName } = request.caller;
    const store = ctx.registry.store(userId, userName);
    const space = ctx.featureSpace;
    return {
      object: 'adapter.features', user: userName, model: ctx.modelId, bundle: ctx.bundleName, hook_point: space.hookPoint, current_version: store.current(),
      features: space.ids.map((id) => ({ id, label: ctx.featureLabels[id] ?? id, in_basis: space.basis.keptIds.includes(id) })),
      versions: adapterDrift(store, ctx.loaded.model),
      updates: updatePoints(store),
      notes: {
        versions: 'by_feature: per feature, the norm of what the adapted layers write along its basis direction (root sum of squares over layers), recorded by the learner for each update',
        updates: "per trained update: the gate's weight and the loss terms of the one experience the step trained on, measured by the learner at that step (training-time numbers, not a held-out evaluation)",
      },
    };
  });
}
