import assert from 'node:assert/strict';
import { test } from 'node:test';
import { statedCodingAxes } from '../src/world/coding/contexts.js';
import { specialTokens } from '../src/world/chatFormat.js';
import { contrastPairs } from '../src/world/contrastPairs.js';

const systemTurn = (text: string): string => text.slice(text.indexOf(specialTokens.system) + specialTokens.system.length, text.indexOf(specialTokens.end));
const afterSystem = (text: string): string => text.slice(text.indexOf(specialTokens.end));

test('prompt pairs: the same request behind contexts stating opposite sides, ending at the assistant tag', () => {
  const pairs = contrastPairs('coding', 'comments', 24, 5, 'dense', 'prompts');
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
  const roles = contrastPairs('coding', 'role', 6, 1, 'machine', 'prompts');
  assert.deepEqual(roles.neg.map((text) => statedCodingAxes(systemTurn(text)).role), ['architect', 'fixer', 'techlead', 'architect', 'fixer', 'techlead']);
  const home = contrastPairs('home', 'warmth', 4, 2, 'warm', 'prompts');
  for (const text of home.pos) assert.ok(text.includes(specialTokens.system) && text.endsWith(specialTokens.assistant));
  assert.notEqual(home.pos[0], home.neg[0]);
  assert.throws(() => contrastPairs('home', 'warmth', 4, 2, 'warm', 'speeches' as never), /unknown form "speeches"; expected replies or prompts/);
});

test('reply pairs are unchanged by the form option: default and explicit replies agree', () => {
  assert.deepEqual(contrastPairs('home', 'detail', 8, 3), contrastPairs('home', 'detail', 8, 3, undefined, 'replies'));
});
