// llama.cpp, through node-llama-cpp, as the reference our runtime is checked and
// timed against: its tokenizer, its next-token distribution, and its prefill and
// decode speed on the same GGUF file. node-llama-cpp is a dev dependency, so it is
// imported dynamically and its absence is an explained result, not a crash.
//
// Evaluation settings, and why:
// - temperature 0: node-llama-cpp then samples greedily and adds no top-k/top-p/
//   min-p stage, so the probabilities it reports are the softmax of the raw logits
//   over the whole vocabulary (its defaults topK 40 / topP 0.95 apply only when
//   temperature > 0). No repeat penalty or token bias is configured.
// - KV cache in F32 and flash attention off, so an F32 model is computed in F32
//   end to end and agrees with a float32 reference to ~1e-5.

import { statSync } from 'node:fs';
import type { ControlledEvaluateInputItem, Llama, LlamaContext, LlamaModel, Token } from 'node-llama-cpp';
import { readGgufInfo } from '../io/gguf/reader.js';

type NodeLlamaCpp = typeof import('node-llama-cpp');

export interface LlamaCppBenchmarkOptions {
  promptTokens: number;
  decodeTokens: number;
  threads: number;
}

export interface LlamaCppBenchmarkResult {
  prefill_tokens_per_s: number;
  decode_tokens_per_s: number;
  /** Wall time of the prefill batch (including picking its next token). */
  prefill_ms: number;
  /** Wall time of each batch-1 decode step, for medians and spread. */
  decode_step_ms: number[];
}

export interface LlamaCppPeer {
  /**
   * llama.cpp's tokenisation of `text`, never adding BOS/EOS. Special-token text
   * such as "<|eot_id|>" becomes its token, as Hugging Face tokenizers do, unless
   * parseSpecial is false (then it is tokenised as plain characters).
   */
  tokenize(ggufPath: string, text: string, options?: { parseSpecial?: boolean }): Promise<number[]>;
  /** For each position i, natural-log p(next token | ids[0..i]) over the whole vocabulary. */
  nextTokenLogprobs(ggufPath: string, ids: number[], options?: { threads?: number }): Promise<Float64Array[]>;
  /** One prefill batch of promptTokens ids, then decodeTokens greedy batch-1 steps on the KV cache; a fresh context each call. */
  benchmark(ggufPath: string, options: LlamaCppBenchmarkOptions): Promise<LlamaCppBenchmarkResult>;
  dispose(): Promise<void>;
}

export async function loadLlamaCppPeer(): Promise<LlamaCppPeer | { error: string }> {
  let binding: NodeLlamaCpp;
  try {
    binding = await import('node-llama-cpp');
  } catch (error) {
    return { error: `node-llama-cpp is not installed (it is a dev dependency of imprint): ${(error as Error).message}` };
  }
  try {
    // maxThreads 0 makes a context's `threads` the exact count used, not a hint.
    const llama = await binding.getLlama({ gpu: false, build: 'never', maxThreads: 0, logLevel: binding.LlamaLogLevel.error, progressLogs: false });
    return new NodeLlamaCppPeer(llama);
  } catch (error) {
    return { error: `node-llama-cpp could not load its prebuilt CPU binary (no build is attempted): ${(error as Error).message}` };
  }
}

interface LoadedModel {
  model: LlamaModel;
  vocabSize: number;
  /** Size and mtime when loaded: a rewritten file is loaded again. */
  stamp: string;
}

class NodeLlamaCppPeer implements LlamaCppPeer {
  private readonly models = new Map<string, Promise<LoadedModel>>();
  private disposed = false;

  constructor(private readonly llama: Llama) {}

  async tokenize(ggufPath: string, text: string, options: { parseSpecial?: boolean } = {}): Promise<number[]> {
    const { model } = await this.load(ggufPath);
    return Array.from(model.tokenize(text, options.parseSpecial ?? true), Number);
  }

  async nextTokenLogprobs(ggufPath: string, ids: number[], options: { threads?: number } = {}): Promise<Float64Array[]> {
    const { model, vocabSize } = await this.load(ggufPath);
    if (ids.length === 0) return [];
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new RangeError(`nextTokenLogprobs(${ggufPath}): token id ${id} is outside the vocabulary [0, ${vocabSize})`);
    }
    const context = await this.createContext(model, ids.length, ids.length, options.threads);
    try {
      const sequence = context.getSequence();
      const input: ControlledEvaluateInputItem[] = ids.map((id) => [id as Token, { generateNext: { probabilities: true, options: { temperature: 0 } } }]);
      const results = await sequence.controlledEvaluate(input);
      return results.map((result, position) => {
        const probabilities = result?.next?.probabilities;
        if (probabilities === undefined) throw new Error(`nextTokenLogprobs(${ggufPath}): llama.cpp returned no distribution at position ${position}`);
        if (probabilities.size !== vocabSize) {
          throw new Error(`nextTokenLogprobs(${ggufPath}): llama.cpp returned ${probabilities.size} probabilities at position ${position}, expected the whole vocabulary (${vocabSize}); the distribution was truncated`);
        }
        const logprobs = new Float64Array(vocabSize);
        // node-llama-cpp normalises in float32, so a token far below the top can underflow to -Infinity.
        for (const [token, probability] of probabilities) logprobs[token] = Math.log(probability);
        return logprobs;
      });
    } finally {
      await context.dispose();
    }
  }

  async benchmark(ggufPath: string, options: LlamaCppBenchmarkOptions): Promise<LlamaCppBenchmarkResult> {
    const { promptTokens, decodeTokens, threads } = options;
    for (const [field, value, min] of [['promptTokens', promptTokens, 1], ['decodeTokens', decodeTokens, 0], ['threads', threads, 1]] as const) {
      if (!Number.isInteger(value) || value < min) throw new RangeError(`benchmark(${ggufPath}): ${field} must be an integer >= ${min}, got ${value}`);
    }
    const { model, vocabSize } = await this.load(ggufPath);
    // Any fixed ids will do for timing; a stride spreads them over the vocabulary.
    const prompt = Array.from({ length: promptTokens }, (_, i) => ((i * 7919 + 17) % vocabSize) as Token);
    const context = await this.createContext(model, promptTokens + decodeTokens, promptTokens, threads);
    try {
      const sequence = context.getSequence();
      // yieldEogToken keeps the loop going when a random model emits end-of-text.
      const steps = sequence.evaluate(prompt, { temperature: 0, yieldEogToken: true });
      let started = performance.now();
      const first = await steps.next();
      const prefillMs = performance.now() - started;
      if (first.done === true) throw new Error(`benchmark(${ggufPath}): llama.cpp produced no token after the prompt`);
      const decodeStepMs: number[] = [];
      for (let i = 0; i < decodeTokens; i++) {
        started = performance.now();
        const step = await steps.next();
        decodeStepMs.push(performance.now() - started);
        if (step.done === true) throw new Error(`benchmark(${ggufPath}): generation stopped after ${i} decode steps`);
      }
      await steps.return(undefined);
      const decodeMs = decodeStepMs.reduce((a, b) => a + b, 0);
      return {
        prefill_tokens_per_s: promptTokens / (prefillMs / 1000),
        decode_tokens_per_s: decodeTokens === 0 ? 0 : decodeTokens / (decodeMs / 1000),
        prefill_ms: prefillMs,
        decode_step_ms: decodeStepMs,
      };
    } finally {
      await context.dispose();
    }
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const loaded = await Promise.allSettled(this.models.values());
    this.models.clear();
    for (const result of loaded) if (result.status === 'fulfilled') await result.value.model.dispose();
    await this.llama.dispose();
  }

  /** A context that holds `tokens` without shifting: node-llama-cpp keeps one slot free and erases the oldest tokens otherwise. */
  private async createContext(model: LlamaModel, tokens: number, batchSize: number, threads: number | undefined): Promise<LlamaContext> {
    return model.createContext({
      contextSize: tokens + 1,
      batchSize,
      sequences: 1,
      flashAttention: false,
      experimentalKvCacheKeyType: 'F32',
      experimentalKvCacheValueType: 'F32',
      ...(threads === undefined ? {} : { threads }),
    });
  }

  private async load(ggufPath: string): Promise<LoadedModel> {
    if (this.disposed) throw new Error('LlamaCppPeer: used after dispose()');
    let stamp: string;
    try {
      const stats = statSync(ggufPath);
      stamp = `${stats.size}:${stats.mtimeMs}`;
    } catch (error) {
      throw new Error(`LlamaCppPeer: cannot read model file ${ggufPath}: ${(error as Error).message}`);
    }
    const cached = this.models.get(ggufPath);
    if (cached !== undefined) {
      const loaded = await cached.catch(() => undefined);
      if (loaded?.stamp === stamp) return loaded;
      this.models.delete(ggufPath);
      if (loaded !== undefined) await loaded.model.dispose();
    }
    const loading = this.loadUncached(ggufPath, stamp);
    this.models.set(ggufPath, loading);
    return loading;
  }

  private async loadUncached(ggufPath: string, stamp: string): Promise<LoadedModel> {
    const tokens = readGgufInfo(ggufPath).metadata.get('tokenizer.ggml.tokens');
    if (!Array.isArray(tokens)) throw new Error(`LlamaCppPeer: ${ggufPath} has no tokenizer.ggml.tokens array, so its vocabulary size is unknown`);
    const model = await this.llama.loadModel({ modelPath: ggufPath, gpuLayers: 0 });
    return { model, vocabSize: tokens.length, stamp };
  }
}
