import type { ChatTurn } from '../world/types.js';

// An experience is one interaction, the unit the online learner consumes.
//
// Interactions file (JSONL): one JSON object per line, blank lines ignored.
//
//   {
//     "id":       "optional string, for logs",
//     "user":     "optional string: whose adapter this trains",
//     "prompt":   "the user's request" | [{ "role": "system" | "user" | "assistant", "content": "..." }, ...],
//     "reply":    "the reply the model gave (non-empty)",
//     "reaction": { "kind": "thumbs", "up": true | false }
//               | { "kind": "correction", "text": "what the user said", "correctedReply": "optional: the reply they wanted" }
//               | { "kind": "preference", "text": "a standing preference the user stated" }
//               | { "kind": "none" },
//     "context":  { "memory": ["note", ...], "profile": "User profile: ..." }   (optional; what the assistant
//                 knew about the user at that moment: memory notes and profile),
//     "trust":    0.0 .. 1.0   (optional; overrides the default trust of the reaction kind)
//   }
//
// - A prompt given as turns must end with a user turn (the reply answers it).
// - Unknown fields are refused (a misspelt "contxt" must not silently drop the context).
// - Texts are at most 8000 characters and may not contain control characters
//   other than newline and tab (a stray NUL or escape sequence is a corrupt line).
//
// What each part is used for:
// - context, and the text of a correction or preference, go into the *teacher's*
//   prompt for on-policy context distillation (the student never sees them);
// - thumbs up, or a correction with correctedReply, give an accepted reply for SFT;
// - thumbs up / down and correctedReply give the preference term (DPO or KTO).

export type Reaction =
  | { kind: 'thumbs'; up: boolean }
  | { kind: 'correction'; text: string; correctedReply?: string }
  | { kind: 'preference'; text: string }
  | { kind: 'none' };

export type ReactionKind = Reaction['kind'];
export const REACTION_KINDS: readonly ReactionKind[] = ['thumbs', 'correction', 'preference', 'none'];

export interface ExperienceContext {
  /** Memory notes, one per entry, rendered as the world renders them ("Memory notes:\n- ..."). */
  memory?: string[];
  /** A profile line, rendered as written (e.g. "User profile: prefers direct answers."). */
  profile?: string;
}

export interface Experience {
  id?: string;
  user?: string;
  prompt: string | ChatTurn[];
  reply: string;
  reaction: Reaction;
  context?: ExperienceContext;
  /** Trust in the source, in [0, 1]; overrides the reaction kind's default. */
  trust?: number;
}

/** The prompt as chat turns (a string is one user turn). */
export function promptTurns(experience: Experience): ChatTurn[] {
  return typeof experience.prompt === 'string' ? [{ role: 'user', content: experience.prompt }] : experience.prompt.map((t) => ({ ...t }));
}

/**
 * The teacher's prompt: the student's prompt plus what the student does not
 * see, in the phrasing the world uses for it (so the shipped model reads it as
 * it learned to): profile, memory notes and an earlier correction go into a
 * system turn before the prompt ("Earlier correction from this user: ..."), a
 * stated preference goes in front of the user's last turn, as a user states it
 * in a world dialogue. Null when the teacher would see exactly the student's prompt.
 */
export function teacherPromptTurns(experience: Experience): ChatTurn[] | null {
  const parts: string[] = [];
  const context = experience.context;
  if (context?.profile !== undefined && context.profile.trim() !== '') parts.push(context.profile.trim());
  const notes = (context?.memory ?? []).map((n) => n.trim()).filter((n) => n !== '');
  if (notes.length > 0) parts.push(['Memory notes:', ...notes.map((n) => `- ${n}`)].join('\n'));
  const reaction = experience.reaction;
  if (reaction.kind === 'correction' && reaction.text.trim() !== '') parts.push(`Earlier correction from this user: "${reaction.text.trim()}"`);
  const preference = reaction.kind === 'preference' ? reaction.text.trim() : '';
  if (parts.length === 0 && preference === '') return null;
  const turns = promptTurns(experience);
  if (preference !== '') {
    const last = turns[turns.length - 1];
    turns[turns.length - 1] = { ...last, content: `${preference} ${last.content}` };
  }
  return parts.length === 0 ? turns : [{ role: 'system', content: parts.join('\n') }, ...turns];
}

/** The reply the user accepted, if any: a thumbed-up reply, or the reply a correction asked for. */
export function acceptedReply(experience: Experience): string | null {
  const r = experience.reaction;
  if (r.kind === 'thumbs' && r.up) return experience.reply;
  if (r.kind === 'correction' && r.correctedReply !== undefined) return r.correctedReply;
  return null;
}

/** A short label for logs: the id, else the first words of the prompt. */
export function experienceLabel(experience: Experience): string {
  if (experience.id !== undefined) return experience.id;
  const turns = promptTurns(experience);
  const last = turns[turns.length - 1]?.content ?? '';
  return last.length > 40 ? `${last.slice(0, 37)}...` : last;
}
