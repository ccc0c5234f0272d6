import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { encode as r50kEncode } from 'gpt-tokenizer/encoding/r50k_base';
import { TextTokenizer, TokenizerError, type ChatMessage } from '../src/io/tokenizer.js';
import { StreamingDecoder } from '../src/io/streamingDecoder.js';
import { renderChatTemplate } from '../src/io/chatTemplate.js';
import { trainByteLevelBpe } from '../src/io/bpeTrainer.js';

const fixtureDir = fileURLToPath(new URL('../../../shared/fixtures/gpt2-random', import.meta.url));
const skipFixture = existsSync(join(fixtureDir, 'tokenizer.json')) ? false : `fixture absent: ${fixtureDir}`;

// Accents (precomposed and combining), CJK, emoji (with skin tone and ZWJ joins),
// whitespace runs, tabs, newlines, trailing spaces, contractions and digits.
const PARAGRAPH = [
  "Héllo, wörld! It's a naïve café — they'll say we'd've known. I'M SURE you're right, DON'T worry.",
  'Cafe\u0301 and e\u0301\u0301 use combining marks; 日本語のテキストと中文字符, 한국어도.',
  'Emoji: 🤖 👍🏽 👨‍👩‍👧‍👦 🇫🇷 ✨',
  'Numbers 3.14159, 1,000,000 and 2024-06-01 at 12:30.',
  'Spaces:  two,   three,\ttab,\t\ttwo tabs,\n\nblank line above,  \n  indented line   ',
].join('\n');

function fixtureTokenizer(): TextTokenizer {
  return TextTokenizer.fromDirectory(fixtureDir);
}

function temporaryDirectory(): string {
  return mkdtempSync(join(tmpdir(), 'imprint-tokenizer-'));
}

// A small byte-level tokenizer of our own, so that tests without the fixture still
// cover streaming and chat templates.
const CHAT_SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'];
function trainedTokenizer(chatTemplate?: string): TextTokenizer {
  const texts = Array.from({ length: 60 }, (_, i) => `the assistant said hello ${i} times to the user, café ✨`);
  const trained = trainByteLevelBpe(texts, { vocabSize: 330, specialTokens: CHAT_SPECIALS, chatTemplate });
  return TextTokenizer.fromJson(trained.tokenizerJson, trained.tokenizerConfig);
}

test('GPT-2 fixture: ids equal the r50k reference encoding and decode restores the text', { skip: skipFixture }, () => {
  const tokenizer = fixtureTokenizer();
  const ids = tokenizer.encode(PARAGRAPH);
  assert.deepEqual(ids, r50kEncode(PARAGRAPH));
  assert.equal(tokenizer.decode(ids), PARAGRAPH);
  for (const line of PARAGRAPH.split('\n')) {
    assert.deepEqual(tokenizer.encode(line), r50kEncode(line), `line ${JSON.stringify(line)}`);
  }
});

test('GPT-2 fixture: vocabulary size, special ids and flags', { skip: skipFixture }, () => {
  const tokenizer = fixtureTokenizer();
  assert.equal(tokenizer.vocabSize, 50257);
  assert.equal(tokenizer.bosTokenId, 50256);
  assert.equal(tokenizer.eosTokenId, 50256);
  assert.equal(tokenizer.padTokenId, null);
  // GPT-2's post_processor adds nothing, so neither does encode.
  assert.equal(tokenizer.addBosToken, false);
  assert.deepEqual(tokenizer.encode('hello'), tokenizer.encode('hello', { addSpecialTokens: false }));
  assert.ok(tokenizer.isSpecial(50256));
  assert.ok(!tokenizer.isSpecial(tokenizer.tokenToId('hello') ?? -1));
  assert.equal(tokenizer.idToToken(50256), '<|endoftext|>');
  assert.equal(tokenizer.idToToken(50257), null);
  assert.equal(tokenizer.tokenToId('Ġworld'), 995);
  assert.equal(tokenizer.tokenToId('no-such-token-here'), null);
  const ids = tokenizer.encode('one<|endoftext|>two');
  assert.ok(ids.includes(50256));
  assert.equal(tokenizer.decode(ids), 'one<|endoftext|>two');
  assert.equal(tokenizer.decode(ids, { skipSpecialTokens: true }), 'onetwo');
  assert.equal(tokenizer.decode([]), '');
  assert.equal(tokenizer.hasChatTemplate, false);
  assert.throws(() => tokenizer.decode([50257]), (error: unknown) => error instanceof TokenizerError && /token id 50257/.test(error.message));
});

function streamAll(decoder: StreamingDecoder, ids: number[]): string[] {
  const deltas = ids.map((id) => decoder.push(id));
  deltas.push(decoder.flush());
  return deltas;
}

test('GPT-2 fixture: streamed deltas add up to the full decode and never hold a broken character', { skip: skipFixture }, () => {
  const tokenizer = fixtureTokenizer();
  const ids = tokenizer.encode(PARAGRAPH);
  // The test only means something if some emoji is split over several byte tokens.
  assert.ok(ids.some((id) => tokenizer.decode([id]).includes('\uFFFD')), 'expected a character split over tokens');
  const decoder = new StreamingDecoder(tokenizer);
  const deltas = streamAll(decoder, ids);
  for (const delta of deltas) assert.ok(!delta.includes('\uFFFD'), `delta ${JSON.stringify(delta)} holds U+FFFD`);
  assert.equal(deltas.join(''), tokenizer.decode(ids));
  assert.equal(decoder.text, PARAGRAPH);
});

test('streaming a byte-level tokenizer: emoji bytes are held back until complete', () => {
  const tokenizer = trainedTokenizer();
  const text = 'the user 🤖 said 👨‍👩‍👧 héllo ✨ to the assistant 日本';
  const ids = tokenizer.encode(text, { addSpecialTokens: false });
  const robotIds = tokenizer.encode('🤖', { addSpecialTokens: false });
  assert.ok(robotIds.length > 1, 'the robot emoji should span several byte tokens');
  const decoder = new StreamingDecoder(tokenizer);
  const deltas = streamAll(decoder, ids);
  assert.ok(deltas.includes(''), 'incomplete characters should produce empty deltas');
  for (const delta of deltas) assert.ok(!delta.includes('\uFFFD'), `delta ${JSON.stringify(delta)} holds U+FFFD`);
  assert.equal(deltas.join(''), text);
  assert.equal(decoder.text, text);
});

test('streaming skips special tokens when asked and flush emits a trailing incomplete character', () => {
  const tokenizer = trainedTokenizer();
  const ids = [1, ...tokenizer.encode('hello ✨', { addSpecialTokens: false }), 2];
  const skipping = new StreamingDecoder(tokenizer, { skipSpecialTokens: true });
  assert.equal(streamAll(skipping, ids).join(''), 'hello ✨');
  const keeping = new StreamingDecoder(tokenizer);
  assert.equal(streamAll(keeping, ids).join(''), '<|im_start|>hello ✨<|im_end|>');
  // A generation cut off in the middle of a character: flush gives what decode gives.
  const truncated = tokenizer.encode('ok 🤖', { addSpecialTokens: false }).slice(0, -1);
  const cut = new StreamingDecoder(tokenizer);
  const deltas = streamAll(cut, truncated);
  assert.equal(deltas.join(''), tokenizer.decode(truncated));
  assert.ok(deltas[deltas.length - 1].endsWith('\uFFFD'));
});

// A SentencePiece-like tokenizer: the Metaspace decoder drops the leading space of
// the first token it sees, so decoding one id at a time loses every space.
function metaspaceTokenizer(): TextTokenizer {
  const vocab: Record<string, number> = { '<s>': 0, '</s>': 1 };
  for (const symbol of ['▁', 'h', 'e', 'l', 'o', 'w', 'r', 'd']) vocab[symbol] = Object.keys(vocab).length;
  const merges: Array<[string, string]> = [['▁', 'h'], ['e', 'l'], ['▁h', 'el'], ['l', 'o'], ['▁', 'w'], ['o', 'r']];
  for (const [left, right] of merges) vocab[left + right] = Object.keys(vocab).length;
  const special = (id: number, content: string) => ({ id, content, special: true, single_word: false, lstrip: false, rstrip: false, normalized: false });
  const metaspace = { replacement: '▁', prepend_scheme: 'always', split: true };
  return TextTokenizer.fromJson({
    version: '1.0',
    added_tokens: [special(0, '<s>'), special(1, '</s>')],
    normalizer: null,
    pre_tokenizer: { type: 'Metaspace', ...metaspace },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [],
      special_tokens: { '<s>': { id: '<s>', ids: [0], tokens: ['<s>'] } },
    },
    decoder: { type: 'Metaspace', ...metaspace },
    model: { type: 'BPE', dropout: null, unk_token: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  }, { bos_token: '<s>', eos_token: { content: '</s>' } });
}

test('streaming a SentencePiece-style tokenizer keeps the spaces a per-token decode loses', () => {
  const tokenizer = metaspaceTokenizer();
  assert.equal(tokenizer.addBosToken, true);
  assert.equal(tokenizer.eosTokenId, 1);
  const ids = tokenizer.encode('hello world hello');
  assert.equal(ids[0], 0);
  const perToken = ids.slice(1).map((id) => tokenizer.decode([id])).join('');
  assert.notEqual(perToken, 'hello world hello');
  const deltas = streamAll(new StreamingDecoder(tokenizer, { skipSpecialTokens: true }), ids);
  assert.equal(deltas.join(''), 'hello world hello');
  assert.equal(streamAll(new StreamingDecoder(tokenizer), ids).join(''), tokenizer.decode(ids));
  // A skipped special token in the middle decodes to nothing, so it cannot serve as
  // the context that keeps the next word's leading space.
  const withEos = [...ids.slice(0, 3), 1, ...ids.slice(3)];
  const expected = tokenizer.decode(withEos, { skipSpecialTokens: true });
  assert.equal(expected, 'hello world hello');
  assert.equal(streamAll(new StreamingDecoder(tokenizer, { skipSpecialTokens: true }), withEos).join(''), expected);
});

const MESSAGES: ChatMessage[] = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Turn on the light.' },
  { role: 'assistant', content: 'Done.' },
  { role: 'user', content: 'Thanks!' },
];

// Written the way published templates are: block tags on their own lines (the
// engine applies trim_blocks and lstrip_blocks, as transformers does) and "-" to
// drop the newlines around expressions.
const CHATML_TEMPLATE = [
  '{{- bos_token }}',
  '{%- for message in messages %}',
  "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}",
  '{%- endfor %}',
  '{%- if add_generation_prompt %}',
  "{{- '<|im_start|>assistant\\n' }}",
  '{%- endif %}',
].join('\n');

const LLAMA3_TEMPLATE = [
  '{% set loop_messages = messages %}',
  '{% for message in loop_messages %}',
  "    {% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' %}",
  '    {% if loop.index0 == 0 %}',
  '        {% set content = bos_token + content %}',
  '    {% endif %}',
  '    {{- content -}}',
  '{% endfor %}',
  '{% if add_generation_prompt %}',
  "    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}",
  '{% endif %}',
].join('\n');

test('a ChatML template renders the exact prompt, with and without the generation prompt', () => {
  const tokenizer = trainedTokenizer(CHATML_TEMPLATE);
  assert.equal(tokenizer.hasChatTemplate, true);
  const conversation =
    '<|endoftext|><|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nTurn on the light.<|im_end|>\n'
    + '<|im_start|>assistant\nDone.<|im_end|>\n<|im_start|>user\nThanks!<|im_end|>\n';
  assert.equal(tokenizer.applyChatTemplate(MESSAGES), conversation);
  const prompt = tokenizer.applyChatTemplate(MESSAGES, { addGenerationPrompt: true });
  assert.equal(prompt, `${conversation}<|im_start|>assistant\n`);
  // The markers are special tokens, so each encodes as one id.
  const ids = tokenizer.encode(prompt, { addSpecialTokens: false });
  assert.equal(ids.filter((id) => id === 1).length, 5);
  assert.equal(ids[0], 0);
});

test('a Llama-3 style template renders the exact prompt (trimmed content, BOS once, block whitespace stripped)', () => {
  const rendered = renderChatTemplate(LLAMA3_TEMPLATE, [
    { role: 'system', content: '  Be kind. ' },
    { role: 'user', content: 'Hi\n' },
  ], { bosToken: '<|begin_of_text|>', eosToken: '<|eot_id|>', addGenerationPrompt: true });
  assert.equal(rendered,
    '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe kind.<|eot_id|>'
    + '<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>'
    + '<|start_header_id|>assistant<|end_header_id|>\n\n');
});

test('chat templates: a list of named templates picks "default"; extra variables reach the template', () => {
  const trained = trainByteLevelBpe(['hello there'], { vocabSize: 260 });
  const config = {
    ...(trained.tokenizerConfig as Record<string, unknown>),
    chat_template: [
      { name: 'tool_use', template: 'TOOLS' },
      { name: 'default', template: '{{ greeting }}{% for m in messages %}[{{ m.role }}]{% endfor %}' },
    ],
  };
  const tokenizer = TextTokenizer.fromJson(trained.tokenizerJson, config);
  assert.equal(tokenizer.applyChatTemplate(MESSAGES.slice(0, 2), { extra: { greeting: 'hi' } }), 'hi[system][user]');
  const noDefault = TextTokenizer.fromJson(trained.tokenizerJson, { ...config, chat_template: [{ name: 'rag', template: 'x' }] });
  assert.equal(noDefault.hasChatTemplate, false);
  assert.throws(() => noDefault.applyChatTemplate(MESSAGES), /templates named \[rag\] but none named "default"/);
});

test('chat templates: raise_exception and broken templates surface as TokenizerError', () => {
  const strict = "{% if messages[0]['role'] != 'system' %}{{ raise_exception('the first message must be a system message') }}{% endif %}ok";
  assert.equal(renderChatTemplate(strict, MESSAGES, {}), 'ok');
  assert.throws(
    () => renderChatTemplate(strict, MESSAGES.slice(1), {}),
    (error: unknown) => error instanceof TokenizerError && /failed to render: the first message must be a system message/.test(error.message),
  );
  assert.throws(() => renderChatTemplate('{% for m in messages %}', MESSAGES, {}), TokenizerError);
});

test('applyChatTemplate without a template names the missing chat_template', () => {
  const tokenizer = trainedTokenizer();
  assert.equal(tokenizer.hasChatTemplate, false);
  assert.throws(
    () => tokenizer.applyChatTemplate(MESSAGES),
    (error: unknown) => error instanceof TokenizerError && /no chat template/.test(error.message) && /chat_template/.test(error.message),
  );
});

test('missing or invalid files raise TokenizerError naming the path', () => {
  const dir = temporaryDirectory();
  try {
    const tokenizerPath = join(dir, 'tokenizer.json');
    assert.throws(() => TextTokenizer.fromDirectory(dir), (error: unknown) => error instanceof TokenizerError && error.message.includes(tokenizerPath) && /not found/.test(error.message));
    writeFileSync(tokenizerPath, '{"model": ');
    assert.throws(() => TextTokenizer.fromDirectory(dir), (error: unknown) => error instanceof TokenizerError && error.message.includes(tokenizerPath) && /not valid JSON/.test(error.message));
    writeFileSync(tokenizerPath, '[1, 2]');
    assert.throws(() => TextTokenizer.fromDirectory(dir), (error: unknown) => error instanceof TokenizerError && error.message.includes(tokenizerPath) && /JSON object/.test(error.message));
    writeFileSync(tokenizerPath, '{"model": {"type": "NoSuchModel"}}');
    assert.throws(() => TextTokenizer.fromDirectory(dir), (error: unknown) => error instanceof TokenizerError && error.message.includes(tokenizerPath));
    const trained = trainByteLevelBpe(['hello'], { vocabSize: 257 });
    writeFileSync(tokenizerPath, JSON.stringify(trained.tokenizerJson));
    const configPath = join(dir, 'tokenizer_config.json');
    writeFileSync(configPath, '{oops}');
    assert.throws(() => TextTokenizer.fromDirectory(dir), (error: unknown) => error instanceof TokenizerError && error.message.includes(configPath));
    writeFileSync(configPath, JSON.stringify({ eos_token: '<|missing|>' }));
    assert.throws(() => TextTokenizer.fromDirectory(dir), /eos_token "<\|missing\|>" is not in the vocabulary/);
    // Without a config the tokenizer still loads, with no special ids named.
    rmSync(configPath);
    const bare = TextTokenizer.fromDirectory(dir);
    assert.equal(bare.eosTokenId, null);
    assert.deepEqual(bare.tokenizerConfig, {});
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a chat_template.jinja beside the config is used when the config has none', () => {
  const dir = temporaryDirectory();
  try {
    trainedTokenizer().save(dir);
    writeFileSync(join(dir, 'chat_template.jinja'), '{% for m in messages %}<{{ m.content }}>{% endfor %}');
    const tokenizer = TextTokenizer.fromDirectory(dir);
    assert.equal(tokenizer.applyChatTemplate(MESSAGES.slice(0, 2)), '<You are terse.><Turn on the light.>');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('GPT-2 fixture: save() then fromDirectory() gives identical encodings and no stray files', { skip: skipFixture }, () => {
  const original = fixtureTokenizer();
  const dir = temporaryDirectory();
  try {
    original.save(dir);
    assert.deepEqual(readdirSync(dir).sort(), ['tokenizer.json', 'tokenizer_config.json']);
    const reloaded = TextTokenizer.fromDirectory(dir);
    assert.deepEqual(reloaded.encode(PARAGRAPH), original.encode(PARAGRAPH));
    assert.equal(reloaded.eosTokenId, original.eosTokenId);
    assert.deepEqual(reloaded.tokenizerConfig, original.tokenizerConfig);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('save() then fromDirectory() keeps a trained tokenizer and its chat template', () => {
  const original = trainedTokenizer(CHATML_TEMPLATE);
  const dir = temporaryDirectory();
  try {
    original.save(join(dir, 'nested'));
    const reloaded = TextTokenizer.fromDirectory(join(dir, 'nested'));
    const text = 'the assistant said hello 🤖 <|im_end|> twice';
    assert.deepEqual(reloaded.encode(text), original.encode(text));
    assert.equal(reloaded.applyChatTemplate(MESSAGES), original.applyChatTemplate(MESSAGES));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
