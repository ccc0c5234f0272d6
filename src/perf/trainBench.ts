import { ReferenceGpt, referenceGptConfig, trainStep, type GptConfig } from '../model/referenceGpt.js';
import { AdamW } from '../tensor/optim/adamw.js';
import { Random } from '../tensor/random.js';
import { median, nowMs } from './stats.js';

// Training throughput on the reference config: batch 8 x seq 128 of random tokens,
// full forward, backward, clipping and AdamW step. Median over timed steps after warm-up.

export interface TrainBenchOptions {
  config?: GptConfig;
  batch?: number;
  warmupSteps?: number;
  timedSteps?: number;
}

export interface TrainBenchResult {
  tokensPerSecond: number;
  stepMsMedian: number;
  stepMs: number[];
  losses: number[];
  parameters: number;
}

export function trainThroughput(options: TrainBenchOptions = {}): TrainBenchResult {
  const config = options.config ?? referenceGptConfig;
  const batch = options.batch ?? 8;
  const seq = config.contextLength;
  const model = new ReferenceGpt(config, 1234);
  const optimiser = new AdamW(model.parameters(), { lr: 3e-4, weightDecay: 0.1 });
  const rng = new Random(99);
  const ids = new Int32Array(batch * seq);
  const targets = new Int32Array(batch * seq);
  const losses: number[] = [];
  const stepMs: number[] = [];
  const total = (options.warmupSteps ?? 2) + (options.timedSteps ?? 8);
  for (let step = 0; step < total; step++) {
    for (let i = 0; i < ids.length; i++) {
      ids[i] = rng.int(config.vocabSize);
      targets[i] = rng.int(config.vocabSize);
    }
    const start = nowMs();
    losses.push(trainStep(model, optimiser, ids, targets, batch, seq));
    if (step >= (options.warmupSteps ?? 2)) stepMs.push(nowMs() - start);
  }
  const stepMsMedian = median(stepMs);
  return {
    tokensPerSecond: (batch * seq) / (stepMsMedian / 1000),
    stepMsMedian,
    stepMs,
    losses,
    parameters: model.parameters().reduce((n, p) => n + p.size, 0),
  };
}
