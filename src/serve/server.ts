import { mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { AdapterKind } from '../adapt/index.js';
import { type LearnerOptions, worldChatEncoding } from '../learn/index.js';
import { loadModel } from '../model/load.js';
import { AdapterRegistry } from './adapterRegistry.js';
import { ApiError, errorBody } from './apiError.js';
import type { ServeContext, ServeLimits } from './context.js';
import { DB_FILE, type Db, openDatabase } from './db.js';
import { resume } from './learnQueue.js';
import { LearnerHost } from './learnerHost.js';
import type { WorkerEvent } from './learnerWorker.js';
import { RateLimiter, type RateLimit } from './rateLimiter.js';
import { registerAdapterRoutes } from './routes/adapter.js';
import { registerChatRoutes } from './routes/chat.js';
import { registerFeedbackRoutes } from './routes/feedback.js';
import { registerModelRoutes } from './routes/models.js';
import { registerAdapterFeatureRoutes } from './routes/adapterFeatures.js';
import { registerCompletionFeatureRoutes } from './routes/completionFeatures.js';
import { registerUiRoutes } from './routes/ui.js';
import { adapterRecipe, releaseLocksOfEndedThread, resolveBundle } from './userAdapter.js';
import { authenticate } from './users.js';
import { loadBundle } from '../features/bundles/index.js';

// The server: one process, two threads. The HTTP thread (Fastify) authenticates
// every request by its API key, rate-limits it per key, validates it against
// its route's schema, and answers it; chat replies come from the one loaded base
// model with the caller's adapter. The learner's worker thread (learnerWorker.ts)
// learns from the durable queue in the same SQLite database. Startup puts jobs
// a crash interrupted back in the queue before the worker starts.

export interface ServeOptions {
  dataDir: string;
  modelDir: string;
  /** A bundle name in MODEL/bundles, or a .bundle.json path. */
  bundle: string;
  host: string;
  /** 0: any free port (the bound one is in RunningServer.port). */
  port: number;
  /** A new user's adapter: its kind (default write) and rank (default 4; none for read, reft, gain). */
  kind?: AdapterKind;
  rank?: number;
  seed: number;
  /** false: serve without learning (feedback is still stored and queued). */
  learn: boolean;
  quality: boolean;
  learner: LearnerOptions;
  rateLimit: RateLimit;
  limits: ServeLimits;
  /** Called with each line worth logging (worker events, startup). */
  log?: (line: string) => void;
}

export interface RunningServer {
  app: FastifyInstance;
  port: number;
  url: string;
  db: Db;
  learner: LearnerHost | null;
  close(): Promise<void>;
}

export const DEFAULT_LIMITS: ServeLimits = { maxTokensLimit: 256, defaultMaxTokens: 64, defaultTemperature: 0.7, bodyLimit: 1 << 20 };
export const DEFAULT_RATE_LIMIT: RateLimit = { perMinute: 60, burst: 20 };

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const log = options.log ?? (() => {});
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const loaded = loadModel(options.modelDir);
  if (loaded.tokenizer === null) throw new RangeError(`imprint serve: ${options.modelDir} has no tokenizer.json, so text cannot be encoded`);
  const bundlePath = resolveBundle(loaded.dir, options.bundle);
  const recipe = adapterRecipe(loaded.model, bundlePath, { kind: options.kind, rank: options.rank }, options.seed);
  const dbPath = join(dataDir, DB_FILE);
  const db = openDatabase(dbPath);
  const resumed = resume(db);
  if (resumed.requeued + resumed.failed > 0) log(`resumed the learning queue: ${resumed.requeued} interrupted job(s) back to pending, ${resumed.failed} failed after repeated interruptions`);

  let learner: LearnerHost | null = null;
  if (options.learn) {
    learner = new LearnerHost({
      dataDir, dbPath, modelDir: loaded.dir, bundlePath, kind: options.kind, rank: options.rank, seed: options.seed, quality: options.quality, learner: options.learner, cachedUsers: 32,
    }, (event: WorkerEvent) => {
      if (event.type === 'job') log(`learn: job ${event.jobId} (user ${event.userId}) ${event.state}${event.trained ? `, trained, version ${event.version}` : ''}${event.reason === undefined ? '' : `: ${event.reason}`}`);
      else if (event.type === 'fatal') log(`learn: ${event.message}`);
    }, (endedThreadId) => {
      const again = resume(db);
      const locks = releaseLocksOfEndedThread(dataDir, endedThreadId);
      log(`restarting the learner: ${again.requeued} interrupted job(s) back to pending, ${again.failed} failed after repeated interruptions${locks.length > 0 ? `; removed the adapter-store lock(s) it held: ${locks.join(', ')}` : ''}`);
    });
    await learner.ready;
  }

  const ctx: ServeContext = {
    db, dataDir, modelId: basename(loaded.dir), bundleName: recipe.space.name, featureSpace: recipe.space,
    featureLabels: Object.fromEntries(loadBundle(bundlePath).bundle.features.map((f) => [f.id, f.label])), loaded, tokenizer: loaded.tokenizer, encoding: worldChatEncoding(loaded.tokenizer),
    registry: new AdapterRegistry(dataDir, loaded.model, recipe), learner, limits: options.limits, startedAt: Math.floor(Date.now() / 1000),
  };
  const app = buildApp(ctx, new RateLimiter(options.rateLimit));
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  let closing: Promise<void> | null = null;
  return {
    app, port, url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`, db, learner,
    close: () => {
      closing ??= (async () => {
        await app.close();
        await learner?.stop();
        db.close();
      })();
      return closing;
    },
  };
}

/** The Fastify app with its hooks and routes (no listening). */
export function buildApp(ctx: ServeContext, limiter: RateLimiter): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: ctx.limits.bodyLimit,
    // Fastify's defaults strip unknown fields and coerce types; a request is checked as sent instead.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
  });
  app.decorateRequest('caller', null as never);

  // Before the body is even read: who is calling, and are they within their rate.
  app.addHook('onRequest', async (request, reply) => {
    // The web UI's page and assets are the same for everyone and hold no data; the page then calls the API with a key.
    if (request.routeOptions.config?.publicAsset === true) return;
    const header = request.headers.authorization;
    if (header === undefined) throw new ApiError(401, 'authentication_error', 'no API key: send the header "Authorization: Bearer KEY" (imprint users add NAME makes a key)', null, 'missing_api_key');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const caller = match === null ? null : authenticate(ctx.db, match[1]);
    if (caller === null) throw new ApiError(401, 'authentication_error', 'the API key is not valid (unknown, malformed or revoked)', null, 'invalid_api_key');
    const allowed = limiter.take(caller.keyId);
    if (!allowed.ok) {
      throw new ApiError(429, 'rate_limit_error', `too many requests for this API key; try again in ${allowed.retryAfterS} s`, null, 'rate_limit_exceeded', { 'retry-after': String(allowed.retryAfterS) });
    }
    request.caller = caller;
    void reply;
  });

  app.setErrorHandler((error: FastifyError | ApiError, _request, reply) => {
    if (error instanceof ApiError) {
      return reply.code(error.status).headers(error.headers).send(errorBody(error.type, error.message, error.param, error.code));
    }
    if (error.validation !== undefined) {
      const first = error.validation[0];
      const path = first.instancePath.split('/').filter((p) => p !== '');
      const missing = (first.params as { missingProperty?: string }).missingProperty;
      const extra = (first.params as { additionalProperty?: string }).additionalProperty;
      const allowedValues = (first.params as { allowedValues?: unknown[] }).allowedValues;
      if (missing !== undefined) path.push(missing);
      if (extra !== undefined) path.push(extra);
      const param = path.join('.');
      const where = error.validationContext === 'querystring' ? 'query parameter' : error.validationContext === 'params' ? 'path parameter' : 'field';
      const what = missing !== undefined ? 'is required'
        : extra !== undefined ? 'is not a known field here'
          : allowedValues !== undefined ? `must be one of ${allowedValues.map((v) => JSON.stringify(v)).join(', ')}`
            : first.message ?? 'is not valid';
      return reply.code(400).send(errorBody('invalid_request_error', param === '' ? `the request ${error.validationContext ?? 'body'} ${what}` : `${where} "${param}" ${what}`, param === '' ? null : param, 'invalid_request'));
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const message = error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? `the request body is larger than the limit of ${ctx.limits.bodyLimit} bytes` : error.message;
      return reply.code(status).send(errorBody('invalid_request_error', message, null, error.code ?? null));
    }
    process.stderr.write(`imprint serve: ${error.stack ?? error.message}\n`);
    return reply.code(500).send(errorBody('server_error', `the server failed: ${error.message}`));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(errorBody('not_found_error', `no route ${request.method} ${request.url.split('?')[0].slice(0, 200)}; see GET /v1/models, POST /v1/chat/completions, POST /v1/feedback, GET /v1/adapter`, null, 'not_found'));
  });

  registerModelRoutes(app, ctx);
  registerChatRoutes(app, ctx);
  registerFeedbackRoutes(app, ctx);
  registerAdapterRoutes(app, ctx);
  registerAdapterFeatureRoutes(app, ctx);
  registerCompletionFeatureRoutes(app, ctx);
  registerUiRoutes(app);
  return app;
}
