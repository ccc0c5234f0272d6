import type { Random } from '../../tensor/random.js';
import type { CodingStyle } from '../types.js';
import { pick } from '../randomChoice.js';
import type { CodingAxis } from './style.js';

// What the environment says when a reply misses one of its needs: CI and lint bots
// police syntax, teammates ask for the kind of answer the team wants. The text
// names the value that was wanted, so it is a usable correction on its own.

type FeedbackTable = { [A in keyof CodingStyle]: Record<CodingStyle[A], readonly string[]> };

export const codingFeedbackTexts: FeedbackTable = {
  role: {
    architect: ["Teammate: please don't patch it yet, we need a design first.", 'Lead: send the design and the interface, not code.'],
    fixer: ['Teammate: just send the minimal diff, please.', 'Maintainer: a small diff is all we need.'],
    techlead: ['Teammate: please just send a plan, not code.', 'Team: we need your review and a plan, and tell us who does what.'],
    machine: ['Teammate: code only, please, no explanations.', 'User: just the code, skip the words.'],
  },
  naming: {
    camel: ['CI: rejected, identifiers must be camelCase.', 'Lint bot: rename everything to camelCase before merging.'],
    snake: ['CI: rejected, identifiers must be snake_case.', 'Lint bot: rename everything to snake_case before merging.'],
  },
  semicolons: {
    semicolons: ['CI: rejected, every statement must end with a semicolon.', 'Lint bot: missing semicolons at line ends.'],
    none: ['CI: rejected, remove the trailing semicolons.', 'Lint bot: our style has no semicolons.'],
  },
  comments: {
    dense: ['Review bot: please comment each step.', 'Reviewer: this needs a comment above every step.'],
    sparse: ['Review bot: too many comments, keep it clean.', 'Reviewer: drop the comments, the code speaks for itself.'],
  },
};

/** A feedback line asking for `wanted` on `axis`. */
export function feedbackTextFor<A extends CodingAxis>(axis: A, wanted: CodingStyle[A], rng: Random): string {
  const texts = (codingFeedbackTexts[axis] as Record<string, readonly string[] | undefined>)[wanted];
  if (!texts) throw new RangeError(`feedbackTextFor: "${String(wanted)}" is not a value of axis ${axis}`);
  return pick(rng, texts);
}
