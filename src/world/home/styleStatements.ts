import type { HomeStyle } from '../types.js';
import { homeAxes } from '../types.js';

// How people state a style in words: in a profile, in memory notes, in a
// correction of a reply, or as an explicit preference. One small table per
// form, keyed by axis and by the value the user WANTS. Contexts, feedback turns
// and simulated users all draw from these tables, so a statement always means
// the same thing wherever it appears.

export type HomeAxis = keyof HomeStyle;
export type AxisValue<A extends HomeAxis> = HomeStyle[A];
type PhraseTable = { [A in HomeAxis]: Record<HomeStyle[A], readonly string[]> };

/** Noun phrases completing "User profile: prefers ...". */
export const profilePhrases: PhraseTable = {
  directness: { direct: ['direct answers', 'answers that get straight to the point'], hedging: ['hedged, tentative answers', 'careful answers that think out loud'] },
  formality: { casual: ['a casual tone', 'relaxed, casual language'], formal: ['a formal tone', 'polite, formal language'] },
  warmth: { warm: ['warm replies', 'a warm, caring manner'], neutral: ['neutral, matter-of-fact replies', 'a matter-of-fact manner without emotional remarks'] },
  detail: { brief: ['brief responses', 'short, one-line replies'], detailed: ['detailed responses', 'detailed replies with reasons'] },
};

/** Bullet lines under "Memory notes:". */
export const memoryNotes: PhraseTable = {
  directness: { direct: ['Wants the answer first, with no preamble.', 'Likes direct answers.'], hedging: ['Likes me to think out loud and hedge.', 'Prefers careful, tentative answers.'] },
  formality: { casual: ['Talks casually and likes a casual tone back.', 'Prefers casual chat.'], formal: ['Prefers formal, polite language.', 'Likes a formal tone.'] },
  warmth: { warm: ['Appreciates warm, caring replies.', 'Likes warmth and empathy.'], neutral: ['Prefers matter-of-fact replies without emotional remarks.', 'Wants neutral, matter-of-fact answers.'] },
  detail: { brief: ['Wants brief replies.', 'Likes short answers.'], detailed: ['Likes detailed explanations with reasons.', 'Wants detailed answers.'] },
};

/** A user complaining about a reply, asking for the other value of an axis. */
export const corrections: PhraseTable = {
  directness: {
    direct: ['Please stop hedging and get to the point.', 'Just give me the answer first, no preamble.'],
    hedging: ['You sound too sure; tell me when you are unsure.', 'Slow down and think it through out loud first.'],
  },
  formality: {
    casual: ['No need to be so stiff, talk to me casually.', 'Drop the formal tone and keep it casual.'],
    formal: ['That was too casual; please use a formal tone.', 'Please be more polite and formal with me.'],
  },
  warmth: {
    warm: ['That felt a bit cold; please be warmer with me.', 'A little warmth and kindness would be nice.'],
    neutral: ['Skip the emotional remarks and stick to the facts.', 'No sympathy needed, stay matter-of-fact.'],
  },
  detail: {
    brief: ['That was too long; keep it to one line.', 'Too much text, please keep it short.'],
    detailed: ['That was too short; explain with reasons.', 'I need more detail, please give me the reasons.'],
  },
};

/** A user stating a standing preference. */
export const preferences: PhraseTable = {
  directness: { direct: ['From now on, get straight to the point.'], hedging: ['From now on, tell me how sure you are and think out loud.'] },
  formality: { casual: ['From now on, talk to me casually.'], formal: ['From now on, please use a formal tone.'] },
  warmth: { warm: ['From now on, please be warm and kind with me.'], neutral: ['From now on, keep it matter-of-fact, no emotional remarks.'] },
  detail: { brief: ['Please keep it short from now on.'], detailed: ['From now on, give me detailed answers with reasons.'] },
};

export const homeAxisNames = Object.keys(homeAxes) as HomeAxis[];

/** The other value of a binary axis. */
export function oppositeValue<A extends HomeAxis>(axis: A, value: HomeStyle[A]): HomeStyle[A] {
  const [first, second] = homeAxes[axis];
  return (value === first ? second : first) as HomeStyle[A];
}

const tables = [profilePhrases, memoryNotes, corrections, preferences];

/**
 * The axis values stated by a text built from these tables (a context, a
 * correction, a preference), found by exact phrase lookup. Text from anywhere
 * else is not understood and gives {}.
 */
export function statedStyle(text: string): Partial<HomeStyle> {
  const found: Partial<Record<HomeAxis, string>> = {};
  for (const table of tables) {
    for (const axis of homeAxisNames) {
      for (const [value, phrases] of Object.entries(table[axis]) as [string, readonly string[]][]) {
        if (phrases.some((p) => text.includes(p))) found[axis] = value;
      }
    }
  }
  return found as Partial<HomeStyle>;
}
