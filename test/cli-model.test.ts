import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { TextTokenizer } from '../src/io/tokenizer.js';
import { readGgufInfo } from '../src/io/gguf/reader.js';
import { loadModel } from '../src/model/load.js';
import { saveModel } from '../src/model/save.js';
import { nextTokenLogprobs } from '../src/model/score.js';
import { generateText } from '../src/model/generate.js';
import { randomModel } from './support/randomModels.js';
import { tinyByteLevelTokenizer, tinyTokenizerSize } from './support/tinyLlama.js';

// The model commands of the CLI on a tiny saved Llama: generate streams what the
// library generates, logits --json prints what the library computes, convert
// writes a GGUF file, and bad flags fail with a message.

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

describe('imprint generate / logits / convert', () => {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-cli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const { tokenizerJson, tokenizerConfig } = tinyByteLevelTokenizer();
  const tokenizer = TextTokenizer.fromJson(tokenizerJson, tokenizerConfig);
  const config = {
    model_type: 'llama', vocab_size: tinyTokenizerSize(), hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 128, rms_norm_eps: 1e-5, tie_word_embeddings: true,
    bos_token_id: tokenizer.bosTokenId, eos_token_id: tokenizer.eosTokenId,
  };
  const { model } = randomModel(config, 21);
  saveModel(dir, model, config, { tokenizer });

  test('generate streams the same text the library generates for a seed', async () => {
    const child = run('generate', '--model', dir, '--prompt', 'the cat', '--max-tokens', '12', '--temperature', '0.9', '--seed', '4');
    assert.equal(child.status, 0, child.stderr);
    const { model: loaded, tokenizer: loadedTokenizer } = loadModel(dir);
    const expected = await generateText(loaded, loadedTokenizer!, 'the cat', { maxTokens: 12, temperature: 0.9, seed: 4 });
    assert.equal(child.stdout, `${expected.results[0].text}\n`);
    assert.ok(expected.results[0].tokenIds.length > 0);
  });

  test('logits --json prints ids and full log-probability rows; --last only the last', () => {
    const child = run('logits', '--model', dir, '--text', 'the theory', '--json');
    assert.equal(child.status, 0, child.stderr);
    const out = JSON.parse(child.stdout) as { ids: number[]; logprobs: number[][] };
    assert.deepEqual(out.ids, tokenizer.encode('the theory'));
    assert.equal(out.logprobs.length, out.ids.length);
    const expected = nextTokenLogprobs(model, out.ids);
    out.logprobs.forEach((row, i) => {
      assert.equal(row.length, tinyTokenizerSize());
      row.forEach((v, j) => assert.ok(Math.abs(v - expected[i][j]) < 1e-6));
    });
    const last = JSON.parse(run('logits', '--model', dir, '--text', 'the theory', '--json', '--last').stdout) as { logprobs: number[][] };
    assert.deepEqual(last.logprobs, [out.logprobs[out.logprobs.length - 1]]);
  });

  test('convert --to gguf writes a llama GGUF with the model and tokenizer', () => {
    const out = join(dir, 'model.gguf');
    const child = run('convert', '--to', 'gguf', '--model', dir, '--out', out, '--type', 'f16');
    assert.equal(child.status, 0, child.stderr);
    const info = readGgufInfo(out);
    assert.equal(info.metadata.get('general.architecture'), 'llama');
    assert.equal(info.metadata.get('general.file_type'), 1);
    assert.equal((info.metadata.get('tokenizer.ggml.tokens') as string[]).length, tinyTokenizerSize());
  });

  test('bad arguments fail with a message naming the flag', () => {
    assert.match(run('generate', '--model', dir, '--prompt', 'x', '--top-p', '1.5').stderr, /--top-p must be a number in \(0, 1\], got '1\.5'/);
    assert.match(run('logits', '--model', join(dir, 'nope'), '--text', 'x').stderr, /does not exist/);
    assert.match(run('convert', '--to', 'onnx', '--model', dir, '--out', 'x').stderr, /--to must be gguf/);
    assert.equal(run('generate', '--model', dir, '--prompt', 'x', '--max-tokens', '0').status, 1);
  });
});
