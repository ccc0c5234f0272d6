import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { AdapterExportError, PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE, toGgufLora, toPeft, writePeft } from '../../adapt/index.js';
import { writeGguf } from '../../io/gguf/writer.js';
import { ApiError, notFound } from '../apiError.js';
import type { ServeContext } from '../context.js';
import { jobCounts, recentJobs } from '../learnQueue.js';
import { tarFiles } from '../tar.js';
import { AdapterQuery, ExportQuery, NoQuery, ResetRequest, RollbackRequest } from '../schemas.js';
import { initialVersion, loadVersion } from '../userAdapter.js';

// The caller's adapter, and only the caller's: no route takes a user, the key
// decides whose store is read or changed.
//   GET  /v1/adapter                  versions (with each update's metrics), the current one, the learning queue
//   POST /v1/adapter/rollback         {"version": N}: makes a copy of version N current (a new version)
//   POST /v1/adapter/reset            {}: rolls back to the untrained first version
//   GET  /v1/adapter/export?format=peft|gguf[&version=N]
//                                     a PEFT LoRA directory as a tar archive, or a llama.cpp GGUF LoRA file
// A rollback or reset while the learner is mid-step is safe: the learner's
// commit requires the version it started from, fails, and learns from that job
// again on the new current version.

export function registerAdapterRoutes(app: FastifyInstance, ctx: ServeContext): void {
  const versionOf = (store: ReturnType<ServeContext['registry']['store']>, raw: string | number | undefined, param: string): number => {
    if (raw === undefined) return store.current()!;
    const version = Number(raw);
    if (!store.versions().includes(version)) throw notFound(`your adapter has no version ${version}; its versions are ${store.versions().join(', ')}`, param);
    return version;
  };

  app.get<{ Querystring: { jobs?: string } }>('/v1/adapter', { schema: { querystring: AdapterQuery } }, async (request) => {
    const { userId, userName } = request.caller;
    const store = ctx.registry.store(userId, userName);
    // The queue first, in one read transaction (a WAL snapshot) so its counts and job list agree; then
    // the versions, with one read of HEAD for both the flag and current_version. A job is marked done
    // after its version is committed, so an empty queue here means every trained job's version is listed.
    const queued = ctx.db.transaction(() => ({
      queue: jobCounts(ctx.db, userId),
      jobs: recentJobs(ctx.db, userId, request.query.jobs === undefined ? 20 : Number(request.query.jobs)),
    }))();
    const listed = store.list();
    const current = listed.find((v) => v.current)?.version ?? null;
    return {
      object: 'adapter', user: userName, model: ctx.modelId, bundle: ctx.bundleName, current_version: current, initial_version: initialVersion(store),
      versions: listed.map((v) => ({
        version: v.version, current: v.current,
        ...(v.record === undefined ? { problem: v.problem } : { parent: v.record.parent, rollback_of: v.record.rollbackOf, created: v.record.created, metrics: v.record.metrics }),
      })),
      ...queued,
    };
  });

  app.post<{ Body: { version: number } }>('/v1/adapter/rollback', { schema: { body: RollbackRequest, querystring: NoQuery } }, async (request) => {
    const { userId, userName } = request.caller;
    const store = ctx.registry.store(userId, userName);
    const target = versionOf(store, request.body.version, 'version');
    const record = store.rollback(target, { metrics: { source: 'imprint serve', user: userName, reason: 'rollback', to: target } });
    return { object: 'adapter.rollback', current_version: record.version, rollback_of: target };
  });

  app.post('/v1/adapter/reset', { schema: { body: ResetRequest, querystring: NoQuery } }, async (request) => {
    const { userId, userName } = request.caller;
    const store = ctx.registry.store(userId, userName);
    const target = initialVersion(store);
    const record = store.rollback(target, { metrics: { source: 'imprint serve', user: userName, reason: 'reset', to: target } });
    return { object: 'adapter.rollback', current_version: record.version, rollback_of: target };
  });

  app.get<{ Querystring: { format: 'peft' | 'gguf'; version?: string } }>('/v1/adapter/export', { schema: { querystring: ExportQuery } }, async (request, reply) => {
    const { userId, userName } = request.caller;
    const store = ctx.registry.store(userId, userName);
    const version = versionOf(store, request.query.version, 'version');
    const set = loadVersion(store, version, ctx.loaded.model);
    const tmpRoot = join(ctx.dataDir, 'tmp');
    mkdirSync(tmpRoot, { recursive: true });
    const tmp = mkdtempSync(join(tmpRoot, 'export-'));
    const name = `${userName}-v${version}`;
    try {
      if (request.query.format === 'peft') {
        const adapter = toPeft(set, { baseModel: ctx.modelId });
        writePeft(tmp, adapter);
        const files = [PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE].map((f) => ({ name: `${name}/${f}`, bytes: readFileSync(join(tmp, f)) }));
        reply.header('content-type', 'application/x-tar').header('content-disposition', `attachment; filename="${name}-peft.tar"`);
        return reply.send(tarFiles(files));
      }
      const adapter = toGgufLora(set, { name: `imprint adapter ${name}` });
      const path = join(tmp, 'adapter.gguf');
      writeGguf(path, adapter.metadata, adapter.tensors);
      reply.header('content-type', 'application/octet-stream').header('content-disposition', `attachment; filename="${name}.gguf"`);
      return reply.send(readFileSync(path));
    } catch (error) {
      if (error instanceof AdapterExportError) throw new ApiError(422, 'invalid_request_error', `version ${version} cannot be exported as ${request.query.format}: ${error.message}`, 'format');
      throw error;
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
}
