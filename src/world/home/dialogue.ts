import type { Random } from '../../tensor/random.js';
import type { ChatTurn, ContextKind, Feedback, HomeDialogue, HomeStyle } from '../types.js';
import { homeAxes } from '../types.js';
import { chance, pick, shuffled } from '../randomChoice.js';
import { contextKinds, renderHomeContext } from './contexts.js';
import { generateRequest, homeTasks, isHomeTask, type HomeTask } from './requests.js';
import { realiseReply } from './styleRealisation.js';
import { corrections, homeAxisNames, oppositeValue, preferences, type HomeAxis } from './styleStatements.js';

// One home-assistant dialogue: an optional system turn stating the user's style,
// a request, and a reply realised in that style. About one dialogue in ten goes
// on: the user reacts in words (a correction or a standing preference) together
// with a second request, and the second reply follows the corrected style.

export { homeTasks } from './requests.js';

/** Share of dialogues (when `stated` is 'random') whose style is stated in a system turn. */
export const defaultStatedRate = 0.7;
/** Share of dialogues (when `feedback` is 'random') that continue with textual feedback. */
export const defaultFeedbackRate = 0.1;

export interface HomeDialogueOptions {
  style?: HomeStyle;
  /** true: a system turn states the style; false: none, and the style is unstated; 'random' (default): 70% stated. */
  stated?: boolean | 'random';
  task?: string;
  userId?: string;
  /** Ask about this fact (implies the 'fact' task). */
  factId?: string;
  /** How a stated style is given; random by default. */
  contextKind?: ContextKind;
  /** Whether the dialogue continues with textual feedback and a second exchange; 'random' (default): 10%. */
  feedback?: boolean | 'random';
}

/** A generated dialogue plus the style of every assistant turn (they differ after a correction). */
export interface GeneratedHomeDialogue extends HomeDialogue {
  replyStyles: HomeStyle[];
}

/** Each axis 50/50, independently. */
export function randomHomeStyle(rng: Random): HomeStyle {
  const value = <A extends HomeAxis>(axis: A): HomeStyle[A] => homeAxes[axis][chance(rng, 0.5) ? 0 : 1] as HomeStyle[A];
  return { directness: value('directness'), formality: value('formality'), warmth: value('warmth'), detail: value('detail') };
}

/** The axes a context states: all four for profiles and memory notes, one or two for a correction. */
function statedAxes(kind: ContextKind, style: HomeStyle, rng: Random): Partial<HomeStyle> {
  if (kind !== 'correction') return { ...style };
  const axes = shuffled(rng, homeAxisNames).slice(0, chance(rng, 0.5) ? 1 : 2);
  return Object.fromEntries(axes.map((a) => [a, style[a]])) as Partial<HomeStyle>;
}

function resolveTask(rng: Random, options: HomeDialogueOptions): HomeTask {
  if (options.factId !== undefined) return 'fact';
  if (options.task === undefined) return pick(rng, homeTasks);
  if (!isHomeTask(options.task)) throw new RangeError(`generateHomeDialogue: unknown task "${options.task}" (expected one of ${homeTasks.join(', ')})`);
  return options.task;
}

function resolveFlag(rng: Random, flag: boolean | 'random' | undefined, rate: number): boolean {
  return flag === undefined || flag === 'random' ? chance(rng, rate) : flag;
}

function dialogueId(rng: Random): string {
  return `home-${rng.nextUint32().toString(16).padStart(8, '0')}`;
}

/** The user's words after a reply: a correction (always flips an axis) or a preference (for either value). */
function textualFeedback(rng: Random, style: HomeStyle): { feedback: Feedback & { text: string }; nextStyle: HomeStyle } {
  const axis = pick(rng, homeAxisNames);
  if (chance(rng, 0.5)) {
    const wanted = oppositeValue(axis, style[axis]);
    const text = pick(rng, (corrections[axis] as Record<string, readonly string[]>)[wanted]);
    return { feedback: { kind: 'correction', text }, nextStyle: { ...style, [axis]: wanted } };
  }
  const wanted = homeAxes[axis][rng.int(2)] as string;
  const text = pick(rng, (preferences[axis] as Record<string, readonly string[]>)[wanted]);
  return { feedback: { kind: 'preference', text }, nextStyle: { ...style, [axis]: wanted } };
}

export function generateHomeDialogue(rng: Random, options: HomeDialogueOptions = {}): GeneratedHomeDialogue {
  const id = dialogueId(rng);
  const style = options.style ?? randomHomeStyle(rng);
  const task = resolveTask(rng, options);
  const stated = resolveFlag(rng, options.stated, defaultStatedRate);
  const turns: ChatTurn[] = [];
  let contextKind: ContextKind | null = null;
  if (stated) {
    contextKind = options.contextKind ?? pick(rng, contextKinds);
    turns.push({ role: 'system', content: renderHomeContext(statedAxes(contextKind, style, rng), contextKind, rng) });
  }
  const request = generateRequest(rng, task, options.factId);
  // Decided before the first reply, so a two-exchange dialogue can use compact replies and fit the context.
  const continues = resolveFlag(rng, options.feedback, defaultFeedbackRate);
  turns.push({ role: 'user', content: request.text }, { role: 'assistant', content: realiseReply(request.content, style, rng, { compact: continues }) });
  const replyStyles = [style];
  const feedback: HomeDialogue['feedback'] = [];

  if (continues) {
    const { feedback: reaction, nextStyle } = textualFeedback(rng, style);
    feedback.push({ turn: turns.length - 1, feedback: reaction });
    const next = generateRequest(rng, pick(rng, homeTasks));
    turns.push({ role: 'user', content: `${reaction.text} ${next.text}` }, { role: 'assistant', content: realiseReply(next.content, nextStyle, rng, { compact: true }) });
    replyStyles.push(nextStyle);
    // A satisfied user sometimes also taps thumbs up; thumbs are metadata and never rendered.
    if (chance(rng, 0.5)) feedback.push({ turn: turns.length - 1, feedback: { kind: 'thumbs', up: true } });
  }

  return {
    id,
    userId: options.userId ?? 'home-user',
    contextKind,
    turns,
    feedback,
    domain: 'home',
    task,
    style,
    factId: request.factId,
    replyStyles,
  };
}
