import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Random } from '../src/tensor/random.js';
import { renderCodeLine, renderFunction } from '../src/world/coding/codeModel.js';
import { codingContextPhrases } from '../src/world/coding/contextPhrases.js';
import { renderCodingContext, statedCodingAxes } from '../src/world/coding/contexts.js';
import { generateCodingDialogue, randomCodingStyle } from '../src/world/coding/dialogue.js';
import { createCodingEnvironments, environmentReaction } from '../src/world/coding/environments.js';
import { codingFeedbackTexts } from '../src/world/coding/feedbackTexts.js';
import { multiWordNames } from '../src/world/coding/identifiers.js';
import { fixerDiff, renderCodingReply } from '../src/world/coding/replies.js';
import { renderCodingRequest } from '../src/world/coding/requests.js';
import { codingAxisNames, observableAxes, type CodingAxis } from '../src/world/coding/style.js';
import { buggyLines, codingTask, codingTasks } from '../src/world/coding/tasks.js';
import { judgeCodingReply, type CodingJudgement } from '../src/world/judges/coding.js';
import { codingAxes, type CodingDialogue, type CodingStyle } from '../src/world/types.js';
import { corpusDocument, type CorpusMix } from '../src/world/corpus.js';

const allStyles: CodingStyle[] = codingAxes.role.flatMap((role) =>
  codingAxes.naming.flatMap((naming) =>
    codingAxes.semicolons.flatMap((semicolons) => codingAxes.comments.map((comments) => ({ role, naming, semicolons, comments })))));

const finalReply = (d: CodingDialogue): string => d.turns[d.turns.length - 1].content;
const userRequest = (d: CodingDialogue): string => d.turns.find((turn) => turn.role === 'user')!.content;

function dialogues(seed: number, count: number, options: Parameters<typeof generateCodingDialogue>[1] = {}): CodingDialogue[] {
  const rng = new Random(seed);
  return Array.from({ length: count }, () => generateCodingDialogue(rng, options));
}

function judgedLabel(j: CodingJudgement, axis: CodingAxis): string | null {
  return j[axis]?.label ?? null;
}

test('the same seed gives the same dialogues, environments and reactions; another seed does not', () => {
  assert.deepEqual(dialogues(11, 300), dialogues(11, 300));
  assert.notDeepEqual(dialogues(11, 50), dialogues(12, 50));
  assert.deepEqual(createCodingEnvironments(3, 20), createCodingEnvironments(3, 20));
  assert.notDeepEqual(createCodingEnvironments(3, 20), createCodingEnvironments(4, 20));
  const env = createCodingEnvironments(3, 1)[0];
  const replies = dialogues(13, 100).map(finalReply);
  const react = (seed: number) => { const rng = new Random(seed); return replies.map((reply) => environmentReaction(env, reply, rng)); };
  assert.deepEqual(react(5), react(5));
});

test('tasks: about thirty short functions whose buggy and fixed variants differ on a judgeable statement', () => {
  assert.ok(codingTasks.length >= 28, `only ${codingTasks.length} tasks`);
  assert.equal(new Set(codingTasks).size, codingTasks.length);
  for (const id of codingTasks) {
    const task = codingTask(id);
    assert.ok(task.lines.length >= 3 && task.lines.length <= 9, `${id}: ${task.lines.length} lines`);
    assert.ok(task.name.includes('_'), `${id}: the function name "${task.name}" must be multi-word so naming shows`);
    const bugLine = task.lines[task.bug.line];
    assert.equal(bugLine.kind, 'statement', `${id}: the bug must sit on a statement so its semicolon style shows`);
    assert.ok(multiWordNames(bugLine.text).length > 0, `${id}: the fixed line "${bugLine.text}" holds no multi-word name`);
    assert.notEqual(task.bug.buggy, bugLine.text, `${id}: the buggy line equals the fixed one`);
    const syntax = { naming: 'snake', semicolons: 'none', comments: 'sparse' } as const;
    assert.notEqual(renderFunction(buggyLines(task), syntax, false), renderFunction(task.lines, syntax, false), `${id}: buggy and fixed code are equal`);
  }
  assert.throws(() => codingTask('no-such-task'), /unknown coding task "no-such-task"/);
});

test("the fixer diff's - line is the buggy line of the request and its + line is the corrected line", () => {
  for (const id of codingTasks) {
    const task = codingTask(id);
    const fixed = task.lines[task.bug.line];
    for (const style of allStyles.filter((s) => s.role === 'fixer')) {
      const diff = fixerDiff(task, style).split('\n');
      const plus = diff.filter((line) => line.startsWith('+') && !line.slice(1).trim().startsWith('//'));
      assert.deepEqual(plus, [`+${renderCodeLine(fixed, style.naming, style.semicolons)}`], `${id} ${JSON.stringify(style)}`);
      const minus = diff.filter((line) => line.startsWith('-'));
      const request = renderCodingRequest(id, style, new Random(1));
      if (task.bug.buggy === null) {
        assert.equal(minus.length, 0);
        assert.ok(!request.includes(renderCodeLine(fixed, style.naming, style.semicolons)), `${id}: the missing line is in the request`);
      } else {
        assert.equal(minus.length, 1);
        assert.ok(request.split('\n').includes(minus[0].slice(1)), `${id}: "${minus[0]}" is not a line of the request`);
      }
      assert.equal(diff.some((line) => line.includes('//')), style.comments === 'dense', `${id}: comment lines in the diff`);
      // The reply itself carries exactly this diff.
      assert.ok(renderCodingReply(id, style, new Random(2)).includes(`\`\`\`diff\n${diff.join('\n')}\n\`\`\``));
    }
  }
});

test('judges recover the generator labels on held-out replies (>= 95% per axis, every observable axis seen)', (t) => {
  const held = dialogues(90210, 2400);
  const hits: Record<string, number> = {};
  const judged: Record<string, number> = {};
  const observed: Record<string, Record<string, number>> = {};
  const perRole: Record<string, number> = {};
  for (const d of held) {
    const j = judgeCodingReply(finalReply(d));
    perRole[d.style.role] = (perRole[d.style.role] ?? 0) + 1;
    for (const axis of codingAxisNames) {
      const label = judgedLabel(j, axis);
      observed[d.style.role] ??= {};
      if (label === null) continue;
      observed[d.style.role][axis] = (observed[d.style.role][axis] ?? 0) + 1;
      judged[axis] = (judged[axis] ?? 0) + 1;
      if (label === d.style[axis]) hits[axis] = (hits[axis] ?? 0) + 1;
    }
  }
  const report: string[] = [];
  for (const axis of codingAxisNames) {
    const accuracy = (hits[axis] ?? 0) / judged[axis];
    report.push(`${axis} ${(100 * accuracy).toFixed(2)}% of ${judged[axis]}`);
    assert.ok(accuracy >= 0.95, `${axis} accuracy ${accuracy}`);
  }
  t.diagnostic(`judge accuracy: ${report.join(', ')}`);
  // Observability: each role shows exactly the axes it is designed to show.
  for (const role of codingAxes.role) {
    for (const axis of codingAxisNames) {
      const rate = (observed[role][axis] ?? 0) / perRole[role];
      const expected = observableAxes(role).includes(axis) ? 1 : 0;
      assert.ok(Math.abs(rate - expected) < 0.01, `${role} ${axis}: observed in ${rate} of replies, expected ${expected}`);
    }
  }
  assert.ok(judged.role === held.length && held.length >= 2000);
});

test('judges are confident on generated replies and tolerant of imperfect ones', () => {
  for (const d of dialogues(4321, 600)) {
    const j = judgeCodingReply(finalReply(d));
    for (const axis of codingAxisNames) {
      const verdict = j[axis];
      if (verdict) assert.ok(verdict.score >= 0.7 && verdict.score <= 1, `${axis} score ${verdict.score} on:\n${finalReply(d)}`);
    }
  }
  // Code without a fence, with a stray word of prose: still a coding machine, still judged.
  const bare = judgeCodingReply('Here:\nfunction sumList(items) {\n  let totalSum = 0;\n  return totalSum;\n}');
  assert.equal(bare.role.label, 'machine');
  assert.equal(bare.naming?.label, 'camel');
  assert.equal(bare.semicolons?.label, 'semicolons');
  // A diff with no `diff` tag and a chatty sentence is still a fix; removed lines don't vote.
  const diff = judgeCodingReply('I think the problem is the start value, so:\n```\n-  let totalSum = 1;\n+  let total_sum = 0\n```');
  assert.equal(diff.role.label, 'fixer');
  assert.equal(diff.naming?.label, 'snake');
  assert.equal(diff.semicolons?.label, 'none');
  // An unfenced diff still counts as a diff.
  const unfenced = judgeCodingReply('Fix:\n-  let total_sum = 1;\n+  let total_sum = 0;');
  assert.equal(unfenced.role.label, 'fixer');
  assert.equal(unfenced.semicolons?.label, 'semicolons');
  // A lead who forgets "Plan:" but delegates twice.
  const lead = judgeCodingReply('Looks like the loop is wrong.\n@Sam, can you add a test?\n@Lena, please take the change.');
  assert.equal(lead.role.label, 'techlead');
  assert.equal(lead.naming, null);
  assert.equal(lead.comments, null);
  // Strings and member names never count as identifiers.
  assert.equal(judgeCodingReply('```js\nfunction shout_text(text) {\n  return text.toUpperCase() + "camelCase"\n}\n```').naming?.label, 'snake');
  // Apostrophes in prose don't swallow the names between them.
  assert.equal(judgeCodingReply("Design:\n- Don't share state; `sum_list` won't.\n```js\nfunction sum_list(items)\n```").naming?.label, 'snake');
});

test('judges stay right on replies cut off by a token limit', (t) => {
  const rng = new Random(2718);
  const hits: Record<string, number> = {};
  const judged: Record<string, number> = {};
  for (const d of dialogues(1618, 2000, { feedbackRate: 0 })) {
    const reply = finalReply(d);
    const cut = reply.slice(0, Math.floor(reply.length * (0.5 + 0.5 * rng.uniform())));
    const j = judgeCodingReply(cut);
    for (const axis of codingAxisNames) {
      const label = judgedLabel(j, axis);
      if (label === null) continue;
      judged[axis] = (judged[axis] ?? 0) + 1;
      if (label === d.style[axis]) hits[axis] = (hits[axis] ?? 0) + 1;
    }
  }
  const report = codingAxisNames.map((axis) => `${axis} ${((100 * (hits[axis] ?? 0)) / judged[axis]).toFixed(1)}% of ${judged[axis]}`);
  t.diagnostic(`accuracy on truncated replies: ${report.join(', ')}`);
  for (const axis of codingAxisNames) assert.ok((hits[axis] ?? 0) / judged[axis] >= 0.97, report.join(', '));
});

test('axes are independent: role ~25% each, others ~50/50, and no judged axis predicts another', () => {
  const set = dialogues(777, 4000);
  const share = (axis: CodingAxis, value: string) => set.filter((d) => d.style[axis] === value).length / set.length;
  for (const role of codingAxes.role) assert.ok(Math.abs(share('role', role) - 0.25) < 0.03, `role ${role}: ${share('role', role)}`);
  for (const axis of ['naming', 'semicolons', 'comments'] as const) {
    for (const value of codingAxes[axis]) assert.ok(Math.abs(share(axis, value) - 0.5) < 0.03, `${axis} ${value}: ${share(axis, value)}`);
  }
  const judged = set.map((d) => judgeCodingReply(finalReply(d)));
  for (const a of codingAxisNames) {
    for (const b of codingAxisNames) {
      if (a === b) continue;
      const both = judged.filter((j) => judgedLabel(j, a) !== null && judgedLabel(j, b) !== null);
      for (const bValue of codingAxes[b]) {
        const base = both.filter((j) => judgedLabel(j, b) === bValue).length / both.length;
        for (const aValue of codingAxes[a]) {
          const given = both.filter((j) => judgedLabel(j, a) === aValue);
          // Roles without code never show semicolons or comments: nothing to compare there.
          if (given.length === 0) continue;
          assert.ok(given.length >= 200, `only ${given.length} replies with ${a}=${aValue} and ${b} judged`);
          const conditional = given.filter((j) => judgedLabel(j, b) === bValue).length / given.length;
          assert.ok(Math.abs(conditional - base) < 0.06, `P(${b}=${bValue} | ${a}=${aValue}) = ${conditional.toFixed(3)} vs ${base.toFixed(3)}`);
        }
      }
    }
  }
});

test('stated contexts name the true style; unstated dialogues have no system turn', () => {
  // No phrase of one value hides inside a phrase of the other value of its axis.
  for (const axis of codingAxisNames) {
    const table = codingContextPhrases[axis] as Record<string, { profile: readonly string[]; memory: readonly string[]; correction: readonly string[] }>;
    const phrases = Object.entries(table).map(([value, set]) => [value, [...set.profile, ...set.memory, ...set.correction]] as const);
    for (const [value, mine] of phrases) {
      for (const [other, theirs] of phrases) {
        if (value === other) continue;
        for (const phrase of mine) for (const their of theirs) assert.ok(!their.includes(phrase), `"${phrase}" (${value}) inside "${their}" (${other})`);
      }
    }
  }
  const kinds: Record<string, number> = {};
  for (const d of dialogues(2024, 1500, { stated: true })) {
    assert.equal(d.turns[0].role, 'system');
    assert.ok(d.contextKind !== null);
    kinds[d.contextKind] = (kinds[d.contextKind] ?? 0) + 1;
    const stated = statedCodingAxes(d.turns[0].content);
    const axes = Object.keys(stated) as CodingAxis[];
    if (d.contextKind === 'correction') assert.ok(axes.length >= 1 && axes.length <= 2, `correction states ${axes.length} axes: ${d.turns[0].content}`);
    else assert.equal(axes.length, 4, `${d.contextKind} states ${axes.join(', ')}: ${d.turns[0].content}`);
    for (const axis of axes) assert.equal(stated[axis], d.style[axis], `${axis} in "${d.turns[0].content}"`);
  }
  assert.deepEqual(Object.keys(kinds).sort(), ['correction', 'memory', 'profile']);
  assert.match(renderCodingContext({ role: 'machine' }, 'correction', new Random(1)), /^Earlier correction: "/);
  assert.match(renderCodingContext({ naming: 'snake', semicolons: 'none' }, 'profile', new Random(1)), /^Team profile: code uses snake_case names, no (trailing )?semicolons\.$/);
  assert.throws(() => renderCodingContext({}, 'memory', new Random(1)), /states no axis/);

  for (const d of dialogues(2025, 500, { stated: false })) {
    assert.equal(d.contextKind, null);
    assert.ok(d.turns.every((turn) => turn.role !== 'system'));
  }
  const mixed = dialogues(2026, 2000);
  const statedShare = mixed.filter((d) => d.contextKind !== null).length / mixed.length;
  assert.ok(statedShare > 0.6 && statedShare < 0.8, `stated share ${statedShare}`);
});

test('user requests are role-neutral: no role words, and identical whatever the role', () => {
  const roleWords = /architect|design|interface|fixer|patch|\bdiff\b|tech ?lead|review|\bplan\b|delegat|machine|code only|just the code|@/i;
  for (const d of dialogues(31337, 2000)) {
    const request = userRequest(d);
    assert.ok(!roleWords.test(request), `role word in request: ${request}`);
    assert.match(request, /```js\n(\/\/ .*\n)?function /);
  }
  for (let seed = 0; seed < 200; seed++) {
    const base = randomCodingStyle(new Random(seed + 1000));
    const requests = codingAxes.role.map((role) => userRequest(generateCodingDialogue(new Random(seed), { style: { ...base, role }, stated: false })));
    assert.equal(new Set(requests).size, 1, `requests differ across roles for seed ${seed}`);
  }
});

test('about one dialogue in ten corrects an off-style reply, and the next reply follows the correction', () => {
  const set = dialogues(555, 4000);
  const corrected = set.filter((d) => d.feedback.length > 0);
  const rate = corrected.length / set.length;
  assert.ok(rate > 0.08 && rate < 0.12, `feedback rate ${rate}`);
  const allTexts = new Set(codingAxisNames.flatMap((axis) => Object.values(codingFeedbackTexts[axis] as Record<string, readonly string[]>).flat()));
  for (const d of corrected) {
    const { turn, feedback } = d.feedback[0];
    assert.equal(d.turns[turn].role, 'assistant');
    assert.equal(feedback.kind, 'correction');
    if (feedback.kind !== 'correction') continue;
    assert.ok(allTexts.has(feedback.text), `unknown feedback text ${feedback.text}`);
    assert.deepEqual(d.turns[turn + 1], { role: 'user', content: feedback.text });
    assert.equal(turn + 2, d.turns.length - 1);
    const first = judgeCodingReply(d.turns[turn].content);
    const last = judgeCodingReply(finalReply(d));
    const missed = codingAxisNames.filter((axis) => judgedLabel(first, axis) !== null && judgedLabel(first, axis) !== d.style[axis]);
    assert.equal(missed.length, 1, `first reply should miss exactly one axis: ${d.turns[turn].content}`);
    // The feedback names the value that was wanted on that axis.
    const wanted = (codingFeedbackTexts[missed[0]] as Record<string, readonly string[]>)[d.style[missed[0]]];
    assert.ok(wanted.includes(feedback.text), `"${feedback.text}" does not ask for ${missed[0]}=${d.style[missed[0]]}`);
    for (const axis of codingAxisNames) {
      const label = judgedLabel(last, axis);
      if (label !== null) assert.equal(label, d.style[axis]);
    }
  }
});

test('environments: replies that meet every need are never rejected; violating ones mostly are', (t) => {
  const envs = createCodingEnvironments(8, 40);
  assert.equal(envs.length, 40);
  assert.equal(new Set(envs.map((env) => env.id)).size, 40);
  for (const env of envs) assert.ok(Object.keys(env.needs).length >= 1, `${env.id} needs nothing`);
  const rng = new Random(99);
  let violating = 0;
  let nonPositive = 0;
  let meeting = 0;
  let thumbsUp = 0;
  for (let i = 0; i < 4000; i++) {
    const env = envs[rng.int(envs.length)];
    const d = generateCodingDialogue(rng, { stated: false, feedbackRate: 0 });
    const reaction = environmentReaction(env, finalReply(d), rng);
    const violated = observableAxes(d.style.role).some((axis) => env.needs[axis] !== undefined && env.needs[axis] !== d.style[axis]);
    const negative = reaction !== null && !(reaction.kind === 'thumbs' && reaction.up);
    if (violated) {
      violating++;
      if (negative) nonPositive++;
    } else {
      meeting++;
      assert.ok(!negative, `${env.id} rejected a reply meeting its needs: ${JSON.stringify(reaction)}\n${finalReply(d)}`);
      if (reaction?.kind === 'thumbs') thumbsUp++;
    }
  }
  assert.ok(violating > 500 && meeting > 500, `violating ${violating}, meeting ${meeting}`);
  assert.ok(nonPositive / violating > 0.8, `non-positive reactions to violations: ${nonPositive / violating}`);
  assert.ok(thumbsUp / meeting > 0.8, `thumbs up on met needs: ${thumbsUp / meeting}`);
  t.diagnostic(`violating: ${violating}, non-positive ${(nonPositive / violating).toFixed(3)}; meeting: ${meeting}, thumbs up ${(thumbsUp / meeting).toFixed(3)}`);
  assert.throws(() => createCodingEnvironments(1, -1), /count must be a non-negative integer/);
});

test('options are validated and name the bad input', () => {
  assert.throws(() => generateCodingDialogue(new Random(1), { task: 'sort-everything' }), /unknown coding task "sort-everything"/);
  assert.throws(() => generateCodingDialogue(new Random(1), { feedbackRate: 2 }), /feedbackRate must be in \[0, 1\], got 2/);
  const d = generateCodingDialogue(new Random(1), { task: 'sum-list', userId: 'ada', stated: false });
  assert.equal(d.task, 'sum-list');
  assert.equal(d.userId, 'ada');
  assert.equal(d.domain, 'coding');
  // requestSyntax 'random' decouples the request's code style from the reply's.
  const decoupled = dialogues(8, 400, { requestSyntax: 'random', stated: false });
  const differs = decoupled.filter((d2) => judgeCodingReply(userRequest(d2)).naming?.label !== d2.style.naming).length;
  assert.ok(differs > 120 && differs < 280, `naming differs in ${differs} of 400`);
});

test('corpus mixes: syntaxRoles leans coding documents toward the roles that write code; without it roles stay uniform', () => {
  const roleShares = (mix: CorpusMix) => {
    const roles = new Map<string, number>();
    let coding = 0;
    for (let i = 0; coding < 1500; i++) {
      const document = corpusDocument(31, i, mix);
      if (document.kind !== 'coding') continue;
      coding++;
      const reply = document.text.slice(document.text.lastIndexOf('<|assistant|>'));
      const role = judgeCodingReply(reply.replace('<|assistant|>', '').replace('<|end|>', '')).role.label;
      roles.set(role, (roles.get(role) ?? 0) + 1);
    }
    return (names: string[]) => names.reduce((sum, name) => sum + (roles.get(name) ?? 0), 0) / coding;
  };
  const leaning = roleShares({ home: 0, coding: 1, general: 0, stated: 0.5, syntaxRoles: 0.8 });
  assert.ok(Math.abs(leaning(['fixer', 'machine']) - 0.8) < 0.04, `fixer+machine share ${leaning(['fixer', 'machine'])}`);
  const uniform = roleShares({ home: 0, coding: 1, general: 0, stated: 0.5 });
  for (const role of codingAxes.role) assert.ok(Math.abs(uniform([role]) - 0.25) < 0.04, `${role}: ${uniform([role])}`);
});
