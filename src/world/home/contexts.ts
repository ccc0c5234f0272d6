import type { Random } from '../../tensor/random.js';
import type { ContextKind, HomeStyle } from '../types.js';
import { pick, shuffled } from '../randomChoice.js';
import { corrections, homeAxisNames, memoryNotes, profilePhrases, type HomeAxis } from './styleStatements.js';

// The system turn that tells the assistant how this user wants to be answered.
// Profiles and memory notes normally state all four axes; a correction quotes
// what the user once said and states only one or two.

export const contextKinds: readonly ContextKind[] = ['profile', 'memory', 'correction'];

function phrase(table: typeof profilePhrases, axis: HomeAxis, style: Partial<HomeStyle>, rng: Random): string {
  const byValue = table[axis] as Record<string, readonly string[]>;
  const value = style[axis] as string;
  const options = byValue[value];
  if (!options) throw new RangeError(`renderHomeContext: "${value}" is not a value of axis ${axis}`);
  return pick(rng, options);
}

function joinList(items: string[]): string {
  return items.length === 1 ? items[0] : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** The system-turn text stating the given axes (in a random order) in the given form. */
export function renderHomeContext(style: Partial<HomeStyle>, kind: ContextKind, rng: Random): string {
  const axes = shuffled(rng, homeAxisNames.filter((a) => style[a] !== undefined));
  if (axes.length === 0) throw new RangeError(`renderHomeContext: the style states no axis (got ${JSON.stringify(style)})`);
  switch (kind) {
    case 'profile':
      return `User profile: prefers ${joinList(axes.map((a) => phrase(profilePhrases, a, style, rng)))}.`;
    case 'memory':
      return ['Memory notes:', ...axes.map((a) => `- ${phrase(memoryNotes, a, style, rng)}`)].join('\n');
    case 'correction': {
      if (axes.length > 2) throw new RangeError(`renderHomeContext: a correction states 1 or 2 axes, got ${axes.length} (${axes.join(', ')})`);
      const quotes = axes.map((a) => `"${phrase(corrections, a, style, rng)}"`);
      return quotes.length === 1 ? `Earlier correction from this user: ${quotes[0]}` : `Earlier corrections from this user: ${quotes.join(' ')}`;
    }
    default:
      throw new RangeError(`renderHomeContext: unknown context kind "${String(kind)}" (expected profile, memory or correction)`);
  }
}
