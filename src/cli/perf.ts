import { parseArgs } from 'node:util';
import { getBackend } from '../tensor/backend.js';
import { gemmGflops, round } from '../perf/gemmBench.js';
import { trainThroughput } from '../perf/trainBench.js';

// `imprint perf`: the compute core's benchmark. Prints one JSON object with --json.

const help = `usage: imprint perf [--json] [--steps N] [--threads N]

Measures GEMM throughput and training tokens/s on the reference GPT config
(vocab 4096, d_model 256, 4 layers, 4 heads, seq 128, batch 8, AdamW).

  --json        print one JSON object
  --steps N     timed training steps after 2 warm-up steps (default 8, at least 5)
  --threads N   worker threads for the native backend (default: all cores)
  --skip-train  only run the GEMM benchmark`;

export async function runPerf(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      json: { type: 'boolean', default: false },
      steps: { type: 'string', default: '8' },
      threads: { type: 'string' },
      'skip-train': { type: 'boolean', default: false },
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
  if (!values['skip-train']) {
    const train = trainThroughput({ timedSteps: steps });
    result.train_tokens_per_s = Math.round(train.tokensPerSecond);
    result.train_step_ms_median = round(train.stepMsMedian, 1);
    result.train_step_ms = train.stepMs.map((t) => round(t, 1));
    result.train_config = 'gpt pre-LN, vocab 4096, d_model 256, 4 layers, 4 heads, seq 128, batch 8, tied embeddings, GELU, AdamW';
    result.train_parameters = train.parameters;
    log(`training: ${result.train_tokens_per_s} tokens/s (median step ${result.train_step_ms_median} ms over ${steps} steps, ${train.parameters} parameters)`);
  }
  if (values.json) console.log(JSON.stringify(result));
  return 0;
}
