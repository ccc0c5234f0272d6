import { Random } from '../tensor/random.js';
import { renderDialogue, renderPrompt } from './chatFormat.js';
import { renderCodingContext } from './coding/contexts.js';
import { renderHomeContext } from './home/contexts.js';
import { pick } from './randomChoice.js';
import { generateCodingDialogue, randomCodingStyle } from './coding/dialogue.js';
import { generateHomeDialogue, randomHomeStyle } from './home/dialogue.js';
import { codingAxes, homeAxes, type CodingStyle, type ContextKind, type HomeStyle } from './types.js';

// Contrastive pairs for finding a style direction (the CAA recipe): pair i is one
// request answered twice, once with the axis on the positive side and once on the
// negative side, every other axis equal. Both dialogues are generated from the
// same seed, and the generators draw everything before the reply (task, request,
// ids) without looking at the style, so the two prompts are identical and only
// the reply differs. No system turn is rendered (the style is unstated), so the
// style shows in the reply alone; no feedback exchange follows.
//
// The 'prompts' form contrasts what the model is told instead of what it says:
// the same request behind a system turn that states the axis on one side or the
// other (same context kind, same phrasing draw), rendered up to the assistant tag.
// Its last token is where the model decides how to answer, the CAA read-out point.
//
// The 'openings' form moves that read-out point into the reply: the same stated
// contexts, each followed by the same first line of a reply (the one written with
// the axis on the `opening` side). Its last token is where that line ends and the
// style decides what comes next: a warm acknowledgement or a new line, a second
// line or the end of a brief reply. Several axes show only there, not at the
// first reply token, so a direction read at the assistant tag misses them.
//
// A binary axis contrasts its two values. The coding role axis has four: the
// positive side is one role and the negatives cycle through the other three.

export type ContrastDomain = 'home' | 'coding';

export interface ContrastPairs {
  /** Rendered dialogues with the axis on the positive side. */
  pos: string[];
  /** neg[i] is pos[i]'s dialogue with the axis on the negative side. */
  neg: string[];
  posSide: string;
  /** The negative value, or the other values joined by "|" (coding roles). */
  negSide: string;
}

const axesOf = { home: homeAxes, coding: codingAxes } as const;

/** The values of a domain's axis, or a RangeError naming the known domains or axes. */
export function contrastAxisValues(domain: string, axis: string): readonly string[] {
  if (domain !== 'home' && domain !== 'coding') throw new RangeError(`unknown domain "${domain}"; expected home or coding`);
  const axes = axesOf[domain] as Record<string, readonly string[]>;
  if (!Object.hasOwn(axes, axis)) throw new RangeError(`unknown ${domain} axis "${axis}"; expected one of ${Object.keys(axes).join(', ')}`);
  return axes[axis];
}

/** A seed for pair `index` that neighbouring indices do not share a stream with. */
function pairSeed(seed: number, index: number): number {
  let h = (Math.floor(seed) ^ 0x5bd1e995) >>> 0;
  h = Math.imul(h ^ (index >>> 0), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

export type ContrastForm = 'replies' | 'prompts' | 'openings';
export const contrastForms: readonly ContrastForm[] = ['replies', 'prompts', 'openings'];
const promptContextKinds: readonly ContextKind[] = ['profile', 'memory'];

type Turns = ReturnType<typeof generateHomeDialogue>['turns'];

function dialogueTurns(domain: ContrastDomain, dialogueSeed: number, style: HomeStyle | CodingStyle): Turns {
  const rng = new Random(dialogueSeed);
  return domain === 'home'
    ? generateHomeDialogue(rng, { style: style as HomeStyle, stated: false, feedback: false }).turns
    // 'random' request syntax: the user's code must not follow the reply's style, or the prompts would differ.
    : generateCodingDialogue(rng, { style: style as CodingStyle, stated: false, requestSyntax: 'random', feedbackRate: 0 }).turns;
}

/** The first line of the dialogue's first assistant turn. */
function replyOpening(turns: Turns): string {
  const reply = turns.find((turn) => turn.role === 'assistant');
  if (reply === undefined) throw new Error('contrastPairs: the generated dialogue has no assistant turn');
  return reply.content.split('\n', 1)[0];
}

function renderWithStyle(domain: ContrastDomain, dialogueSeed: number, style: HomeStyle | CodingStyle, form: ContrastForm, axis: string): string {
  const turns = dialogueTurns(domain, dialogueSeed, style);
  if (form === 'replies') return renderDialogue(turns);
  // Both sides draw the context kind and phrasing from the same stream.
  const contextRng = new Random(dialogueSeed ^ 0x9e3779b9);
  const kind = pick(contextRng, promptContextKinds);
  const stated = { [axis]: (style as unknown as Record<string, string>)[axis] };
  const context = domain === 'home'
    ? renderHomeContext(stated as Partial<HomeStyle>, kind, contextRng)
    : renderCodingContext(stated as Partial<CodingStyle>, kind, contextRng);
  const request = turns.slice(0, turns.findIndex((turn) => turn.role === 'assistant'));
  return renderPrompt([{ role: 'system', content: context }, ...request]);
}

export interface ContrastPairOptions {
  /** The positive value (default: the axis's first value, e.g. "formal" is second for formality, so pass it). */
  side?: string;
  /** 'replies' (default) contrasts whole dialogues, 'prompts' stated contexts, 'openings' stated contexts plus a reply's first line. */
  form?: ContrastForm;
  /** For 'openings': the axis value the shared reply opening is written with (required there, refused elsewhere). */
  opening?: string;
}

/** `count` pairs along `axis`. */
export function contrastPairs(domain: string, axis: string, count: number, seed: number, options: ContrastPairOptions = {}): ContrastPairs {
  const { side, form = 'replies', opening } = options;
  const values = contrastAxisValues(domain, axis);
  if (!contrastForms.includes(form)) throw new RangeError(`contrastPairs: unknown form "${String(form)}"; expected ${contrastForms.join(', ')}`);
  if (form === 'openings' && opening === undefined) throw new RangeError(`contrastPairs: the openings form needs the value the shared reply opening is written with (one of ${values.join(', ')})`);
  if (form !== 'openings' && opening !== undefined) throw new RangeError(`contrastPairs: an opening ("${opening}") only applies to the openings form, not ${form}`);
  if (opening !== undefined && !values.includes(opening)) throw new RangeError(`opening "${opening}" is not a value of the ${domain} axis ${axis}; expected one of ${values.join(', ')}`);
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`contrastPairs: count must be a positive integer, got ${count}`);
  if (!Number.isFinite(seed)) throw new RangeError(`contrastPairs: seed must be a finite number, got ${seed}`);
  const posSide = side ?? values[0];
  if (!values.includes(posSide)) throw new RangeError(`"${posSide}" is not a value of the ${domain} axis ${axis}; expected one of ${values.join(', ')}`);
  const negatives = values.filter((v) => v !== posSide);
  const pos: string[] = [];
  const neg: string[] = [];
  for (let i = 0; i < count; i++) {
    const rng = new Random(pairSeed(seed, i));
    const base: Record<string, string> = domain === 'home' ? { ...randomHomeStyle(rng) } : { ...randomCodingStyle(rng) };
    const dialogueSeed = rng.nextUint32();
    const typed = domain as ContrastDomain;
    const styleWith = (value: string) => ({ ...base, [axis]: value }) as unknown as HomeStyle | CodingStyle;
    // Both sides continue with the same opening, so only the stated context differs.
    const suffix = opening === undefined ? '' : replyOpening(dialogueTurns(typed, dialogueSeed, styleWith(opening)));
    pos.push(renderWithStyle(typed, dialogueSeed, styleWith(posSide), form, axis) + suffix);
    neg.push(renderWithStyle(typed, dialogueSeed, styleWith(negatives[i % negatives.length]), form, axis) + suffix);
  }
  return { pos, neg, posSide, negSide: negatives.join('|') };
}
