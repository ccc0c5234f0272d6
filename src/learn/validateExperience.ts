import type { ChatTurn } from '../world/types.js';
import { type Experience, type ExperienceContext, type Reaction, REACTION_KINDS } from './experience.js';

// Checks one decoded JSON value against the experience schema (experience.ts)
// and builds a fresh, typed Experience from it. Never throws: a bad value gives
// the first problem, naming the field, what was expected and what was found.

export interface ExperienceLimits {
  /** Longest text field, in characters (default 8000). */
  maxTextLength?: number;
  /** Most prompt turns (default 64). */
  maxTurns?: number;
  /** Most memory notes (default 64). */
  maxNotes?: number;
}

export type ExperienceCheck = { ok: true; experience: Experience } | { ok: false; reason: string };

const TOP_FIELDS = ['id', 'user', 'prompt', 'reply', 'reaction', 'context', 'trust'];
const ROLES = ['system', 'user', 'assistant'];
// C0 controls except tab, newline and carriage return, DEL, and C1 controls.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;

class Invalid extends Error {}

/** A value, shortly, for an error message ("the string \"abc\"", "a list of 3", "number 4"). */
export function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 30 ? `${value.slice(0, 27)}...` : value)}`;
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

export function checkExperience(value: unknown, limits: ExperienceLimits = {}): ExperienceCheck {
  const maxText = limits.maxTextLength ?? 8000;
  const maxTurns = limits.maxTurns ?? 64;
  const maxNotes = limits.maxNotes ?? 64;
  const fail = (where: string, detail: string): never => { throw new Invalid(`${where} ${detail}`); };
  const object = (v: unknown, where: string, fields: readonly string[]): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, `must be an object, got ${shown(v)}`);
    const o = v as Record<string, unknown>;
    for (const key of Object.keys(o)) {
      if (!fields.includes(key)) fail(where, `has unknown field ${JSON.stringify(key.slice(0, 40))} (expected ${fields.join(', ')})`);
    }
    return o;
  };
  const text = (v: unknown, where: string, options: { empty?: boolean; max?: number } = {}): string => {
    if (typeof v !== 'string') fail(where, `must be a string, got ${shown(v)}`);
    const s = v as string;
    if (options.empty !== true && s.trim() === '') fail(where, 'must not be empty');
    const max = options.max ?? maxText;
    if (s.length > max) fail(where, `is ${s.length} characters long, over the limit of ${max}`);
    const control = CONTROL.exec(s);
    if (control !== null) fail(where, `contains the control character U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} at character ${control.index}`);
    return s;
  };

  try {
    const o = object(value, 'the line', TOP_FIELDS);
    const experience: Partial<Experience> = {};
    if (o.id !== undefined) experience.id = text(o.id, 'id', { max: 200 });
    if (o.user !== undefined) experience.user = text(o.user, 'user', { max: 200 });

    if (o.prompt === undefined) fail('prompt', 'is missing (a string, or a list of { role, content } turns ending with a user turn)');
    if (typeof o.prompt === 'string') {
      experience.prompt = text(o.prompt, 'prompt');
    } else if (Array.isArray(o.prompt)) {
      const turns = o.prompt as unknown[];
      if (turns.length === 0) fail('prompt', 'is an empty list of turns');
      if (turns.length > maxTurns) fail('prompt', `has ${turns.length} turns, over the limit of ${maxTurns}`);
      experience.prompt = turns.map((t, i): ChatTurn => {
        const turn = object(t, `prompt[${i}]`, ['role', 'content']);
        if (!ROLES.includes(turn.role as string)) fail(`prompt[${i}].role`, `must be one of ${ROLES.join(', ')}, got ${shown(turn.role)}`);
        return { role: turn.role as ChatTurn['role'], content: text(turn.content, `prompt[${i}].content`) };
      });
      const last = experience.prompt[experience.prompt.length - 1];
      if (last.role !== 'user') fail('prompt', `must end with a user turn (the reply answers it), but its last turn is ${last.role}`);
    } else {
      fail('prompt', `must be a string or a list of turns, got ${shown(o.prompt)}`);
    }

    if (o.reply === undefined) fail('reply', 'is missing (the reply the model gave)');
    experience.reply = text(o.reply, 'reply');

    if (o.reaction === undefined) fail('reaction', `is missing (use { "kind": "none" } for no reaction)`);
    const r = object(o.reaction, 'reaction', ['kind', 'up', 'text', 'correctedReply']);
    const kind = r.kind;
    if (!REACTION_KINDS.includes(kind as Reaction['kind'])) fail('reaction.kind', `must be one of ${REACTION_KINDS.join(', ')}, got ${shown(kind)}`);
    const only = (fields: string[]) => {
      for (const key of Object.keys(r)) if (key !== 'kind' && !fields.includes(key)) fail('reaction', `of kind "${String(kind)}" has no field "${key}"${fields.length > 0 ? ` (it has ${fields.join(', ')})` : ''}`);
    };
    switch (kind) {
      case 'thumbs':
        only(['up']);
        if (typeof r.up !== 'boolean') fail('reaction.up', `must be true or false, got ${shown(r.up)}`);
        experience.reaction = { kind, up: r.up as boolean };
        break;
      case 'correction': {
        only(['text', 'correctedReply']);
        const reaction: Reaction = { kind, text: text(r.text, 'reaction.text') };
        if (r.correctedReply !== undefined) reaction.correctedReply = text(r.correctedReply, 'reaction.correctedReply');
        experience.reaction = reaction;
        break;
      }
      case 'preference':
        only(['text']);
        experience.reaction = { kind, text: text(r.text, 'reaction.text') };
        break;
      default:
        only([]);
        experience.reaction = { kind: 'none' };
    }

    if (o.context !== undefined) {
      const c = object(o.context, 'context', ['memory', 'profile']);
      const context: ExperienceContext = {};
      if (c.memory !== undefined) {
        if (!Array.isArray(c.memory)) fail('context.memory', `must be a list of notes (strings), got ${shown(c.memory)}`);
        const notes = c.memory as unknown[];
        if (notes.length > maxNotes) fail('context.memory', `has ${notes.length} notes, over the limit of ${maxNotes}`);
        context.memory = notes.map((n, i) => text(n, `context.memory[${i}]`));
      }
      if (c.profile !== undefined) context.profile = text(c.profile, 'context.profile');
      experience.context = context;
    }

    if (o.trust !== undefined) {
      if (typeof o.trust !== 'number' || !(o.trust >= 0 && o.trust <= 1)) fail('trust', `must be a number in [0, 1], got ${shown(o.trust)}`);
      experience.trust = o.trust as number;
    }
    return { ok: true, experience: experience as Experience };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, reason: error.message };
    throw error;
  }
}
