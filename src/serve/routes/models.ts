import type { FastifyInstance } from 'fastify';
import type { ServeContext } from '../context.js';
import { NoQuery } from '../schemas.js';

// GET /v1/models: the one model this server serves, as OpenAI lists models.
// (Each user's adapter is applied to it; it is not a separate model id.)

export function registerModelRoutes(app: FastifyInstance, ctx: ServeContext): void {
  app.get('/v1/models', { schema: { querystring: NoQuery } }, async () => ({
    object: 'list',
    data: [{ id: ctx.modelId, object: 'model', created: ctx.startedAt, owned_by: 'imprint', imprint: { bundle: ctx.bundleName } }],
  }));
}
