import type { Random } from '../../tensor/random.js';
import { renderFunction, type SyntaxStyle } from './codeModel.js';
import { applyNaming } from './identifiers.js';
import { chance, pick } from '../randomChoice.js';
import { buggyLines, codingTask } from './tasks.js';

// The user's bug report. It is role-neutral on purpose: which kind of answer is
// wanted (design, patch, plan, bare code) is a latent of the environment, told
// by the context or not at all, never by the request.

const openers = [
  '`{name}` {symptom}. Can you help?',
  '{name} {symptom}. What is wrong?',
  'Something is off: `{name}` {symptom}.',
  '{name} {symptom}. Any idea why?',
  'Hi! `{name}` {symptom}.',
  'Hello, {name} {symptom}. Could you take a look?',
];

/** The request text: a symptom, then the buggy function in the given syntax style. */
export function renderCodingRequest(taskId: string, syntax: SyntaxStyle, rng: Random): string {
  const task = codingTask(taskId);
  const opener = pick(rng, openers).replace('{name}', applyNaming(task.name, syntax.naming)).replace('{symptom}', task.symptom);
  const code = renderFunction(buggyLines(task), syntax, chance(rng, 0.3));
  return `${opener}\n\`\`\`js\n${code}\n\`\`\``;
}
