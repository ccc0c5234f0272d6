import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportLlamaGguf } from '../io/gguf/llamaExport.js';
import type { RawConfig } from '../model/architectures/configFields.js';
import type { CausalLm } from '../model/causalLm.js';
import { modelTensorSource } from '../model/tensorSource.js';
import { median } from './stats.js';
import { inferenceThroughput } from './inferenceBench.js';
import { loadLlamaCppPeer } from './llamaCppPeer.js';

// Prefill and decode speed of our runtime and, on the same weights exported to
// an F32 GGUF, of llama.cpp with the same thread count.

export interface ModelPerfOptions {
  model: CausalLm;
  config: RawConfig;
  tokenizer: { tokenizerJson: object; tokenizerConfig: object } | null;
  label: string;
  promptTokens: number;
  decodeTokens: number;
  repeats: number;
  threads: number;
  compareLlamaCpp: boolean;
}

export async function modelPerf(options: ModelPerfOptions): Promise<Record<string, unknown>> {
  const { model, promptTokens, decodeTokens, repeats } = options;
  const ours = inferenceThroughput(model, { promptTokens, decodeTokens, repeats });
  const result: Record<string, unknown> = {
    model: options.label,
    prompt_tokens: promptTokens,
    decode_tokens: decodeTokens,
    prefill_tokens_per_s: Math.round(ours.prefill_tokens_per_s),
    decode_tokens_per_s: Math.round(ours.decode_tokens_per_s),
  };
  if (!options.compareLlamaCpp) return result;
  if (model.spec.modelType !== 'llama') {
    result.llama_cpp = { skipped: `GGUF export covers the llama architecture only, this model is ${model.spec.modelType}` };
    return result;
  }
  if (options.tokenizer === null) {
    result.llama_cpp = { skipped: 'the model has no tokenizer, which a GGUF file must carry' };
    return result;
  }
  const peer = await loadLlamaCppPeer();
  if ('error' in peer) {
    result.llama_cpp = { skipped: peer.error };
    return result;
  }
  const dir = mkdtempSync(join(tmpdir(), 'imprint-perf-'));
  try {
    const path = join(dir, 'model-f32.gguf');
    exportLlamaGguf(path, {
      config: options.config, weights: modelTensorSource(model), ...options.tokenizer, name: options.label,
    }, { type: 'F32' });
    const timeLlamaCpp = async (threads: number) => {
      const prefill: number[] = [];
      const decodeSteps: number[] = [];
      // Repeated like ours, with one untimed round to warm up.
      for (let round = 0; round <= repeats; round++) {
        const run = await peer.benchmark(path, { promptTokens, decodeTokens, threads });
        if (round === 0) continue;
        prefill.push(run.prefill_ms);
        decodeSteps.push(...run.decode_step_ms);
      }
      return {
        prefill_tokens_per_s: Math.round(promptTokens / (median(prefill) / 1000)),
        decode_tokens_per_s: Math.round(1000 / median(decodeSteps)),
        threads,
        weights: 'F32 GGUF exported from the same weights',
      };
    };
    const llamaCpp = await timeLlamaCpp(options.threads);
    // llama.cpp's worker threads compete with Node's own on a small machine, which can
    // slow its decode far below its one-thread speed; report that too, so the
    // comparison is against llama.cpp at its best, not at its worst.
    if (options.threads > 1) result.llama_cpp_single_thread = await timeLlamaCpp(1);
    result.llama_cpp = llamaCpp;
    result.decode_vs_llama_cpp = Number((ours.decode_tokens_per_s / llamaCpp.decode_tokens_per_s).toFixed(2));
    result.prefill_vs_llama_cpp = Number((ours.prefill_tokens_per_s / llamaCpp.prefill_tokens_per_s).toFixed(2));
  } finally {
    await peer.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}
