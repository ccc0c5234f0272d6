import type { Experience } from '../learn/experience.js';

// What the "structured memory" baseline writes down after an interaction: the
// common approach today (ChatGPT-style memory, mem0, ...) keeps short notes
// about the user and puts the relevant ones back into the prompt. We extract
// them by rule, not with a model, so the baseline is deterministic and its
// notes are exactly the information the learner's teacher sees (experience.ts):
//
// - a correction is the most direct statement of what the user wants, so its
//   text is kept ("Correction: ..."), and the reply they asked for, when given
//   ("Wanted reply: ..."), since that is the concrete example of it;
// - a stated preference is kept as the user said it;
// - thumbs up / down say only "more like this" / "less like this"; the note
//   quotes the start of the reply (about 80 characters) so a later prompt can
//   show the style that was liked or disliked without paying for whole replies;
// - the context's memory notes and profile are what the assistant already knew
//   about the user at that moment, so a memory system would hold them too;
// - a reaction of kind none with no context says nothing about the user.
//
// Notes come in the order the information arrived: the context (known before
// the reply) first, the reaction (given after it) last. Exact repeats (ignoring
// case and runs of whitespace) are kept once.

export type NoteSource = 'correction' | 'preference' | 'thumbs' | 'memory' | 'profile';
export const NOTE_SOURCES: readonly NoteSource[] = ['correction', 'preference', 'thumbs', 'memory', 'profile'];

export interface MemoryNote {
  /** Unique within one memory: "<createdAt>.<ordinal>". */
  id: string;
  text: string;
  source: NoteSource;
  /** The index of the interaction the note came from (its first occurrence). */
  createdAt: number;
}

/** Longest quote of a thumbed reply, in characters (before the "..."). */
export const THUMBS_QUOTE_CHARS = 80;

/** The key two notes are repeats under: lowercase, whitespace runs as one space, trimmed. */
export function noteKey(text: string): string {
  return text.toLowerCase().replace(/\s+/g, ' ').trim();
}

/**
 * The start of `text` on one line: whole if it fits in `max` characters, else
 * cut at the last space within them (a hard cut when one word fills them) and
 * ended with "...".
 */
export function quoteStart(text: string, max = THUMBS_QUOTE_CHARS): string {
  if (!(Number.isSafeInteger(max) && max >= 1)) throw new RangeError(`quoteStart: max must be an integer >= 1, got ${max}`);
  const line = text.replace(/\s+/g, ' ').trim();
  if (line.length <= max) return line;
  const space = line.lastIndexOf(' ', max);
  const cut = space > 0 ? line.slice(0, space) : line.slice(0, max);
  return `${cut.trimEnd()}...`;
}

/** The note texts of one experience with their sources, in arrival order, before dedupe. */
function noteTexts(experience: Experience): { text: string; source: NoteSource }[] {
  const out: { text: string; source: NoteSource }[] = [];
  const push = (text: string | undefined, source: NoteSource) => {
    if (text !== undefined && text.trim() !== '') out.push({ text: text.trim(), source });
  };
  push(experience.context?.profile, 'profile');
  for (const note of experience.context?.memory ?? []) push(note, 'memory');
  const reaction = experience.reaction;
  switch (reaction.kind) {
    case 'correction':
      if (reaction.text.trim() !== '') push(`Correction: ${reaction.text.trim()}`, 'correction');
      if (reaction.correctedReply !== undefined && reaction.correctedReply.trim() !== '') push(`Wanted reply: ${reaction.correctedReply.trim()}`, 'correction');
      break;
    case 'preference':
      push(reaction.text, 'preference');
      break;
    case 'thumbs': {
      const quote = quoteStart(experience.reply);
      if (quote !== '') push(`${reaction.up ? 'Liked' : 'Disliked'} a reply like: "${quote}"`, 'thumbs');
      break;
    }
    case 'none':
      break;
  }
  return out;
}

/**
 * The notes one interaction gives, stamped with its index (`index`, default 0);
 * ids are "<index>.<ordinal>" in arrival order, repeats dropped.
 */
export function extractNotes(experience: Experience, index = 0): MemoryNote[] {
  if (!(Number.isSafeInteger(index) && index >= 0)) throw new RangeError(`extractNotes: index must be an integer >= 0 (the interaction's position), got ${index}`);
  const seen = new Set<string>();
  const notes: MemoryNote[] = [];
  for (const { text, source } of noteTexts(experience)) {
    const key = noteKey(text);
    if (seen.has(key)) continue;
    seen.add(key);
    notes.push({ id: `${index}.${notes.length}`, text, source, createdAt: index });
  }
  return notes;
}
