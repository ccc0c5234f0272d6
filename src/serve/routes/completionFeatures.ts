import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { notFound } from '../apiError.js';
import { modelTurns, ownCompletion } from '../completionStore.js';
import type { ServeContext } from '../context.js';
import { replyActivations } from '../replyActivations.js';
import { CompletionParams } from '../schemas.js';
import { loadVersion } from '../userAdapter.js';

// GET /v1/chat/completions/:id/features[?version=N]: the bundle's feature
// activations on each token of one of the caller's replies, with the caller's
// adapter at the version that produced the reply (or version N of their
// adapter), beside the base model's. Another user's completion id, or a
// version the caller's store does not have, is not found. The reply is
// re-encoded from its stored text, so on rare tokenisations the tokens can
// differ from the ones sampled.

export const CompletionFeaturesQuery = Type.Object({ version: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$' })) }, { additionalProperties: false });

const mean = (values: readonly number[]) => (values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length);

export function registerCompletionFeatureRoutes(app: FastifyInstance, ctx: ServeContext): void {
  app.get<{ Params: { id: string }; Querystring: { version?: string } }>('/v1/chat/completions/:id/features', {
    schema: { params: CompletionParams, querystring: CompletionFeaturesQuery },
  }, async (request) => {
    const { userId, userName } = request.caller;
    const c = ownCompletion(ctx.db, userId, request.params.id);
    if (c === null) throw notFound(`no completion "${request.params.id.slice(0, 100)}" for this API key`, 'id');
    const store = ctx.registry.store(userId, userName);
    const versions = store.versions();
    const asked = request.query.version === undefined ? null : Number(request.query.version);
    const version = asked ?? c.adapterVersion ?? store.current()!;
    if (!versions.includes(version)) {
      throw notFound(`your adapter has no version ${version}${asked === null ? ' (the version this reply came from; it is no longer stored)' : ''}; its versions are ${versions.join(', ')}`, asked === null ? 'id' : 'version');
    }
    const current = ctx.registry.current(userId, userName);
    const adapters = current.version === version ? current.adapters : loadVersion(store, version, ctx.loaded.model);
    const promptIds = ctx.encoding.prompt(modelTurns(c.messages));
    // The reply without its end-of-turn token, cut to what fits the model's context.
    const room = Math.max(0, ctx.loaded.model.spec.maxPositions - promptIds.length);
    const replyIds = ctx.encoding.reply(c.reply).slice(0, -1).slice(0, room);
    const space = ctx.featureSpace;
    const adapted = replyActivations(ctx.loaded.model, space, promptIds, replyIds, adapters);
    const base = replyActivations(ctx.loaded.model, space, promptIds, replyIds, null);
    return {
      object: 'chat.completion.features', completion_id: c.id, adapter_version: version, reply_version: c.adapterVersion, bundle: ctx.bundleName, hook_point: space.hookPoint,
      tokens: replyIds.map((id) => ctx.tokenizer.decode([id])),
      features: space.ids.map((id, j) => ({
        id, label: ctx.featureLabels[id] ?? id, mean: mean(adapted[j]), base_mean: mean(base[j]), activations: adapted[j], base_activations: base[j],
      })),
    };
  });
}
