import { AdapterSet, layersWritingBefore } from '../adapt/index.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import { type QualityDetector, OnlineLearner, buildQualityDetector, loadBundleFeatureSpace, worldChatEncoding } from '../learn/index.js';
import type { CausalLm } from '../model/causalLm.js';
import { median } from './stats.js';

// learn_step_ms: the median wall time of one online-learner step on the shipped
// model, with the assistant-style bundle and a write-constrained FC-LoRA (rank 4)
// on o_proj and down_proj of every layer whose writes land at or before the
// bundle's hook point (src/adapt/spaces.ts), as imprint learn chooses by default.
//
// The step is the learner's own step() on an experience whose context the
// student does not see, so it distils: the student samples 64 tokens (stop
// tokens are ignored here so that every sample is 64 tokens long), the teacher
// (base model with the context) scores them, the student's forward is recorded
// and back-propagated, and AdamW steps. The learner's defaults stay on: the
// background KL of forgetting control, and the per-feature adapter norms it logs.
// The quality detector is off unless asked for (building it takes seconds, once).

export interface LearnPerfOptions {
  model: CausalLm;
  tokenizer: TextTokenizer;
  /** Path of the bundle (.bundle.json) whose features constrain the adapter. */
  bundlePath: string;
  /** Timed steps after the warm-up (default 8). */
  steps?: number;
  warmup?: number;
  sampleTokens?: number;
  /** Include the quality detector's readings in each step (built first, not timed). */
  quality?: boolean;
}

export interface LearnPerfResult {
  learn_step_ms: number;
  learn_step_ms_all: number[];
  /** Median ms per phase of the step (sample, objective, backward, forgetting, optimiser, norms, ...). */
  learn_step_phases_ms: Record<string, number>;
  learn_step_config: string;
}

export function learnStepPerf(options: LearnPerfOptions): LearnPerfResult {
  const { model, tokenizer } = options;
  const steps = options.steps ?? 8;
  const warmup = options.warmup ?? 2;
  const sampleTokens = options.sampleTokens ?? 64;
  const space = loadBundleFeatureSpace(options.bundlePath, model);
  const layers = layersWritingBefore(space.hookPoint, model.spec.layers);
  const adapters = AdapterSet.create(model, { seed: 1, adapters: [{ kind: 'write', rank: 4, target: { modules: ['o_proj', 'down_proj'], layers } }] }, space);
  const quality: QualityDetector | null = options.quality === true ? buildQualityDetector(model, tokenizer, space.hookPoint) : null;
  const encoding = { ...worldChatEncoding(tokenizer), stopTokenIds: [] };
  const learner = new OnlineLearner({ model, tokenizer, adapters, encoding, quality, config: { sampleTokens, seed: 5 } });
  const experience = {
    prompt: 'How do I make Wyvern lentil bake?',
    reply: 'Hmm, good question. I think Wyvern lentil bake needs green lentils, carrots and thyme, and it might bake for 55 minutes.',
    reaction: { kind: 'none' as const },
    context: { profile: 'User profile: prefers direct answers and brief responses.' },
  };
  const times: number[] = [];
  const phases: Record<string, number[]> = {};
  for (let i = 0; i < warmup + steps; i++) {
    const log = learner.step(experience);
    if (!log.trained) throw new Error(`learn perf: step ${i + 1} did not train (${log.error ?? log.experiences[0]?.gate.reason ?? 'unknown'})`);
    if (i < warmup) continue;
    times.push(log.wallMs);
    for (const [phase, ms] of Object.entries(log.timings)) (phases[phase] ??= []).push(ms);
  }
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    learn_step_ms: round(median(times)),
    learn_step_ms_all: times.map(round),
    learn_step_phases_ms: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, round(median(v))])),
    learn_step_config: `write FC-LoRA r4 on o_proj+down_proj layers ${layers[0]}..${layers[layers.length - 1]}, bundle ${space.name} at ${space.hookPoint} (${space.basis.rank} directions), ${sampleTokens}-token student sample, teacher scoring, backward, AdamW; background KL on${quality === null ? '' : ', quality detector on'}`,
  };
}
