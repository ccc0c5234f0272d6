import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Reaction } from '../../learn/index.js';
import { badRequest, notFound } from '../apiError.js';
import { modelTurns, ownCompletion } from '../completionStore.js';
import type { ServeContext } from '../context.js';
import { nowIso } from '../db.js';
import { enqueue } from '../learnQueue.js';
import { addPreference, contextOf, experienceFor } from '../profile.js';
import { cleanText } from '../cleanText.js';
import { type FeedbackBody, FeedbackRequest, MAX_TEXT, NoQuery } from '../schemas.js';

// POST /v1/feedback: a reaction to one of the caller's completions.
//   { "completion_id": "chatcmpl-...", "reaction": "up" | "down" }
//   { "completion_id": ..., "reaction": "correction", "text": "what was wrong", "corrected_reply": "optional: the reply wanted" }
//   { "completion_id": ..., "reaction": "preference", "text": "a standing preference" }
// The feedback, the preference (kept in the profile: the teacher's context from
// now on) and the learning job are written in one transaction; the 202 answer
// comes after it committed, so acknowledged feedback is on disk. The learner
// takes it up in the background, and the job's state says what it did
// (GET /v1/adapter, GET /v1/chat/completions/:id).

export function registerFeedbackRoutes(app: FastifyInstance, ctx: ServeContext): void {
  app.post<{ Body: FeedbackBody }>('/v1/feedback', { schema: { body: FeedbackRequest, querystring: NoQuery } }, async (request, reply) => {
    const body = request.body;
    const { userId, userName } = request.caller;
    const needsText = body.reaction === 'correction' || body.reaction === 'preference';
    if (needsText && (body.text === undefined || body.text.trim() === '')) throw badRequest(`reaction "${body.reaction}" needs "text": ${body.reaction === 'correction' ? 'what was wrong with the reply' : 'the preference, e.g. "Please keep answers short."'}`, 'text');
    if (!needsText && body.text !== undefined) throw badRequest(`"text" does not apply to reaction "${body.reaction}" (only to correction and preference)`, 'text');
    if (body.corrected_reply !== undefined && body.reaction !== 'correction') throw badRequest(`"corrected_reply" only applies to reaction "correction", not "${body.reaction}"`, 'corrected_reply');
    if (body.corrected_reply !== undefined && body.corrected_reply.trim() === '') throw badRequest('"corrected_reply" is empty; leave it out, or give the reply you wanted', 'corrected_reply');
    const completion = ownCompletion(ctx.db, userId, body.completion_id);
    if (completion === null) throw notFound(`no completion "${body.completion_id.slice(0, 100)}" for this API key`, 'completion_id');

    const forModel = (s: string) => cleanText(s).slice(0, MAX_TEXT).trim() || '...';
    const reaction: Reaction = body.reaction === 'up' || body.reaction === 'down' ? { kind: 'thumbs', up: body.reaction === 'up' }
      : body.reaction === 'preference' ? { kind: 'preference', text: forModel(body.text!) }
        : { kind: 'correction', text: forModel(body.text!), ...(body.corrected_reply === undefined ? {} : { correctedReply: forModel(body.corrected_reply) }) };
    const id = `fb-${randomBytes(12).toString('base64url')}`;
    const created = nowIso();
    const jobId = ctx.db.transaction(() => {
      ctx.db.prepare('INSERT INTO feedback (id, user_id, completion_id, created_at, reaction, text, corrected_reply) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(id, userId, completion.id, created, body.reaction, body.text ?? null, body.corrected_reply ?? null);
      if (body.reaction === 'preference') addPreference(ctx.db, userId, body.text!);
      const experience = experienceFor(id, userName, modelTurns(completion.messages), completion.reply, reaction, contextOf(ctx.db, userId));
      ctx.db.prepare('UPDATE completions SET experienced = 1 WHERE id = ?').run(completion.id);
      return enqueue(ctx.db, { userId, completionId: completion.id, feedbackId: id, experience });
    }).immediate();
    ctx.learner?.wake();
    reply.code(202);
    return { id, object: 'feedback', created, completion_id: completion.id, reaction: body.reaction, job: { id: jobId, state: 'pending' } };
  });
}
