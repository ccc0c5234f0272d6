import type { Random } from '../../tensor/random.js';
import type { HomeStyle } from '../types.js';
import { chance, pick, shuffled } from '../randomChoice.js';
import type { ReplyContent } from './replyContent.js';
import {
  contract, directLeads, formalNote, hedgePrefixes, hedgeSuffixes, lowerLead, preambles, registerClosings, warmAcknowledgements, warmClosings,
} from './styleMarkers.js';

// Realises a reply's content in a style. Each axis adds its own markers and
// nothing else, so the sixteen styles compose freely:
//
//   line 1:  [preamble + hedged answer | register lead + answer] [warm acknowledgement]
//   detailed only, 2-4 more lines:
//            reason(s) with because/since (hedged when hedging)
//            an extra fact or tip ("Please note that ..." when formal)
//            [warm closing] [register closing]
//
// The casual register then contracts the whole text; the formal one never does.

/** A claim with a hedge in front of it or behind it. */
export function hedge(sentence: string, rng: Random): string {
  if (chance(rng, 0.7)) return pick(rng, hedgePrefixes) + lowerLead(sentence);
  return sentence.replace(/\.$/, `${pick(rng, hedgeSuffixes)}.`);
}

function firstLine(content: ReplyContent, style: HomeStyle, rng: Random, acknowledgement: string | null): string {
  const register = style.formality;
  const parts: string[] = [];
  if (style.directness === 'hedging') {
    parts.push(pick(rng, preambles[register]), hedge(content.answer, rng));
  } else {
    const answer = pick(rng, directLeads[register]) + lowerLead(content.answer);
    parts.push(register === 'casual' && chance(rng, 0.5) ? answer.replace(/\.$/, '!') : answer);
  }
  if (acknowledgement) parts.push(acknowledgement);
  return parts.join(' ');
}

function detailLines(content: ReplyContent, style: HomeStyle, rng: Random, warmClosing: string | null, compact: boolean): string[] {
  const hedging = style.directness === 'hedging';
  const lines: string[] = [];
  for (const reason of shuffled(rng, content.reasons).slice(0, !compact && chance(rng, 0.3) ? 2 : 1)) {
    lines.push(hedging && chance(rng, 0.6) ? hedge(reason, rng) : reason);
  }
  const extra = content.extras.length > 0 ? pick(rng, content.extras) : content.answer;
  if (style.formality === 'formal' && chance(rng, 0.5)) lines.push(formalNote + lowerLead(extra));
  else lines.push(hedging && chance(rng, 0.3) ? hedge(extra, rng) : extra);
  if (compact) return lines;
  const closing: string[] = [];
  if (warmClosing) closing.push(warmClosing);
  if (chance(rng, 0.6)) closing.push(pick(rng, registerClosings[style.formality]));
  if (closing.length > 0) lines.push(closing.join(' '));
  return lines;
}

export interface RealiseOptions {
  /** Detailed replies get exactly three lines (no second reason, no closing): for dialogues with two exchanges, which must fit the model's context. */
  compact?: boolean;
}

/** The reply text: one line when brief, three to five lines when detailed. */
export function realiseReply(content: ReplyContent, style: HomeStyle, rng: Random, options: RealiseOptions = {}): string {
  const family = content.emotional ? 'emotional' : 'general';
  const acknowledgements = warmAcknowledgements[family][style.formality];
  const closings = warmClosings[family][style.formality];
  const warm = style.warmth === 'warm';
  const brief = style.detail === 'brief';
  const acknowledgement = warm ? pick(rng, brief ? [...acknowledgements, ...closings] : acknowledgements) : null;
  const lines = [firstLine(content, style, rng, acknowledgement)];
  if (!brief) lines.push(...detailLines(content, style, rng, warm ? pick(rng, closings) : null, options.compact ?? false));
  const text = lines.join('\n');
  return style.formality === 'casual' ? contract(text) : text;
}
