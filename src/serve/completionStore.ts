import type { ChatTurn } from '../world/types.js';
import { type Db, nowIso } from './db.js';
import { enqueue } from './learnQueue.js';
import { contextOf, experienceFor } from './profile.js';
import { cleanText } from './cleanText.js';
import { MAX_TEXT } from './schemas.js';

// Completions as stored: the messages as the client sent them (nothing is
// dropped for what it says) and the reply as generated, owned by one user.
// Every read takes the caller's user id, so a completion id of another user is
// "not found", exactly like one that never existed.

export interface StoredCompletion {
  id: string;
  userId: number;
  created: string;
  model: string;
  adapterVersion: number | null;
  messages: ChatTurn[];
  reply: string;
  finishReason: string;
  promptTokens: number;
  completionTokens: number;
  experienced: boolean;
}

interface Row {
  id: string; user_id: number; created_at: string; model: string; adapter_version: number | null; messages_json: string; reply: string;
  finish_reason: string; prompt_tokens: number; completion_tokens: number; experienced: number;
}

const fromRow = (r: Row): StoredCompletion => ({
  id: r.id, userId: r.user_id, created: r.created_at, model: r.model, adapterVersion: r.adapter_version, messages: JSON.parse(r.messages_json) as ChatTurn[],
  reply: r.reply, finishReason: r.finish_reason, promptTokens: r.prompt_tokens, completionTokens: r.completion_tokens, experienced: r.experienced === 1,
});

/** The caller's completion `id`, or null (also when it is another user's). */
export function ownCompletion(db: Db, userId: number, id: string): StoredCompletion | null {
  const row = db.prepare('SELECT * FROM completions WHERE id = ? AND user_id = ?').get(id, userId) as Row | undefined;
  return row === undefined ? null : fromRow(row);
}

/** The prompt turns as the model and the learner read them (cleanText.ts). */
export function modelTurns(messages: readonly ChatTurn[]): ChatTurn[] {
  return messages.map((m) => ({ role: m.role, content: cleanText(m.content).slice(0, MAX_TEXT) }));
}

/**
 * Stores a new completion and, in the same transaction, gives the user's
 * previous completion that got no feedback its experience with reaction
 * "none" (a new message is the user moving on, as in `imprint chat`).
 * Returns the id of the job queued for it, if any.
 */
export function storeCompletion(db: Db, userName: string, c: Omit<StoredCompletion, 'created' | 'experienced'>): number | null {
  return db.transaction(() => {
    let job: number | null = null;
    const previous = db.prepare('SELECT * FROM completions WHERE user_id = ? AND experienced = 0 ORDER BY rowid DESC LIMIT 1').get(c.userId) as Row | undefined;
    if (previous !== undefined) {
      const p = fromRow(previous);
      const experience = experienceFor(`${p.id}:none`, userName, modelTurns(p.messages), p.reply, { kind: 'none' }, contextOf(db, c.userId));
      job = enqueue(db, { userId: c.userId, completionId: p.id, feedbackId: null, experience });
      db.prepare('UPDATE completions SET experienced = 1 WHERE id = ?').run(p.id);
    }
    db.prepare(
      `INSERT INTO completions (id, user_id, created_at, model, adapter_version, messages_json, reply, finish_reason, prompt_tokens, completion_tokens)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(c.id, c.userId, nowIso(), c.model, c.adapterVersion, JSON.stringify(c.messages), c.reply, c.finishReason, c.promptTokens, c.completionTokens);
    return job;
  }).immediate();
}
