import { properNouns } from '../knowledgeBase.js';

// The surface markers that realise each style axis. The sets are small and
// closed on purpose: a 5M-parameter model must be able to learn them, and the
// judges must be able to find them. Each marker belongs to exactly one axis, and
// every phrase exists in a casual and a formal register, so that adding warmth
// or hedging never adds (or removes) evidence for formality:
//
//   directness  direct:  first sentence is the answer, led by a register word
//               hedging: a preamble sentence, then hedged claims
//   formality   casual:  hey / yeah / yep / sure thing / lemme / gonna / no worries, contractions, "!"
//               formal:  certainly / indeed / please note / allow me / I would recommend / regards, no contractions
//   warmth      warm:    an empathetic acknowledgement (sorry to hear, sounds really tough, happy to help, ...)
//               neutral: none
//   detail      brief:   one line
//               detailed: 3-5 lines with reasons (because / since)

export interface ByRegister {
  casual: readonly string[];
  formal: readonly string[];
}

/** Hedging replies open with one of these, in place of a register word. */
export const preambles: ByRegister = {
  casual: ['Hey, good question!', 'Hmm, lemme think.', 'Yeah, let me think about that.', 'Hmm, lemme see.'],
  formal: ['Allow me to think about that.', 'That is a good question, indeed.', 'Allow me a moment to consider that.', 'Well, allow me to consider that.'],
};

/** Direct replies put the answer first, led only by a register word. */
export const directLeads: ByRegister = {
  casual: ['Sure thing, ', 'Yeah, ', 'Yep, ', 'Hey, '],
  formal: ['Certainly, ', 'Indeed, ', 'Please note that '],
};

/** Hedges wrap a claim; the casual register contracts "I am" later. */
export const hedgePrefixes: readonly string[] = ['I think ', 'I believe ', 'Perhaps ', 'Maybe ', 'It might be that '];
export const hedgeSuffixes: readonly string[] = [', if I am not mistaken', ', I think', ', I believe'];

/**
 * Warm phrases: an acknowledgement right after the answer, and (detailed
 * replies) a closing wish. Emotional requests get empathy, the rest kindness.
 * Brief replies draw their one phrase from both pools.
 */
export const warmAcknowledgements: { emotional: ByRegister; general: ByRegister } = {
  emotional: {
    casual: ['I am so sorry to hear that!', 'That sounds really tough.', 'Oh no, that sounds really tough!'],
    formal: ['I am very sorry to hear that.', 'That sounds very difficult.', 'I am sorry to hear that.'],
  },
  general: {
    casual: ['Happy to help!', 'Glad I could help!', 'Always happy to help!'],
    formal: ['I am happy to help.', 'I am glad I could help.'],
  },
};
export const warmClosings: { emotional: ByRegister; general: ByRegister } = {
  emotional: {
    casual: ['Take care of yourself!', 'I hope your day gets better!'],
    formal: ['Please take care of yourself.', 'I hope your day improves.', 'Please be gentle with yourself.'],
  },
  general: {
    casual: ['Have a lovely day!', 'Hope your day is going great!'],
    formal: ['I wish you a lovely day.', 'I hope your day is going well.'],
  },
};

/** Closings for detailed replies (register only; warmth is added separately). */
export const registerClosings: ByRegister = {
  casual: ['No worries, just ask if you need more!', 'Yep, that is it for now!', 'I am gonna be around if you need me!'],
  formal: ['Kind regards.', 'Best regards.', 'I would recommend asking me again if anything changes.', 'I shall be here if you need anything further.'],
};

/** Formal replies sometimes lead a detail line with this. */
export const formalNote = 'Please note that ';

// The casual register contracts; the formal one never does. Longer phrases come
// first so "I am going to" becomes "I'm gonna" rather than "I'm going to".
const contractions: readonly [RegExp, string][] = [
  [/\bI am going to\b/g, "I'm gonna"],
  [/\bI am\b/g, "I'm"],
  [/\bI will\b/g, "I'll"],
  [/\bI have\b/g, "I've"],
  [/\b([Ii]t|[Tt]hat|[Tt]here|[Ww]hat) is\b/g, "$1's"],
  [/\b([Yy]ou|[Ww]e|[Tt]hey) are\b/g, "$1're"],
  [/\b([Yy]ou|[Ww]e|[Tt]hey) will\b/g, "$1'll"],
  [/\b([Yy]ou|[Ww]e|[Tt]hey) have\b/g, "$1've"],
  [/\b(do|does|is|are|was|did|could|should|would) not\b/g, "$1n't"],
  [/\bcannot\b/g, "can't"],
  [/\bwill not\b/g, "won't"],
  [/\b([Ll])et us\b/g, "$1et's"],
];

/** The casual register's contractions applied to a finished reply. */
export function contract(text: string): string {
  let out = text;
  for (const [pattern, replacement] of contractions) out = out.replace(pattern, replacement);
  return out;
}

// Content sentences start either with a name from the knowledge base (kept as
// is) or with an ordinary word, which is lower-cased when a hedge or a lead goes
// in front of it ("I think the bins ...", "Certainly, Copperwick Pharmacy ...").
const keepCapital = properNouns();

/** The sentence with its first word lower-cased unless that word is "I" or a name. */
export function lowerLead(sentence: string): string {
  const first = sentence.split(/[\s,']/, 1)[0];
  return first === 'I' || keepCapital.has(first) ? sentence : sentence.charAt(0).toLowerCase() + sentence.slice(1);
}
