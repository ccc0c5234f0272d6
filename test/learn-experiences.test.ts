import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { acceptedReply, checkExperience, parseExperiencesJsonl, readExperiencesFile, teacherPromptTurns } from '../src/learn/index.js';

// The interactions file: every bad line is reported with its number and reason
// and skipped, every good line kept, and no content makes the parser throw.

const good = (id: string) => JSON.stringify({ id, prompt: 'Remind me to call Ada at 5 pm.', reply: 'I will remind you at 5 pm.', reaction: { kind: 'thumbs', up: true } });

test('bad lines are reported with their line numbers and reasons, and skipped; good lines are kept', () => {
  const lines = [
    good('a'),
    '',
    '{"prompt": "hi", "reply": ',
    JSON.stringify({ prompt: 'hi', reply: 'hello', reaction: { kind: 'thumbs', up: 'yes' } }),
    JSON.stringify({ prompt: 'hi', reply: 'hello', reaction: { kind: 'shrug' } }),
    JSON.stringify({ prompt: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hey' }], reply: 'hello', reaction: { kind: 'none' } }),
    JSON.stringify({ prompt: 'hi', reply: 'hello', reaction: { kind: 'none' }, contxt: { profile: 'x' } }),
    JSON.stringify({ prompt: 'hi', reply: 'hello\u0000', reaction: { kind: 'none' } }),
    JSON.stringify({ prompt: 'hi', reply: 'hello', reaction: { kind: 'none' }, trust: 1.5 }),
    '[1, 2, 3]',
    JSON.stringify({ prompt: 'hi', reply: 'hello', reaction: { kind: 'thumbs', up: true, text: 'nice' } }),
    JSON.stringify({ prompt: 'hi', reply: 'hello', reaction: { kind: 'none' }, context: { memory: 'likes tea' } }),
    good('b'),
    'x'.repeat(200_001),
    JSON.stringify({ prompt: 'hi', reply: 'x'.repeat(9000), reaction: { kind: 'none' } }),
    '\u0001\u0002binary\uFFFD',
    good('c'),
  ];
  const { experiences, errors } = parseExperiencesJsonl(lines.join('\r\n'));
  assert.deepEqual(experiences.map((e) => [e.line, e.experience.id]), [[1, 'a'], [13, 'b'], [17, 'c']]);
  const byLine = new Map(errors.map((e) => [e.line, e.reason]));
  assert.deepEqual([...byLine.keys()], [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16]);
  assert.match(byLine.get(3)!, /^not valid JSON/);
  assert.match(byLine.get(4)!, /reaction\.up must be true or false, got the string "yes"/);
  assert.match(byLine.get(5)!, /reaction\.kind must be one of thumbs, correction, preference, none, got the string "shrug"/);
  assert.match(byLine.get(6)!, /prompt must end with a user turn/);
  assert.match(byLine.get(7)!, /has unknown field "contxt"/);
  assert.match(byLine.get(8)!, /reply contains the control character U\+0000 at character 5/);
  assert.match(byLine.get(9)!, /trust must be a number in \[0, 1\], got number 1.5/);
  assert.match(byLine.get(10)!, /the line must be an object, got a list of 3/);
  assert.match(byLine.get(11)!, /reaction of kind "thumbs" has no field "text"/);
  assert.match(byLine.get(12)!, /context\.memory must be a list of notes/);
  assert.match(byLine.get(14)!, /the line is 200001 characters long, over the limit of 100000; not parsed/);
  assert.match(byLine.get(15)!, /reply is 9000 characters long, over the limit of 8000/);
  assert.match(byLine.get(16)!, /^not valid JSON/);
});

test('no input makes the parser throw: random bytes, deep nesting, odd JSON values', () => {
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  for (let round = 0; round < 50; round++) {
    const text = Array.from({ length: 300 }, () => String.fromCharCode(next() % 0x3000)).join('');
    const { experiences, errors } = parseExperiencesJsonl(text);
    assert.equal(experiences.length, 0);
    assert.ok(errors.length >= 1);
  }
  const odd = ['null', 'true', '"text"', '1e400', '{"__proto__": {"polluted": 1}, "prompt": "hi", "reply": "x", "reaction": {"kind": "none"}}', `${'['.repeat(5000)}${']'.repeat(5000)}`];
  const { errors } = parseExperiencesJsonl(odd.join('\n'));
  assert.equal(errors.length, odd.length);
  assert.match(errors[4].reason, /unknown field "__proto__"/);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('the example file parses whole, and its parts feed the objectives as documented', () => {
  const path = fileURLToPath(new URL('../../examples/interactions.jsonl', import.meta.url));
  const { experiences, errors } = readExperiencesFile(path);
  assert.deepEqual(errors, []);
  assert.equal(experiences.length, readFileSync(path, 'utf8').trim().split('\n').length);
  const [first, second, third, fourth] = experiences.map((e) => e.experience);
  assert.equal(acceptedReply(first), 'I will remind you to water the ferns at 6 pm.', 'a correction with correctedReply gives the accepted reply');
  assert.equal(acceptedReply(second), second.reply);
  assert.equal(acceptedReply(third), null, 'a thumbs down accepts nothing');
  const teacher = teacherPromptTurns(first)!;
  assert.equal(teacher[0].role, 'system');
  assert.equal(teacher[0].content, 'User profile: prefers direct answers.\nEarlier correction from this user: "Please stop hedging and get to the point."');
  assert.equal(teacherPromptTurns(second)![0].content, 'Memory notes:\n- Wants the answer first, with no preamble.\n- Likes short answers.');
  const preference = teacherPromptTurns(fourth)!;
  assert.equal(preference.length, 1, 'a preference goes in front of the request, as users state it in the world');
  assert.equal(preference[0].content, 'From now on, get straight to the point. My friend moved away and I miss her.');
  assert.equal(teacherPromptTurns({ prompt: 'hi', reply: 'hello', reaction: { kind: 'thumbs', up: true } }), null, 'nothing to distil');
});

test('checkExperience builds a fresh object and names the first wrong field', () => {
  const input = { prompt: 'hi', reply: 'hello', reaction: { kind: 'correction', text: 'shorter please' }, context: { memory: ['likes tea'] } };
  const checked = checkExperience(input);
  assert.ok(checked.ok);
  assert.notEqual(checked.experience.context, input.context);
  assert.deepEqual(checked.experience, input);
  const missing = checkExperience({ reply: 'hello', reaction: { kind: 'none' } });
  assert.ok(!missing.ok && /^prompt is missing/.test(missing.reason));
  const empty = checkExperience({ prompt: '   ', reply: 'hello', reaction: { kind: 'none' } });
  assert.ok(!empty.ok && /^prompt must not be empty/.test(empty.reason));
});
