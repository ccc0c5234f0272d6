import type { Random } from '../../tensor/random.js';
import type { CodingStyle } from '../types.js';
import { renderCodeLine, renderComment, renderFunction, type SyntaxStyle } from './codeModel.js';
import { applyNaming } from './identifiers.js';
import { chance, pick, sample } from '../randomChoice.js';
import { codingTask, type CodingTask } from './tasks.js';

// How each role answers a bug report. Markers are kept distinct and learnable:
//   architect: "Design:" bullets + a signature-only stub, no patch;
//   fixer:     one sentence + a ```diff block with - / + lines only;
//   techlead:  "Review:", "Plan:" with numbered steps, @mentions of teammates;
//   machine:   exactly one fenced block with the whole corrected function.
// Names in prose go through the naming style too, so every role shows its naming.

const teammates = ['Priya', 'Marco', 'Lena', 'Tomas', 'Aiko', 'Sam', 'Noor', 'Jonas'];

function styled(text: string, style: SyntaxStyle): string {
  return applyNaming(text, style.naming);
}

function fence(tag: string, body: string): string {
  return `\`\`\`${tag}\n${body}\n\`\`\``;
}

/** The corrected function as one fenced block, nothing else. */
function machineReply(task: CodingTask, style: SyntaxStyle, rng: Random): string {
  return fence('js', renderFunction(task.lines, style, chance(rng, 0.3)));
}

/** The diff of the fix: the buggy line (if any) removed, the corrected line added, plus a note when comments are dense. */
export function fixerDiff(task: CodingTask, style: SyntaxStyle): string {
  const fixed = task.lines[task.bug.line];
  const out: string[] = [];
  if (task.bug.buggy !== null) out.push(`-${renderCodeLine({ ...fixed, text: task.bug.buggy }, style.naming, style.semicolons)}`);
  if (style.comments === 'dense') out.push(`+${renderComment(fixed.depth, task.fixNote)}`);
  out.push(`+${renderCodeLine(fixed, style.naming, style.semicolons)}`);
  return out.join('\n');
}

const fixerSentences = [
  'The bug: {diagnosis}.',
  'In `{name}`, {diagnosis}.',
  'Found it: {diagnosis}.',
  'Minimal patch for `{name}`, because {diagnosis}.',
  'One line to change: {diagnosis}.',
];

function fill(template: string, task: CodingTask): string {
  return template.replace('{diagnosis}', task.diagnosis).replace('{name}', task.name).replace('{purpose}', task.purpose);
}

function fixerReply(task: CodingTask, style: SyntaxStyle, rng: Random): string {
  return `${styled(fill(pick(rng, fixerSentences), task), style)}\n${fence('diff', fixerDiff(task, style))}`;
}

const designHeads = ['Design:', 'Design notes:', 'Proposed design:'];
const designBullets = [
  'Keep `{name}` pure: no shared state, no I/O.',
  'Callers validate the input; `{name}` trusts its arguments.',
  'The interface is the signature below; helpers stay private.',
  'Pin the contract with a table of small cases, edge cases included.',
  'One responsibility per function; split the work if `{name}` grows.',
];
const stubIntros = ['Interface:', 'Signature:'];

/** The function header without its opening brace: a signature, no body. */
export function signatureStub(task: CodingTask, style: SyntaxStyle): string {
  return styled(task.lines[0].text.replace(/\s*\{$/, ''), style);
}

function architectReply(task: CodingTask, style: SyntaxStyle, rng: Random): string {
  const bullets = [`\`{name}\` has one responsibility: it {purpose}.`, ...sample(rng, designBullets, 1 + rng.int(2))];
  const lines = [pick(rng, designHeads), ...bullets.map((bullet) => `- ${styled(fill(bullet, task), style)}`)];
  lines.push(pick(rng, stubIntros), fence('js', signatureStub(task, style)));
  return lines.join('\n');
}

const planSteps = [
  'Reproduce the failure with a small failing test.',
  'Correct the faulty line in `{name}`.',
  'Check the callers of `{name}` for the same mistake.',
  'Merge once the tests pass.',
];
const delegations = [
  '@{mate}, please add a test for `{name}`.',
  '@{mate}, please take the change in `{name}`.',
  '@{mate}, please check the callers when it lands.',
];

function techleadReply(task: CodingTask, style: SyntaxStyle, rng: Random): string {
  // The step naming the function is always in, so the naming style always shows.
  const steps = planSteps.filter((step, index) => index === 1 || chance(rng, 0.5));
  const mates = sample(rng, teammates, 2);
  const asks = sample(rng, delegations, 1 + rng.int(2)).map((ask, index) => ask.replace('{mate}', mates[index]));
  const lines = [`Review: ${task.diagnosis}.`, 'Plan:', ...steps.map((step, index) => `${index + 1}. ${step}`), ...asks];
  return styled(lines.map((line) => fill(line, task)).join('\n'), style);
}

const replyByRole = { architect: architectReply, fixer: fixerReply, techlead: techleadReply, machine: machineReply };

/** The assistant's answer to a task's bug report, in the given role and syntax style. */
export function renderCodingReply(taskId: string, style: CodingStyle, rng: Random): string {
  const render = replyByRole[style.role];
  if (!render) throw new RangeError(`unknown coding role "${style.role}"; expected architect, fixer, techlead or machine`);
  return render(codingTask(taskId), style, rng);
}
