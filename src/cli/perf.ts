import { worldDialoguesPerSecond } from '../perf/worldBench.js';
import { parseArgs } from 'node:util';
import { getBackend } from '../tensor/backend.js';
import { gemmGflops, round } from '../perf/gemmBench.js';
import { trainThroughput } from '../perf/trainBench.js';
import { benchLlamaConfig, randomBenchModel, syntheticTokenizer } from '../perf/benchModel.js';
import { modelPerf } from '../perf/modelPerf.js';
import { learnStepPerf } from '../perf/learnPerf.js';
import { loadModel } from '../model/load.js';
import { shippedModelDir } from './modelArgument.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

// `imprint perf`: the compute core's benchmark. Prints one JSON object with --json.

/** The bundle the learner step is measured with (src/perf/learnPerf.ts). */
const LEARN_BUNDLE = 'assistant-style';

const help = `usage: imprint perf [--json] [--steps N] [--threads N] [--model DIR]

Measures GEMM throughput, training tokens/s on the reference GPT config
(vocab 4096, d_model 256, 4 layers, 4 heads, seq 128, batch 8, AdamW), and
inference: prefill tokens/s on a 512-token prompt and batch-1 decode tokens/s
with the KV cache, next to llama.cpp (node-llama-cpp, F32 GGUF of the same
weights, same threads) when it is installed and the model is a Llama. Then
learn_step_ms: the median wall time of one online-learner step (64-token
student sample, teacher scoring, backward, AdamW; write FC-LoRA rank 4) on the
model, with its bundles/${LEARN_BUNDLE}.bundle.json (skipped, with the
reason, when the model has no such bundle).

  --json             print one JSON object
  --steps N          timed training and learner steps after 2 warm-up steps (default 8, at least 5)
  --threads N        worker threads for the native backend and llama.cpp (default: all cores)
  --model DIR        model for the inference benchmark (default: the shipped model, or
                     a random-weight Llama, d_model 256, 4 layers, vocab 4096, without it)
  --prompt-tokens N  prefill length (default 512)
  --decode-tokens N  decode steps per round (default 64)
  --skip-train       skip the training benchmark
  --skip-inference   skip the prefill/decode benchmark
  --skip-llama-cpp   do not time llama.cpp
  --skip-learn       skip the learner-step benchmark`;

export async function runPerf(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      json: { type: 'boolean', default: false },
      steps: { type: 'string', default: '8' },
      threads: { type: 'string' },
      'skip-train': { type: 'boolean', default: false },
      'skip-inference': { type: 'boolean', default: false },
      'skip-llama-cpp': { type: 'boolean', default: false },
      'skip-learn': { type: 'boolean', default: false },
      model: { type: 'string' },
      'prompt-tokens': { type: 'string', default: '512' },
      'decode-tokens': { type: 'string', default: '64' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  const steps = Number(values.steps);
  if (!Number.isInteger(steps) || steps < 5) throw new RangeError(`--steps must be an integer >= 5 (medians need several samples), got '${values.steps}'`);
  const promptTokens = Number(values['prompt-tokens']);
  const decodeTokens = Number(values['decode-tokens']);
  if (!Number.isInteger(promptTokens) || promptTokens < 1) throw new RangeError(`--prompt-tokens must be a positive integer, got '${values['prompt-tokens']}'`);
  if (!Number.isInteger(decodeTokens) || decodeTokens < 5) throw new RangeError(`--decode-tokens must be an integer >= 5 (medians need several samples), got '${values['decode-tokens']}'`);
  const backend = getBackend();
  if (values.threads !== undefined) {
    const threads = Number(values.threads);
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`--threads must be a positive integer, got '${values.threads}'`);
    const kernels = backend.kernels as { setThreads?: (n: number) => void };
    if (kernels.setThreads === undefined) throw new Error('--threads needs the native backend; the pure-TypeScript backend is single-threaded');
    kernels.setThreads(threads);
  }
  const log = (line: string) => { if (!values.json) console.log(line); };
  log(`backend: ${backend.kernels.name} (${backend.kernels.gemmImplementation}), threads: ${backend.kernels.threads}`);
  const gemm = gemmGflops();
  for (const [shape, gflops] of Object.entries(gemm)) log(`gemm ${shape}: ${gflops} GFLOP/s`);
  const result: Record<string, unknown> = {
    backend: backend.kernels.name,
    gemm: backend.kernels.gemmImplementation,
    threads: backend.kernels.threads,
    gemm_gflops: gemm,
  };
  const world = worldDialoguesPerSecond();
  result.world_dialogues_per_s = world;
  log(`world generation: ${world.home} home and ${world.coding} coding dialogues/s`);
  if (!values['skip-train']) {
    const train = trainThroughput({ timedSteps: steps });
    result.train_tokens_per_s = Math.round(train.tokensPerSecond);
    result.train_step_ms_median = round(train.stepMsMedian, 1);
    result.train_step_ms = train.stepMs.map((t) => round(t, 1));
    result.train_config = 'gpt pre-LN, vocab 4096, d_model 256, 4 layers, 4 heads, seq 128, batch 8, tied embeddings, GELU, AdamW';
    result.train_parameters = train.parameters;
    log(`training: ${result.train_tokens_per_s} tokens/s (median step ${result.train_step_ms_median} ms over ${steps} steps, ${train.parameters} parameters)`);
  }
  if (!values['skip-inference']) {
    // Default: the shipped model when it is there, else the random Llama of the same shape class.
    const modelDir = values.model ?? (existsSync(shippedModelDir()) ? shippedModelDir() : undefined);
    const loaded = modelDir === undefined ? null : loadModel(modelDir);
    const inference = await modelPerf({
      model: loaded?.model ?? randomBenchModel(1),
      config: loaded?.config ?? benchLlamaConfig,
      tokenizer: loaded === null ? syntheticTokenizer(4096) : loaded.tokenizer,
      label: modelDir ?? 'random llama, d_model 256, 4 layers, 4 heads, ffn 688, vocab 4096',
      promptTokens, decodeTokens, repeats: 3,
      threads: backend.kernels.threads,
      compareLlamaCpp: !values['skip-llama-cpp'],
    });
    result.inference = inference;
    result.prefill_tokens_per_s = inference.prefill_tokens_per_s;
    result.decode_tokens_per_s = inference.decode_tokens_per_s;
    log(`inference (${inference.model}): prefill ${inference.prefill_tokens_per_s} tokens/s (${promptTokens}-token prompt), decode ${inference.decode_tokens_per_s} tokens/s (batch 1, KV cache)`);
    const peer = inference.llama_cpp as Record<string, unknown> | undefined;
    if (peer !== undefined) {
      log(peer.skipped !== undefined
        ? `llama.cpp: skipped (${String(peer.skipped)})`
        : `llama.cpp (F32, ${String(peer.threads)} threads): prefill ${String(peer.prefill_tokens_per_s)} tokens/s, decode ${String(peer.decode_tokens_per_s)} tokens/s`);
    }
  }
  if (!values['skip-learn']) {
    const learn = learnBenchmark(values.model, steps);
    if ('skipped' in learn) {
      result.learn_step_ms = null;
      result.learn = learn;
      log(`learner step: skipped (${learn.skipped})`);
    } else {
      Object.assign(result, learn);
      log(`learner step: median ${learn.learn_step_ms} ms over ${steps} steps (${learn.learn_step_config})`);
    }
  }
  if (values.json) console.log(JSON.stringify(result));
  return 0;
}

/**
 * The learner step on a freshly loaded copy of the model (the learner freezes
 * the base parameters it is given), or why it was not measured.
 */
function learnBenchmark(modelFlag: string | undefined, steps: number): ReturnType<typeof learnStepPerf> | { skipped: string } {
  const modelDir = modelFlag ?? (existsSync(shippedModelDir()) ? shippedModelDir() : undefined);
  if (modelDir === undefined) return { skipped: `no model directory: the shipped model is missing at ${shippedModelDir()} and no --model was given` };
  const bundlePath = join(modelDir, 'bundles', `${LEARN_BUNDLE}.bundle.json`);
  if (!existsSync(bundlePath)) return { skipped: `the model has no ${LEARN_BUNDLE} bundle (looked for ${bundlePath}); the learner step is measured with its features` };
  const { model, tokenizer } = loadModel(modelDir);
  if (tokenizer === null) return { skipped: `${modelDir} has no tokenizer.json` };
  return learnStepPerf({ model, tokenizer, bundlePath, steps });
}
