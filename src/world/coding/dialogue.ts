import type { Random } from '../../tensor/random.js';
import type { ChatTurn, CodingDialogue, CodingStyle, ContextKind, Feedback } from '../types.js';
import type { SyntaxStyle } from './codeModel.js';
import { renderCodingContext } from './contexts.js';
import { feedbackTextFor } from './feedbackTexts.js';
import { chance, pick, sample } from '../randomChoice.js';
import { renderCodingReply } from './replies.js';
import { renderCodingRequest } from './requests.js';
import { codingAxisNames, observableAxes, otherValue, randomCodingStyle, type CodingAxis } from './style.js';
import { codingTask, codingTasks } from './tasks.js';

export interface CodingDialogueOptions {
  /** The true style; random (see randomCodingStyle) when absent. */
  style?: CodingStyle;
  /** Whether a system turn states the style; 'random' (the default) states it 70% of the time. */
  stated?: boolean | 'random';
  /** A task id from codingTasks; random when absent. */
  task?: string;
  userId?: string;
  /**
   * The syntax style of the user's buggy code: 'dialogue' (the default) prints it in
   * the dialogue's own style; 'random' draws it independently, so the request does
   * not give the syntax axes away.
   */
  requestSyntax?: 'dialogue' | 'random';
  /** Probability that the environment corrects a first, off-style reply (default 0.1). */
  feedbackRate?: number;
}

// Re-exported so callers that build dialogues find the style sampler beside them.
export { randomCodingStyle };

const statedRate = 0.7;
const contextKinds: readonly ContextKind[] = ['profile', 'memory', 'correction'];

function pickStyle(style: CodingStyle, axes: readonly CodingAxis[]): Partial<CodingStyle> {
  const out: Partial<CodingStyle> = {};
  for (const axis of axes) (out as Record<string, string>)[axis] = style[axis];
  return out;
}

function syntaxOf(style: CodingStyle): SyntaxStyle {
  return { naming: style.naming, semicolons: style.semicolons, comments: style.comments };
}

/** A first reply that misses the style on one observable axis, and the feedback that names the wanted value. */
function offStyleAttempt(style: CodingStyle, rng: Random): { attempt: CodingStyle; axis: CodingAxis; text: string } {
  const axis = pick(rng, observableAxes(style.role));
  const attempt = { ...style, [axis]: otherValue(axis, style[axis], rng) } as CodingStyle;
  return { attempt, axis, text: feedbackTextFor(axis, style[axis], rng) };
}

/**
 * One coding dialogue: an optional system turn stating (some of) the style, a
 * role-neutral bug report, and the assistant's reply in the true style. About one
 * dialogue in ten first gets an off-style reply, the environment's correction, and
 * then the reply in the true style.
 */
export function generateCodingDialogue(rng: Random, options: CodingDialogueOptions = {}): CodingDialogue {
  const style = options.style ?? randomCodingStyle(rng);
  const taskId = options.task ?? pick(rng, codingTasks);
  codingTask(taskId); // fails early, naming the bad id
  const stated = options.stated === undefined || options.stated === 'random' ? chance(rng, statedRate) : options.stated;
  const feedbackRate = options.feedbackRate ?? 0.1;
  if (!(feedbackRate >= 0 && feedbackRate <= 1)) throw new RangeError(`generateCodingDialogue: feedbackRate must be in [0, 1], got ${feedbackRate}`);
  const id = `coding-${rng.nextUint32().toString(36)}`;
  const userId = options.userId ?? `coder-${rng.int(10000)}`;

  const turns: ChatTurn[] = [];
  let contextKind: ContextKind | null = null;
  if (stated) {
    contextKind = pick(rng, contextKinds);
    // A correction was about one or two things; a profile or memory describes all of it.
    const axes = contextKind === 'correction' ? sample(rng, codingAxisNames, 1 + rng.int(2)) : codingAxisNames;
    turns.push({ role: 'system', content: renderCodingContext(pickStyle(style, axes), contextKind, rng) });
  }
  const requestSyntax = options.requestSyntax === 'random' ? syntaxOf(randomCodingStyle(rng)) : syntaxOf(style);
  turns.push({ role: 'user', content: renderCodingRequest(taskId, requestSyntax, rng) });

  const feedback: { turn: number; feedback: Feedback }[] = [];
  if (chance(rng, feedbackRate)) {
    const { attempt, text } = offStyleAttempt(style, rng);
    feedback.push({ turn: turns.length, feedback: { kind: 'correction', text } });
    turns.push({ role: 'assistant', content: renderCodingReply(taskId, attempt, rng) });
    turns.push({ role: 'user', content: text });
  }
  turns.push({ role: 'assistant', content: renderCodingReply(taskId, style, rng) });
  return { id, userId, domain: 'coding', task: taskId, style, contextKind, turns, feedback };
}
