import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Random } from '../src/tensor/random.js';
import { factSet, knowledgeBase } from '../src/world/knowledgeBase.js';
import { renderHomeContext } from '../src/world/home/contexts.js';
import { generateHomeDialogue, homeTasks, randomHomeStyle, type GeneratedHomeDialogue } from '../src/world/home/dialogue.js';
import { corrections as correctionTable, homeAxisNames, memoryNotes, oppositeValue, preferences as preferenceTable, profilePhrases, statedStyle, type HomeAxis } from '../src/world/home/styleStatements.js';
import { createHomeUsers, userReaction } from '../src/world/home/users.js';
import { judgeHomeReply, judgedHomeStyle } from '../src/world/judges/home.js';
import { homeAxes, type HomeStyle } from '../src/world/types.js';

// Seeds: each is used by exactly one test, so the judges are checked on replies
// no other test (and no tuning run) has looked at.
const HELD_OUT_JUDGE_SEED = 918_273;

function assistantReplies(d: GeneratedHomeDialogue): string[] {
  return d.turns.filter((t) => t.role === 'assistant').map((t) => t.content);
}

function firstReply(d: GeneratedHomeDialogue): string {
  return assistantReplies(d)[0];
}

function perAxisAccuracy(samples: { reply: string; style: HomeStyle }[]): Record<HomeAxis, number> {
  const correct: Record<HomeAxis, number> = { directness: 0, formality: 0, warmth: 0, detail: 0 };
  for (const { reply, style } of samples) {
    const judged = judgedHomeStyle(reply);
    for (const axis of homeAxisNames) if (judged[axis] === style[axis]) correct[axis]++;
  }
  return Object.fromEntries(homeAxisNames.map((a) => [a, correct[a] / samples.length])) as Record<HomeAxis, number>;
}

function wordCount(text: string): number {
  return text.split(/\s+/).filter((w) => w !== '').length;
}

test('dialogues are a pure function of the seed', () => {
  const run = (seed: number): GeneratedHomeDialogue[] => {
    const rng = new Random(seed);
    return Array.from({ length: 300 }, () => generateHomeDialogue(rng));
  };
  assert.deepEqual(run(11), run(11));
  const a = run(11).map((d) => JSON.stringify(d.turns));
  const b = run(12).map((d) => JSON.stringify(d.turns));
  const same = a.filter((text, i) => text === b[i]).length;
  assert.ok(same < 30, `seeds 11 and 12 gave ${same} identical dialogues out of 300`);
});

test('judges recover every axis from held-out replies (>= 95% per axis)', () => {
  const rng = new Random(HELD_OUT_JUDGE_SEED);
  const samples = Array.from({ length: 2400 }, () => {
    const d = generateHomeDialogue(rng, { feedback: false });
    return { reply: firstReply(d), style: d.style };
  });
  const accuracy = perAxisAccuracy(samples);
  console.log(`held-out judge accuracy over ${samples.length} replies: ${JSON.stringify(accuracy)}`);
  for (const axis of homeAxisNames) assert.ok(accuracy[axis] >= 0.95, `${axis} accuracy ${accuracy[axis]} is below 0.95`);
});

test('all sixteen styles compose: each is generated and judged correctly', () => {
  const rng = new Random(303);
  const values = (axis: HomeAxis): readonly string[] => homeAxes[axis];
  for (const directness of values('directness')) for (const formality of values('formality'))
    for (const warmth of values('warmth')) for (const detail of values('detail')) {
      const style = { directness, formality, warmth, detail } as HomeStyle;
      for (const task of homeTasks) {
        for (let i = 0; i < 6; i++) {
          const reply = firstReply(generateHomeDialogue(rng, { style, task, feedback: false }));
          assert.deepEqual(judgedHomeStyle(reply), style, `style ${JSON.stringify(style)} (${task}) misjudged in:\n${reply}`);
        }
      }
    }
});

test('axes are balanced and independent across 4000 dialogues', () => {
  const rng = new Random(4242);
  const dialogues = Array.from({ length: 4000 }, () => generateHomeDialogue(rng, { feedback: false }));
  for (const axis of homeAxisNames) {
    const share = dialogues.filter((d) => d.style[axis] === homeAxes[axis][0]).length / dialogues.length;
    assert.ok(share > 0.45 && share < 0.55, `${axis}: ${homeAxes[axis][0]} share ${share} is outside 45-55%`);
  }
  // The judged label of one axis must not be predictable from another: the
  // judges stay accurate in every combination of the other three axes, and the
  // judged labels of any two axes are uncorrelated.
  const judged = dialogues.map((d) => judgedHomeStyle(firstReply(d)));
  for (const axis of homeAxisNames) {
    const others = homeAxisNames.filter((a) => a !== axis);
    const groups = new Map<string, { right: number; total: number }>();
    dialogues.forEach((d, i) => {
      const key = others.map((a) => d.style[a]).join('/');
      const g = groups.get(key) ?? { right: 0, total: 0 };
      g.total++;
      if (judged[i][axis] === d.style[axis]) g.right++;
      groups.set(key, g);
    });
    assert.equal(groups.size, 8);
    for (const [key, g] of groups) assert.ok(g.right / g.total >= 0.95, `${axis} accuracy ${g.right / g.total} when ${others.join('/')} = ${key}`);
  }
  const indicator = (axis: HomeAxis): number[] => judged.map((s) => (s[axis] === homeAxes[axis][0] ? 1 : 0));
  for (let i = 0; i < homeAxisNames.length; i++) {
    for (let j = i + 1; j < homeAxisNames.length; j++) {
      const r = correlation(indicator(homeAxisNames[i]), indicator(homeAxisNames[j]));
      assert.ok(Math.abs(r) < 0.06, `judged ${homeAxisNames[i]} and ${homeAxisNames[j]} correlate (r = ${r.toFixed(3)})`);
    }
  }
});

function correlation(x: number[], y: number[]): number {
  const mean = (v: number[]): number => v.reduce((s, a) => s + a, 0) / v.length;
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

test('brief replies are one line; detailed replies are three to five lines', () => {
  const rng = new Random(515);
  for (let i = 0; i < 1000; i++) {
    const d = generateHomeDialogue(rng, { feedback: false });
    const lines = firstReply(d).split('\n').length;
    if (d.style.detail === 'brief') assert.equal(lines, 1, firstReply(d));
    else assert.ok(lines >= 3 && lines <= 5, `detailed reply with ${lines} lines:\n${firstReply(d)}`);
  }
});

test('judges tolerate garbled, model-like text', () => {
  // Drop words at random and lower-case everything: a crude stand-in for a
  // small model's imperfect output. Evidence counting should degrade gracefully.
  const rng = new Random(6060);
  const samples = Array.from({ length: 1500 }, () => {
    const d = generateHomeDialogue(rng, { feedback: false });
    const garbled = firstReply(d).split('\n').map((line) => line.split(' ').filter(() => rng.uniform() > 0.15).join(' ')).join('\n').toLowerCase();
    return { reply: garbled, style: d.style };
  });
  const accuracy = perAxisAccuracy(samples);
  console.log(`judge accuracy on garbled replies (15% of words dropped): ${JSON.stringify(accuracy)}`);
  for (const axis of homeAxisNames) assert.ok(accuracy[axis] >= 0.9, `${axis} accuracy ${accuracy[axis]} on garbled text`);
  // Hand-written replies in the model's register but not from any template.
  assert.deepEqual(judgedHomeStyle('The bakery opens at 6 am.'), { directness: 'direct', formality: 'formal', warmth: 'neutral', detail: 'brief' });
  assert.deepEqual(judgedHomeStyle("hmm i guess it's maybe at 6 am? sorry to hear that!"), { directness: 'hedging', formality: 'casual', warmth: 'warm', detail: 'brief' });
  const scores = judgeHomeReply('Certainly, the bins go out on Thursday.\nThis matters because the truck comes early.\nPlease note that recycling is Tuesday.');
  assert.equal(scores.detail.label, 'detailed');
  assert.ok(scores.detail.score < 0.1 && scores.formality.score < 0.2, JSON.stringify(scores));
  for (const axis of homeAxisNames) assert.ok(scores[axis].score >= 0 && scores[axis].score <= 1);
});

// An independent reading of contexts: keywords only, not the generator's tables.
function parseContextByKeywords(text: string): Partial<Record<HomeAxis, string>> {
  const t = text.toLowerCase();
  const out: Partial<Record<HomeAxis, string>> = {};
  if (/\bdirect\b|straight to the point|answer first/.test(t)) out.directness = 'direct';
  if (/hedge|tentative|think out loud/.test(t)) out.directness = out.directness ? 'conflict' : 'hedging';
  if (/casual/.test(t)) out.formality = 'casual';
  if (/formal/.test(t)) out.formality = out.formality ? 'conflict' : 'formal';
  if (/warm/.test(t)) out.warmth = 'warm';
  if (/matter-of-fact/.test(t)) out.warmth = out.warmth ? 'conflict' : 'neutral';
  if (/brief|short/.test(t)) out.detail = 'brief';
  if (/detailed/.test(t)) out.detail = out.detail ? 'conflict' : 'detailed';
  return out;
}

test('stated contexts name the true style; unstated dialogues have no system turn', () => {
  const rng = new Random(777);
  const kinds = { profile: 0, memory: 0, correction: 0 };
  for (let i = 0; i < 900; i++) {
    const d = generateHomeDialogue(rng, { stated: true, feedback: false });
    assert.equal(d.turns[0].role, 'system');
    assert.ok(d.contextKind !== null);
    kinds[d.contextKind]++;
    const context = d.turns[0].content;
    if (d.contextKind === 'correction') {
      assert.match(context, /^Earlier corrections? from this user: "/);
      const stated = statedStyle(context);
      const axes = Object.keys(stated) as HomeAxis[];
      assert.ok(axes.length >= 1 && axes.length <= 2, context);
      for (const axis of axes) assert.equal(stated[axis], d.style[axis], context);
    } else {
      assert.match(context, d.contextKind === 'profile' ? /^User profile: prefers / : /^Memory notes:\n- /);
      assert.deepEqual(parseContextByKeywords(context), { ...d.style }, context);
    }
  }
  assert.ok(kinds.profile > 200 && kinds.memory > 200 && kinds.correction > 200, JSON.stringify(kinds));
  for (let i = 0; i < 300; i++) {
    const d = generateHomeDialogue(rng, { stated: false });
    assert.equal(d.contextKind, null);
    assert.ok(d.turns.every((t) => t.role !== 'system'));
  }
  // 'random' mixes both.
  const statedShare = Array.from({ length: 1000 }, () => generateHomeDialogue(rng).contextKind !== null).filter(Boolean).length / 1000;
  assert.ok(statedShare > 0.6 && statedShare < 0.8, `stated share ${statedShare}`);
});

test('every style statement names exactly its own axis value', () => {
  for (const table of [profilePhrases, memoryNotes, correctionTable, preferenceTable]) {
    for (const axis of homeAxisNames) {
      for (const [value, phrases] of Object.entries(table[axis]) as [string, readonly string[]][]) {
        for (const phrase of phrases) assert.deepEqual(statedStyle(phrase), { [axis]: value }, phrase);
      }
    }
  }
});

test('renderHomeContext states the axes it is given and rejects bad input', () => {
  const rng = new Random(8);
  const text = renderHomeContext({ detail: 'brief', warmth: 'warm' }, 'profile', rng);
  assert.deepEqual(parseContextByKeywords(text), { detail: 'brief', warmth: 'warm' });
  assert.throws(() => renderHomeContext({}, 'memory', rng), /states no axis/);
  assert.throws(() => renderHomeContext(randomHomeStyle(rng), 'correction', rng), /1 or 2 axes, got 4/);
  assert.throws(() => renderHomeContext({ detail: 'long' as never }, 'profile', rng), /"long" is not a value of axis detail/);
});

test('the knowledge base is fixed, sized as planned, and its answers are unambiguous', () => {
  const kb = knowledgeBase();
  assert.deepEqual(knowledgeBase(), kb);
  assert.ok(kb.length >= 150 && kb.length <= 250, `knowledge base has ${kb.length} facts`);
  assert.equal(new Set(kb.map((f) => f.id)).size, kb.length);
  const answers = factSet().map((f) => f.answer.toLowerCase());
  assert.equal(new Set(answers).size, answers.length, 'factSet answers are not unique');
  for (const a of answers) {
    const containing = answers.filter((b) => b !== a && b.includes(a));
    assert.deepEqual(containing, [], `answer "${a}" is inside other answers`);
  }
  for (const f of kb) {
    assert.ok(f.statement.includes(f.answer), f.id);
    assert.ok(f.questions.length >= 2 && f.questions[0] === f.question, f.id);
    assert.ok(f.questions.every((q) => q.endsWith('?')), f.id);
  }
  assert.deepEqual(factSet().map((f) => f.question), kb.map((f) => f.question));
});

test('fact dialogues answer with the fact, in every style', () => {
  const rng = new Random(2024);
  for (const f of knowledgeBase()) {
    for (let i = 0; i < 4; i++) {
      const d = generateHomeDialogue(rng, { factId: f.id, feedback: false });
      assert.equal(d.task, 'fact');
      assert.equal(d.factId, f.id);
      assert.ok(f.questions.includes(d.turns[d.turns.length - 2].content));
      assert.ok(firstReply(d).includes(f.answer), `reply to ${f.id} lacks "${f.answer}":\n${firstReply(d)}`);
    }
  }
  assert.throws(() => generateHomeDialogue(rng, { factId: 'no-such-fact' }), /no fact with id "no-such-fact"/);
  assert.throws(() => generateHomeDialogue(rng, { task: 'juggling' }), /unknown task "juggling"/);
});

test('every task occurs and dialogues stay short', () => {
  const rng = new Random(31337);
  const dialogues = Array.from({ length: 3000 }, () => generateHomeDialogue(rng, { feedback: false }));
  for (const task of homeTasks) assert.ok(dialogues.filter((d) => d.task === task).length > 450, task);
  const words = dialogues.map((d) => wordCount(d.turns.map((t) => t.content).join(' '))).sort((a, b) => a - b);
  const p95 = words[Math.floor(0.95 * words.length)];
  console.log(`words per dialogue: median ${words[words.length >> 1]}, 95th percentile ${p95}, max ${words[words.length - 1]}`);
  assert.ok(words[words.length >> 1] < 80 && p95 < 120, `dialogues too long: median ${words[words.length >> 1]}, p95 ${p95}`);
});

test('feedback dialogues render the feedback and follow it in the next reply', () => {
  const rng = new Random(99);
  let corrections = 0;
  for (let i = 0; i < 400; i++) {
    const d = generateHomeDialogue(rng, { feedback: true });
    const replies = assistantReplies(d);
    assert.equal(replies.length, 2);
    assert.equal(d.replyStyles.length, 2);
    assert.deepEqual(d.replyStyles[0], d.style);
    const textual = d.feedback.filter((f) => f.feedback.kind !== 'thumbs');
    assert.equal(textual.length, 1);
    const { turn, feedback } = textual[0];
    assert.equal(d.turns[turn].role, 'assistant');
    assert.equal(d.turns[turn].content, replies[0]);
    assert.ok(feedback.kind === 'correction' || feedback.kind === 'preference');
    assert.ok(d.turns[turn + 1].role === 'user' && d.turns[turn + 1].content.startsWith(feedback.text), 'feedback text is not rendered');
    // The feedback names one axis; the follow-up has that value and otherwise the same style.
    const asked = statedStyle(feedback.text);
    const [axis] = Object.keys(asked) as HomeAxis[];
    assert.equal(Object.keys(asked).length, 1, feedback.text);
    assert.deepEqual(d.replyStyles[1], { ...d.style, [axis]: asked[axis] });
    if (feedback.kind === 'correction') {
      corrections++;
      assert.equal(asked[axis], oppositeValue(axis, d.style[axis]), 'a correction must ask for a change');
    }
    assert.deepEqual(judgedHomeStyle(replies[1]), d.replyStyles[1], replies[1]);
    // Thumbs are metadata only: never rendered as a turn.
    for (const f of d.feedback.filter((x) => x.feedback.kind === 'thumbs')) assert.equal(d.turns[f.turn].role, 'assistant');
  }
  assert.ok(corrections > 150 && corrections < 250, `corrections ${corrections}`);
  const share = Array.from({ length: 2000 }, () => generateHomeDialogue(rng).feedback.length > 0).filter(Boolean).length / 2000;
  assert.ok(share > 0.07 && share < 0.13, `feedback share ${share}`);
});

test('simulated users judge reply text against their hidden preferences', () => {
  const users = createHomeUsers(5, 40);
  assert.deepEqual(createHomeUsers(5, 40), users);
  assert.notDeepEqual(createHomeUsers(6, 40), users);
  assert.ok(users.every((u) => Object.keys(u.preferences).length >= 1 && u.statesPreferenceRate > 0 && u.statesPreferenceRate < 1));
  const rng = new Random(1234);
  let violating = 0;
  let negative = 0;
  let matchingPositive = 0;
  let matching = 0;
  for (const user of users) {
    for (let i = 0; i < 50; i++) {
      const style = { ...randomHomeStyle(rng), ...user.preferences };
      const good = firstReply(generateHomeDialogue(rng, { style, feedback: false, userId: user.id }));
      const reaction = userReaction(user, good, rng);
      matching++;
      assert.ok(reaction === null || reaction.kind === 'preference' || (reaction.kind === 'thumbs' && reaction.up), `matching reply got ${JSON.stringify(reaction)}`);
      if (reaction?.kind === 'thumbs') matchingPositive++;
      if (reaction?.kind === 'preference') assert.deepEqual({ ...user.preferences, ...statedStyle(reaction.text) }, user.preferences);

      const axes = Object.keys(user.preferences) as HomeAxis[];
      const axis = axes[rng.int(axes.length)];
      const bad = firstReply(generateHomeDialogue(rng, { style: { ...style, [axis]: oppositeValue(axis, style[axis]) }, feedback: false }));
      const badReaction = userReaction(user, bad, rng);
      violating++;
      if (badReaction === null || (badReaction.kind === 'thumbs' && badReaction.up)) continue;
      negative++;
      if (badReaction.kind !== 'thumbs') {
        // Words name a violated axis and ask for the preferred value.
        const asked = statedStyle(badReaction.text);
        const [named] = Object.keys(asked) as HomeAxis[];
        assert.equal(asked[named], user.preferences[named], badReaction.text);
      }
    }
  }
  console.log(`userReaction: ${(negative / violating * 100).toFixed(1)}% negative on violating replies, ${(matchingPositive / matching * 100).toFixed(1)}% thumbs up on matching ones`);
  assert.ok(negative / violating > 0.8, `only ${negative} of ${violating} violating replies got a negative reaction`);
  assert.ok(matchingPositive / matching > 0.5);
});

