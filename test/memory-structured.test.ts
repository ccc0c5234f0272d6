import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Experience } from '../src/learn/experience.js';
import { Bm25Index, StructuredMemory, extractNotes, quoteStart, tokenize } from '../src/memory/index.js';

// The in-context structured-memory baseline: notes extracted by rule from each
// interaction, BM25 retrieval checked against an independent formula loop, and
// the prompt it builds rendered as the learner's teacher renders memory notes.

const base = { prompt: 'What is on my calendar today?', reply: 'You have a dentist appointment at 3 pm.' };
const withReaction = (reaction: Experience['reaction'], extra: Partial<Experience> = {}): Experience => ({ ...base, reaction, ...extra });

test('a correction gives its text and the wanted reply; ids and createdAt come from the interaction index', () => {
  const notes = extractNotes(withReaction({ kind: 'correction', text: 'Be brief.', correctedReply: 'Dentist, 3 pm.' }), 3);
  assert.deepEqual(notes, [
    { id: '3.0', text: 'Correction: Be brief.', source: 'correction', createdAt: 3 },
    { id: '3.1', text: 'Wanted reply: Dentist, 3 pm.', source: 'correction', createdAt: 3 },
  ]);
  assert.deepEqual(extractNotes(withReaction({ kind: 'correction', text: '  Be brief. ' })).map((n) => n.text), ['Correction: Be brief.']);
});

test('a stated preference is kept as said; none without context gives nothing', () => {
  assert.deepEqual(extractNotes(withReaction({ kind: 'preference', text: 'I like answers in metric units.' }), 1),
    [{ id: '1.0', text: 'I like answers in metric units.', source: 'preference', createdAt: 1 }]);
  assert.deepEqual(extractNotes(withReaction({ kind: 'none' })), []);
});

test('thumbs quote the start of the reply, cut at a word boundary near 80 characters', () => {
  const long = 'Certainly! Here is a detailed overview of everything on your calendar for today, starting with the dentist at three.';
  const [up] = extractNotes(withReaction({ kind: 'thumbs', up: true }, { reply: long }));
  assert.equal(up.source, 'thumbs');
  const match = /^Liked a reply like: "(.*)\.\.\."$/.exec(up.text);
  assert.ok(match, up.text);
  const quoted = match[1];
  assert.ok(quoted.length <= 80 && quoted.length > 60, `quote of ${quoted.length} characters`);
  assert.ok(long.startsWith(`${quoted} `), 'the quote ends at a word boundary of the reply');
  const [down] = extractNotes(withReaction({ kind: 'thumbs', up: false }, { reply: 'Dentist\n at   3.' }));
  assert.equal(down.text, 'Disliked a reply like: "Dentist at 3."');
  assert.equal(quoteStart('x'.repeat(100), 10), `${'x'.repeat(10)}...`);
});

test('context memory and profile become notes, before the reaction, with repeats dropped', () => {
  const experience = withReaction({ kind: 'preference', text: 'Likes tea.' }, {
    context: { profile: 'User profile: prefers direct answers.', memory: ['Likes tea', '  likes   TEA ', 'Has a dog named Rex.', ''] },
  });
  const notes = extractNotes(experience, 5);
  assert.deepEqual(notes.map((n) => [n.source, n.text]), [
    ['profile', 'User profile: prefers direct answers.'],
    ['memory', 'Likes tea'],
    ['memory', 'Has a dog named Rex.'],
    ['preference', 'Likes tea.'],
  ]);
  assert.deepEqual(notes.map((n) => n.id), ['5.0', '5.1', '5.2', '5.3']);
  assert.throws(() => extractNotes(experience, -1), (e: unknown) => e instanceof RangeError && /index must be an integer >= 0/.test(e.message));
});

test('a repeat across interactions is stored once and keeps its first index', () => {
  const memory = new StructuredMemory();
  const experience = withReaction({ kind: 'preference', text: 'Call me Sam.' });
  assert.equal(memory.add(experience, 0).length, 1);
  assert.deepEqual(memory.add(withReaction({ kind: 'preference', text: 'call me   sam.' }), 4), []);
  assert.equal(memory.size, 1);
  assert.equal(memory.notes[0].createdAt, 0);
});

test('tokenize lowercases, splits on non-alphanumerics, drops stop words, does not stem', () => {
  assert.deepEqual(tokenize("The user's Meetings: at 9am, in Zürich!"), ['user', 's', 'meetings', '9am', 'zürich']);
  assert.notDeepEqual(tokenize('meeting'), tokenize('meetings'));
});

// An independent BM25: the textbook formula, one loop per sum, no shared code.
function referenceBm25(corpus: string[][], query: string[], k1: number, b: number): number[] {
  const N = corpus.length;
  let total = 0;
  for (const doc of corpus) total += doc.length;
  const avgdl = total / N;
  const terms = [...new Set(query)];
  return corpus.map((doc) => {
    let score = 0;
    for (const q of terms) {
      let n = 0;
      for (const other of corpus) if (other.includes(q)) n++;
      let f = 0;
      for (const t of doc) if (t === q) f++;
      const idf = Math.log(1 + (N - n + 0.5) / (n + 0.5));
      score += idf * (f * (k1 + 1)) / (f + k1 * (1 - b + b * (doc.length / avgdl)));
    }
    return score;
  });
}

test('BM25 scores match an independent formula loop over a 3-document corpus', () => {
  const texts = ['The cat sat on the mat.', 'A dog and a cat: the dog barked at the cat.', 'Dogs chase cars; the car stopped.'];
  const corpus = [['cat', 'sat', 'mat'], ['dog', 'cat', 'dog', 'barked', 'cat'], ['dogs', 'chase', 'cars', 'car', 'stopped']];
  assert.deepEqual(texts.map(tokenize), corpus, 'the hand-tokenised corpus');
  const index = Bm25Index.fromTexts(texts);
  assert.equal(index.averageLength, 13 / 3);
  // "cat" is in 2 of 3 documents: idf = ln(1 + 1.5 / 2.5).
  assert.ok(Math.abs(index.idf('cat') - Math.log(1.6)) < 1e-12);
  for (const query of ['cat', 'dog cat', 'the dog dog barked', 'car mat zebra', 'zebra', '']) {
    const expected = referenceBm25(corpus, tokenize(query), 1.2, 0.75);
    const got = index.scores(query);
    assert.equal(got.length, 3);
    for (let d = 0; d < 3; d++) assert.ok(Math.abs(got[d] - expected[d]) < 1e-12, `query "${query}", document ${d}: ${got[d]} vs ${expected[d]}`);
  }
  // Document 2 says "dog" twice in five tokens; "cat" once in three wins document 0 on length.
  const dogCat = index.scores('dog cat');
  assert.ok(dogCat[1] > dogCat[0] && dogCat[0] > 0 && dogCat[2] === 0);
  const other = new Bm25Index(corpus, { k1: 2, b: 0.3 }).scoreTokens(['cat', 'car']);
  const expected = referenceBm25(corpus, ['cat', 'car'], 2, 0.3);
  for (let d = 0; d < 3; d++) assert.ok(Math.abs(other[d] - expected[d]) < 1e-12);
  assert.throws(() => new Bm25Index(corpus, { b: 1.5 }), (e: unknown) => e instanceof RangeError && /b must be in \[0, 1\], got 1.5/.test(e.message));
});

function memoryOf(texts: string[], options = {}): StructuredMemory {
  const memory = new StructuredMemory(options);
  texts.forEach((text, i) => memory.add(withReaction({ kind: 'none' }, { context: { memory: [text] } }), i));
  return memory;
}

test('retrieval ranks the note about the query first and leaves out notes that share no term', () => {
  const memory = memoryOf([
    'Has a dog named Rex who needs a walk every morning.',
    'Works as a nurse on night shifts.',
    'Allergic to peanuts; never suggest recipes with peanuts.',
    'Prefers the kitchen lights dimmed after 9 pm.',
  ]);
  const hits = memory.retrieve('Can you suggest a dinner recipe?', 3);
  assert.equal(hits[0].note.text, 'Allergic to peanuts; never suggest recipes with peanuts.');
  assert.ok(hits.every((h) => h.score > 0));
  assert.deepEqual(hits.map((h) => h.note.text), ['Allergic to peanuts; never suggest recipes with peanuts.']);
  assert.equal(memory.retrieve('When should I walk Rex?', 2)[0].note.text, 'Has a dog named Rex who needs a walk every morning.');
  assert.deepEqual(memory.retrieve('quantum chromodynamics', 5), []);
  assert.deepEqual(memory.retrieve('peanuts', 0), []);
  assert.throws(() => memory.retrieve('peanuts', 1.5), (e: unknown) => e instanceof RangeError && /k must be an integer >= 0, got 1.5/.test(e.message));
});

test('equal scores go most recent first, across and within interactions', () => {
  const memory = new StructuredMemory();
  memory.add(withReaction({ kind: 'none' }, { context: { memory: ['Likes green tea.'] } }), 1);
  memory.add(withReaction({ kind: 'none' }, { context: { memory: ['likes green tea!', 'Green tea: likes.'] } }), 2);
  memory.add(withReaction({ kind: 'none' }, { context: { memory: ['Walks to work.'] } }), 3);
  const hits = memory.retrieve('green tea', 10);
  assert.equal(hits.length, 3);
  assert.ok(hits[0].score === hits[1].score && hits[1].score === hits[2].score);
  assert.deepEqual(hits.map((h) => h.note.text), ['Green tea: likes.', 'likes green tea!', 'Likes green tea.']);
  assert.deepEqual(memory.retrieve('green tea', 1).map((h) => h.note.id), ['2.1']);
});

test('alwaysInclude adds notes of the chosen sources whatever their score', () => {
  const experiences: Experience[] = [
    withReaction({ kind: 'preference', text: 'Keep answers short.' }),
    withReaction({ kind: 'none' }, { context: { memory: ['Allergic to peanuts.'] } }),
  ];
  const pure = new StructuredMemory();
  const pinned = new StructuredMemory({ alwaysInclude: ['preference'] });
  experiences.forEach((e, i) => { pure.add(e, i); pinned.add(e, i); });
  assert.deepEqual(pure.retrieve('peanuts', 1).map((h) => h.note.text), ['Allergic to peanuts.']);
  const got = pinned.retrieve('peanuts', 1);
  assert.deepEqual(got.map((h) => [h.note.text, h.score > 0]), [['Allergic to peanuts.', true], ['Keep answers short.', false]]);
  assert.throws(() => new StructuredMemory({ alwaysInclude: ['thumbs' as 'preference'] }), /alwaysInclude entries must be one of preference, correction, got "thumbs"/);
});

test('capacity evicts the oldest non-preference notes first, preferences only when nothing else is left', () => {
  const memory = new StructuredMemory({ capacity: 3 });
  memory.add(withReaction({ kind: 'preference', text: 'Use metric units.' }), 0);
  memory.add(withReaction({ kind: 'thumbs', up: true }), 1);
  memory.add(withReaction({ kind: 'none' }, { context: { memory: ['Lives in Oslo.'] } }), 2);
  const added = memory.add(withReaction({ kind: 'none' }, { context: { memory: ['Has two cats.'] } }), 3);
  assert.deepEqual(added.map((n) => n.text), ['Has two cats.']);
  assert.deepEqual(memory.notes.map((n) => n.source), ['preference', 'memory', 'memory']);
  memory.add(withReaction({ kind: 'correction', text: 'Say it in Celsius.' }), 4);
  assert.deepEqual(memory.notes.map((n) => n.text), ['Use metric units.', 'Has two cats.', 'Correction: Say it in Celsius.']);
  // The evicted text may come back as a new note.
  assert.equal(memory.add(withReaction({ kind: 'none' }, { context: { memory: ['Lives in Oslo.'] } }), 5).length, 1);

  const preferences = new StructuredMemory({ capacity: 2 });
  ['First.', 'Second.', 'Third.'].forEach((text, i) => preferences.add(withReaction({ kind: 'preference', text }), i));
  assert.deepEqual(preferences.notes.map((n) => n.text), ['Second.', 'Third.']);
  assert.throws(() => new StructuredMemory({ capacity: 0 }), (e: unknown) => e instanceof RangeError && /capacity must be an integer >= 1, got 0/.test(e.message));
});

test('JSON round trip keeps the notes and the retrievals; bytes is the size of the JSON', () => {
  const memory = memoryOf(['Has a dog named Rex.', 'Allergic to peanuts.', 'Works night shifts.']);
  memory.add(withReaction({ kind: 'correction', text: 'No peanuts, ever.', correctedReply: 'Here is a peanut-free recipe.' }), 3);
  const text = JSON.stringify(memory);
  assert.equal(memory.bytes(), Buffer.byteLength(text, 'utf8'));
  const parsed = JSON.parse(text) as { format: string; version: number };
  assert.equal(parsed.format, 'imprint.structured-memory');
  assert.equal(parsed.version, 1);
  const copy = StructuredMemory.fromJSON(parsed);
  assert.deepEqual(copy.notes, memory.notes);
  assert.deepEqual(copy.retrieve('peanut recipe peanuts', 3), memory.retrieve('peanut recipe peanuts', 3));
  // Ids stay unique after loading: a new note of an index already used gets the next free ordinal.
  const [fresh] = copy.add(withReaction({ kind: 'preference', text: 'Short answers.' }), 3);
  assert.equal(fresh.id, '3.2');
  assert.equal(StructuredMemory.fromJSON(parsed, { capacity: 2 }).size, 2);
});

test('a malformed memory file is refused with the bad field and what was expected', () => {
  const good = memoryOf(['Likes tea.', 'Has a dog.']).toJSON();
  const broken = (edit: (state: Record<string, unknown> & { notes: Record<string, unknown>[] }) => void) => {
    const state = JSON.parse(JSON.stringify(good)) as Record<string, unknown> & { notes: Record<string, unknown>[] };
    edit(state);
    return () => StructuredMemory.fromJSON(state);
  };
  const refuses = (fn: () => unknown, pattern: RegExp) => assert.throws(fn, (e: unknown) => e instanceof RangeError && pattern.test(e.message), String(pattern));
  refuses(broken((s) => { s.notes[1].createdAt = 'x'; }), /^structured memory: notes\[1\]\.createdAt must be an integer >= 0 \(an interaction index\), got the string "x"$/);
  refuses(broken((s) => { s.notes[0].source = 'rumour'; }), /notes\[0\]\.source must be one of correction, preference, thumbs, memory, profile, got the string "rumour"/);
  refuses(broken((s) => { s.notes[1].text = ''; }), /notes\[1\]\.text must be a non-empty string/);
  refuses(broken((s) => { s.notes[1].txet = 'x'; }), /notes\[1\] has unknown field "txet"/);
  refuses(broken((s) => { s.format = 'imprint.chat-profile'; }), /format must be "imprint\.structured-memory", got the string "imprint\.chat-profile"/);
  refuses(broken((s) => { s.version = 2; }), /version must be 1, got number 2/);
  refuses(broken((s) => { s.notes = {} as never; }), /notes must be a list of notes, got an object/);
  refuses(broken((s) => { s.notes[1].id = s.notes[0].id; }), /holds the id "0\.0" twice/);
  refuses(() => StructuredMemory.fromJSON([1, 2]), /the file must be an object, got a list of 2/);
});

test('the prompt holds the retrieved notes in a system turn rendered as the teacher renders memory notes', () => {
  const memory = memoryOf(['Allergic to peanuts.', 'Has a dog named Rex.', 'Vegetarian; no meat recipes.']);
  const turns = memory.promptTurns('Suggest a recipe without peanuts or meat.', 5);
  assert.equal(turns.length, 2);
  assert.equal(turns[0].role, 'system');
  assert.match(turns[0].content, /^Memory notes:\n- /);
  const lines = turns[0].content.split('\n').slice(1).sort();
  assert.deepEqual(lines, ['- Allergic to peanuts.', '- Vegetarian; no meat recipes.']);
  assert.deepEqual(turns[1], { role: 'user', content: 'Suggest a recipe without peanuts or meat.' });
  assert.deepEqual(memory.contextFor('Where is Rex?', 5), { memory: ['Has a dog named Rex.'] });

  const chat = [{ role: 'user' as const, content: 'Hi.' }, { role: 'assistant' as const, content: 'Hello!' }, { role: 'user' as const, content: 'Walk Rex?' }];
  const withChat = memory.promptTurns(chat, 5);
  assert.deepEqual(withChat, [{ role: 'system', content: 'Memory notes:\n- Has a dog named Rex.' }, ...chat]);
  assert.deepEqual(memory.promptTurns('Tell me a joke.', 5), [{ role: 'user', content: 'Tell me a joke.' }]);
  assert.throws(() => memory.promptTurns([{ role: 'assistant', content: 'x' }], 5), /must end with a user turn, got a last turn of role assistant/);
});

test('the prompt grows as notes about the request are added', () => {
  const query = 'Plan my dinner for tonight.';
  const promptChars = (memory: StructuredMemory) => memory.promptTurns(query, 100).reduce((s, t) => s + t.content.length, 0);
  const memory = new StructuredMemory();
  const extra: number[] = [promptChars(memory) - query.length];
  const facts = ['Dinner is usually at 7 pm.', 'Cooks dinner for two kids.', 'No spicy food at dinner.', 'Likes fish for dinner on Fridays.'];
  facts.forEach((fact, i) => {
    memory.add(withReaction({ kind: 'none' }, { context: { memory: [fact] } }), i);
    extra.push(promptChars(memory) - query.length);
  });
  assert.equal(extra[0], 0);
  for (let i = 1; i < extra.length; i++) assert.ok(extra[i] > extra[i - 1], `extra prompt characters ${extra.join(', ')}`);
  assert.ok(memory.bytes() > new StructuredMemory().bytes());
});
