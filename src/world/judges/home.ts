import type { Detail, Directness, Formality, HomeStyle, Warmth } from '../types.js';

// Judges of a home-assistant reply, from its text alone: they stand in for an
// LLM judge, so they never see the generator's labels. Each axis adds up
// evidence from small lexicons and the reply's shape instead of matching whole
// templates, so an imperfect, model-written reply still gets a sensible verdict:
//   directness: preambles ("good question", "let me think") and hedges ("I think",
//               "perhaps", "might"), counted double when the first sentence has them;
//   formality:  casual words, contractions and "!" against formal words
//               ("certainly", "please note", "kind regards");
//   warmth:     empathetic or kind phrases ("sorry to hear", "happy to help"), and
//               more weakly their single words ("sorry", "glad");
//   detail:     the number of lines, reasons ("because", "since") and length.
// Each score is a logistic function of the evidence: the confidence that the
// reply has the FIRST value of the axis (direct, casual, warm, brief).

export interface AxisJudgement<L extends string> {
  label: L;
  /** In [0, 1]: the evidence for the axis's first label (direct, casual, warm, brief). */
  score: number;
}

export interface HomeJudgement {
  directness: AxisJudgement<Directness>;
  formality: AxisJudgement<Formality>;
  warmth: AxisJudgement<Warmth>;
  detail: AxisJudgement<Detail>;
}

const preamblePatterns: readonly RegExp[] = [
  /\b(let me|lemme) (think|see|consider)\b/g,
  /\bgood question\b/g,
  /\ballow me (to think|to consider|a moment)\b/g,
  /(^|[.!?]\s+)well,/g,
  /\bhmm+\b/g,
];
const hedgePattern = /\b(i think|i believe|i guess|i suppose|perhaps|maybe|might|probably|possibly|if i('m| am) not mistaken|not (entirely |quite )?sure)\b/g;

const casualPattern = /\b(hey|yeah|yep|yup|sure thing|no worries|gonna|wanna|lemme|totally|awesome|oh no)\b/g;
const contractionPattern = /\b(i'm|i'll|i've|i'd|it's|that's|there's|what's|let's|you're|we're|they're|you'll|we'll|they'll|you've|we've|\w+n't)\b/g;
const formalPattern = /\b(certainly|indeed|please note|allow me|i would recommend|kind regards|best regards|i shall|i wish you)\b/g;

const warmPattern = /\b(sorry to hear|sounds (really|very|so) (tough|difficult|hard)|hope your day|happy to help|glad (i could|to) help|lovely day|be gentle with yourself|take care|here for you|you've got this)\b/g;
// Single words of kindness: weaker evidence, but they survive when a model
// garbles the phrase around them ("so sorry hear that").
const warmWordPattern = /\b(sorry|tough|difficult|hope|glad|happy|lovely|gentle|care)\b/g;

const reasonPattern = /\b(because|since)\b|\bthis matters\b/g;

function count(text: string, pattern: RegExp): number {
  return text.match(pattern)?.length ?? 0;
}

function logistic(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

function judged<L extends string>(score: number, first: L, second: L): AxisJudgement<L> {
  return { label: score >= 0.5 ? first : second, score };
}

/** Lower case, with typographic apostrophes made plain so contractions are found either way. */
function normalise(reply: string): string {
  return reply.toLowerCase().replace(/[\u2018\u2019\u02bc]/g, "'");
}

function firstSentence(text: string): string {
  const match = /^[\s\S]*?[.!?](\s|$)/.exec(text.trim());
  return match ? match[0] : text;
}

function hedgingEvidence(text: string): number {
  const preambles = preamblePatterns.reduce((sum, p) => sum + count(text, p), 0);
  const hedges = count(text, hedgePattern);
  const opening = firstSentence(text);
  const opensHedged = preamblePatterns.some((p) => count(opening, p) > 0) || count(opening, hedgePattern) > 0;
  return 2 * preambles + hedges + (opensHedged ? 1 : 0);
}

function casualEvidence(text: string): number {
  const casual = count(text, casualPattern) + count(text, contractionPattern) + 0.5 * count(text, /!/g);
  return casual - 1.5 * count(text, formalPattern);
}

function detailEvidence(reply: string, text: string): number {
  const lines = reply.split('\n').filter((l) => l.trim() !== '').length;
  const words = text.split(/\s+/).filter((w) => w !== '').length;
  return 2 * Math.max(0, lines - 1) + 0.8 * count(text, reasonPattern) + Math.max(0, words - 35) / 15;
}

/** Each axis of a reply's style, judged from its text. */
export function judgeHomeReply(reply: string): HomeJudgement {
  const text = normalise(reply);
  return {
    directness: judged(logistic(2 - 2.5 * hedgingEvidence(text)), 'direct', 'hedging'),
    formality: judged(logistic(1.5 * casualEvidence(text) - 0.3), 'casual', 'formal'),
    warmth: judged(logistic(2.5 * (count(text, warmPattern) + 0.6 * count(text, warmWordPattern)) - 1.2), 'warm', 'neutral'),
    detail: judged(logistic(1.5 - 1.5 * detailEvidence(reply, text)), 'brief', 'detailed'),
  };
}

/** Just the labels: the style a reply shows. */
export function judgedHomeStyle(reply: string): HomeStyle {
  const j = judgeHomeReply(reply);
  return { directness: j.directness.label, formality: j.formality.label, warmth: j.warmth.label, detail: j.detail.label };
}
