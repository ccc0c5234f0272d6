import type { Experience, ExperienceContext, Reaction } from '../learn/index.js';
import type { ChatTurn } from '../world/types.js';
import { type Db, nowIso } from './db.js';
import { MAX_TEXT } from './schemas.js';
import { cleanText } from './cleanText.js';

// A user's profile: the preferences they stated (and memory notes), kept in the
// database and given to the learner as the teacher's context, as `imprint chat`
// does with profile.json. Each experience carries the context as it was when it
// was made, so a later preference does not rewrite what an earlier step saw.

/** Most notes (newest) given to the teacher. */
const CONTEXT_NOTES = 32;

export function addPreference(db: Db, userId: number, text: string): void {
  db.prepare("INSERT INTO profile_notes (user_id, kind, text, created_at) VALUES (?, 'preference', ?, ?)").run(userId, text, nowIso());
}

export function contextOf(db: Db, userId: number): ExperienceContext | undefined {
  const rows = db.prepare('SELECT text FROM profile_notes WHERE user_id = ? ORDER BY id DESC LIMIT ?').all(userId, CONTEXT_NOTES) as { text: string }[];
  const memory = rows.reverse().map((r) => cleanText(r.text).slice(0, MAX_TEXT)).filter((t) => t.trim() !== '');
  return memory.length === 0 ? undefined : { memory };
}

/** The experience of one reaction to a stored completion. */
export function experienceFor(id: string, userName: string, turns: ChatTurn[], reply: string, reaction: Reaction, context: ExperienceContext | undefined): Experience {
  const shown = cleanText(reply).slice(0, MAX_TEXT).trim();
  return {
    id, user: userName, prompt: turns, reply: shown === '' ? '...' : shown, reaction, ...(context === undefined ? {} : { context }),
  };
}
