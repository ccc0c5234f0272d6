import type { Random } from '../../tensor/random.js';
import { codingAxes, type CodingStyle, type ContextKind } from '../types.js';
import { codingContextPhrases, type PhraseSet } from './contextPhrases.js';
import { pick, shuffled } from '../randomChoice.js';
import { codingAxisNames, type CodingAxis } from './style.js';

// The system turn that tells the assistant its environment: a team profile, memory
// notes, or a correction the user made earlier. Only the axes present in `style`
// are stated; the rest stay latent.

function phrasesFor(axis: CodingAxis, value: string): PhraseSet {
  const set = (codingContextPhrases[axis] as Record<string, PhraseSet | undefined>)[value];
  if (!set) throw new RangeError(`renderCodingContext: "${value}" is not a value of axis ${axis}`);
  return set;
}

function statedAxes(style: Partial<CodingStyle>): CodingAxis[] {
  const axes = codingAxisNames.filter((axis) => style[axis] !== undefined);
  if (axes.length === 0) throw new RangeError('renderCodingContext: the style states no axis; expected at least one of role, naming, semicolons, comments');
  return axes;
}

function profileContext(style: Partial<CodingStyle>, rng: Random): string {
  const clauses = statedAxes(style).map((axis) => pick(rng, phrasesFor(axis, style[axis]!).profile));
  const roleClause = style.role !== undefined ? clauses.shift()! : null;
  const codeClause = clauses.length > 0 ? `code uses ${clauses.join(', ')}` : null;
  return `Team profile: ${[roleClause, codeClause].filter((part) => part !== null).join('; ')}.`;
}

function memoryContext(style: Partial<CodingStyle>, rng: Random): string {
  const notes = statedAxes(style).map((axis) => `- ${pick(rng, phrasesFor(axis, style[axis]!).memory)}`);
  return `Memory notes:\n${shuffled(rng, notes).join('\n')}`;
}

function correctionContext(style: Partial<CodingStyle>, rng: Random): string {
  const quotes = statedAxes(style).map((axis) => pick(rng, phrasesFor(axis, style[axis]!).correction));
  return `Earlier correction: "${shuffled(rng, quotes).join(' ')}"`;
}

/** The system-turn text stating the given axes of a coding style, in the given kind of context. */
export function renderCodingContext(style: Partial<CodingStyle>, kind: ContextKind, rng: Random): string {
  switch (kind) {
    case 'profile': return profileContext(style, rng);
    case 'memory': return memoryContext(style, rng);
    case 'correction': return correctionContext(style, rng);
    default: throw new RangeError(`renderCodingContext: unknown context kind "${String(kind)}"; expected profile, memory or correction`);
  }
}

/**
 * The axis values a context text names, read back through the phrase table. An
 * axis whose phrases name both values (a contradictory context) is left out.
 */
export function statedCodingAxes(context: string): Partial<CodingStyle> {
  const out: Record<string, string> = {};
  for (const axis of codingAxisNames) {
    const named = codingAxes[axis].filter((value) => {
      const set = phrasesFor(axis, value);
      return [...set.profile, ...set.memory, ...set.correction].some((phrase) => context.includes(phrase));
    });
    if (named.length === 1) out[axis] = named[0];
  }
  return out as Partial<CodingStyle>;
}
