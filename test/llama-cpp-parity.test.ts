import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { writeCheckpointWeights } from '../src/io/checkpointWeights.js';
import { TextTokenizer } from '../src/io/tokenizer.js';
import { loadModel } from '../src/model/load.js';
import { nextTokenLogprobs } from '../src/model/score.js';
import { saveModel } from '../src/model/save.js';
import { benchLlamaConfig, randomBenchModel, syntheticTokenizer } from '../src/perf/benchModel.js';
import { type LlamaCppPeer, loadLlamaCppPeer } from '../src/perf/llamaCppPeer.js';
import { randomLlamaCheckpoint, tinyByteLevelTokenizer, tinyTokenizerSize } from './support/tinyLlama.js';

// The proof that our Llama forward, RoPE (with Llama-3 scaling), GQA and tokenizer
// match an implementation nobody here wrote: a random-weight Llama is saved as a
// Hugging Face directory, exported with `imprint convert --to gguf`, loaded in
// llama.cpp (node-llama-cpp), and both runtimes' next-token log-probabilities are
// compared over several prompts. F32 must agree to 1e-3.

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const prompts = [
  'the theory of the thing, and then the end.',
  'Héllo wörld — 東京 🙂  tabs\tand\nnewlines  ',
  'it is what it is; 12345 + 678 = ?',
];

let peer: LlamaCppPeer | { error: string };
before(async () => {
  peer = await loadLlamaCppPeer();
  // CI sets this so that a broken llama.cpp install fails the run instead of skipping the proof.
  if ('error' in peer && process.env.IMPRINT_REQUIRE_LLAMA_CPP === '1') throw new Error(`IMPRINT_REQUIRE_LLAMA_CPP=1 but ${peer.error}`);
});
after(async () => { if (!('error' in peer)) await peer.dispose(); });

function convert(dir: string, out: string, type: 'f32' | 'f16'): void {
  const child = spawnSync(process.execPath, [cli, 'convert', '--to', 'gguf', '--model', dir, '--out', out, '--type', type], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe('our Llama against llama.cpp', () => {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-parity-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('GQA, untied head, Llama-3 rope scaling: tokenizer ids equal, F32 log-probs within 1e-3, F16 close', async (t) => {
    if ('error' in peer) return t.skip(peer.error);
    const { tokenizerJson, tokenizerConfig } = tinyByteLevelTokenizer();
    const checkpoint = randomLlamaCheckpoint({
      seed: 31, vocabSize: tinyTokenizerSize(), hidden: 64, layers: 3, heads: 8, kvHeads: 2, intermediate: 96, tied: false,
      ropeScaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 },
      ropeTheta: 10000,
    });
    const modelDir = join(dir, 'tiny');
    writeCheckpointWeights(modelDir, [...checkpoint.tensors].map(([name, x]) => ({ name, shape: x.shape, data: x.data })));
    writeFileSync(join(modelDir, 'config.json'), JSON.stringify(checkpoint.config));
    TextTokenizer.fromJson(tokenizerJson, tokenizerConfig).save(modelDir);
    const { model, tokenizer } = loadModel(modelDir);
    assert.ok(tokenizer !== null);
    const f32 = join(dir, 'tiny-f32.gguf');
    const f16 = join(dir, 'tiny-f16.gguf');
    convert(modelDir, f32, 'f32');
    convert(modelDir, f16, 'f16');

    let worstF32 = 0;
    let worstF16 = 0;
    for (const text of prompts) {
      const ours = tokenizer.encode(text, { addSpecialTokens: false });
      assert.deepEqual(await peer.tokenize(f32, text), ours, `tokenization of ${JSON.stringify(text)}`);
      const ids = [tokenizer.bosTokenId!, ...ours];
      const mine = nextTokenLogprobs(model, ids);
      const theirs32 = await peer.nextTokenLogprobs(f32, ids);
      const theirs16 = await peer.nextTokenLogprobs(f16, ids);
      mine.forEach((row, i) => {
        worstF32 = Math.max(worstF32, maxAbsDiff(row, theirs32[i]));
        worstF16 = Math.max(worstF16, maxAbsDiff(row, theirs16[i]));
      });
    }
    t.diagnostic(`max |Δ logprob| vs llama.cpp: F32 ${worstF32.toExponential(2)}, F16 ${worstF16.toExponential(2)}`);
    assert.ok(worstF32 <= 1e-3, `F32 max abs log-prob difference ${worstF32} exceeds 1e-3`);
    assert.ok(worstF16 <= 0.05, `F16 max abs log-prob difference ${worstF16} exceeds 0.05`);
  });

  test('the perf model (d_model 256, 4 layers, vocab 4096, tied=false) saved by us and converted matches too', async (t) => {
    if ('error' in peer) return t.skip(peer.error);
    const model = randomBenchModel(5);
    const { tokenizerJson, tokenizerConfig } = syntheticTokenizer(4096);
    const modelDir = join(dir, 'bench');
    saveModel(modelDir, model, benchLlamaConfig, { tokenizer: TextTokenizer.fromJson(tokenizerJson, tokenizerConfig) });
    const f32 = join(dir, 'bench-f32.gguf');
    convert(modelDir, f32, 'f32');
    const ids = Array.from({ length: 40 }, (_, i) => (i * 977 + 5) % 4096);
    const mine = nextTokenLogprobs(model, ids);
    const theirs = await peer.nextTokenLogprobs(f32, ids);
    const worst = Math.max(...mine.map((row, i) => maxAbsDiff(row, theirs[i])));
    t.diagnostic(`max |Δ logprob| vs llama.cpp: ${worst.toExponential(2)}`);
    assert.ok(worst <= 1e-3, `max abs log-prob difference ${worst}`);
  });
});
