import assert from 'node:assert/strict';
import { test } from 'node:test';
import { statedCodingAxes } from '../src/world/coding/contexts.js';
import { specialTokens } from '../src/world/chatFormat.js';
import { contrastPairs } from '../src/world/contrastPairs.js';

const systemTurn = (text: string): string => text.slice(text.indexOf(specialTokens.system) + specialTokens.system.length, text.indexOf(specialTokens.end));
const afterSystem = (text: string): string => text.slice(text.indexOf(specialTokens.end));

test('prompt pairs: the same request behind contexts stating opposite sides, ending at the assistant tag', () => {
  const pairs = contrastPairs('coding', 'comments', 24, 5, { side: 'dense', form: 'prompts' });
  assert.equal(pairs.pos.length, 24);
  for (let i = 0; i < pairs.pos.length; i++) {
    const [pos, neg] = [pairs.pos[i], pairs.neg[i]];
    assert.ok(pos.endsWith(specialTokens.assistant) && neg.endsWith(specialTokens.assistant), 'a prompt ends at the assistant tag');
    assert.equal(afterSystem(pos), afterSystem(neg), 'the request is identical');
    // Exactly the one axis is stated, on its own side.
    assert.deepEqual(statedCodingAxes(systemTurn(pos)), { comments: 'dense' });
    assert.deepEqual(statedCodingAxes(systemTurn(neg)), { comments: 'sparse' });
  }
});

test('prompt pairs: roles cycle the other roles on the negative side; home axes work too; bad forms are named', () => {
  const roles = contrastPairs('coding', 'role', 6, 1, { side: 'machine', form: 'prompts' });
  assert.deepEqual(roles.neg.map((text) => statedCodingAxes(systemTurn(text)).role), ['architect', 'fixer', 'techlead', 'architect', 'fixer', 'techlead']);
  const home = contrastPairs('home', 'warmth', 4, 2, { side: 'warm', form: 'prompts' });
  for (const text of home.pos) assert.ok(text.includes(specialTokens.system) && text.endsWith(specialTokens.assistant));
  assert.notEqual(home.pos[0], home.neg[0]);
  assert.throws(() => contrastPairs('home', 'warmth', 4, 2, { side: 'warm', form: 'speeches' as never }), /unknown form "speeches"; expected replies, prompts, openings/);
});

test('reply pairs are unchanged by the form option: default and explicit replies agree', () => {
  assert.deepEqual(contrastPairs('home', 'detail', 8, 3), contrastPairs('home', 'detail', 8, 3, { form: 'replies' }));
});

test('opening pairs: the prompt pairs, each followed by the same first line of the reply written on the opening side', () => {
  const prompts = contrastPairs('home', 'warmth', 12, 4, { side: 'warm', form: 'prompts' });
  const replies = contrastPairs('home', 'warmth', 12, 4, { side: 'warm' });
  const openings = contrastPairs('home', 'warmth', 12, 4, { side: 'warm', form: 'openings', opening: 'neutral' });
  for (let i = 0; i < 12; i++) {
    // The neutral reply of reply pair i is the opening's source.
    const neutralReply = replies.neg[i].slice(replies.neg[i].indexOf(specialTokens.assistant) + specialTokens.assistant.length);
    // A brief reply is a single line that ends at the end tag.
    const firstLine = neutralReply.split('\n', 1)[0].split(specialTokens.end, 1)[0];
    assert.ok(firstLine.length > 0, `pair ${i}: the opening is text of the reply`);
    assert.equal(openings.pos[i], prompts.pos[i] + firstLine);
    assert.equal(openings.neg[i], prompts.neg[i] + firstLine);
  }
});

test('opening pairs: the opening value is required for that form, refused for the others, and must be a value of the axis', () => {
  assert.throws(() => contrastPairs('home', 'detail', 2, 1, { form: 'openings' }), /openings form needs the value .* \(one of brief, detailed\)/);
  assert.throws(() => contrastPairs('home', 'detail', 2, 1, { form: 'prompts', opening: 'brief' }), /an opening \("brief"\) only applies to the openings form, not prompts/);
  assert.throws(() => contrastPairs('home', 'detail', 2, 1, { form: 'openings', opening: 'long' }), /opening "long" is not a value of the home axis detail; expected one of brief, detailed/);
});
