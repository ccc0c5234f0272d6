import type { CorpusMix } from '../world/corpus.js';
import { defaultMix } from '../world/corpus.js';
import type { LossTargets } from './batches.js';

// Everything that defines a pretraining run. The shipped model is built from
// `shippedModelConfig`; tests and the CI smoke run use `tinyConfig`.

export interface PretrainConfig {
  name: string;
  seed: number;
  vocabSize: number;
  /** Documents sampled from the corpus to train the tokenizer on. */
  tokenizerDocuments: number;
  hiddenSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  intermediateSize: number;
  contextLength: number;
  batch: number;
  steps: number;
  warmupSteps: number;
  peakLr: number;
  minLr: number;
  weightDecay: number;
  clipNorm: number;
  evalEvery: number;
  evalSequences: number;
  checkpointEvery: number;
  mix: CorpusMix;
  /**
   * Optional curriculum phases run in order after `steps`, each with its own mix
   * and learning-rate schedule: short stages that lean on what the main mix
   * teaches least (following a stated syntax style over the style of the user's
   * code). Appending a phase keeps earlier checkpoints resumable.
   */
  phases?: CurriculumPhase[];
}

export interface CurriculumPhase {
  /** What the phase is for, in a few words (written into the model card). */
  purpose: string;
  /** Targets trained on (default 'all'); 'replies' trains dialogues on the assistant's turns only. */
  lossOn?: LossTargets;
  steps: number;
  mix: CorpusMix;
  peakLr: number;
  minLr: number;
  warmupSteps: number;
}

export function totalSteps(config: PretrainConfig): number {
  return config.steps + (config.phases ?? []).reduce((sum, phase) => sum + phase.steps, 0);
}

/** The curriculum phase a (0-based) step falls in, with the step counted from the phase's start; null in the main phase. */
export function phaseAt(config: PretrainConfig, step: number): { phase: CurriculumPhase; index: number; stepInPhase: number } | null {
  let start = config.steps;
  if (step < start) return null;
  const phases = config.phases ?? [];
  for (let index = 0; index < phases.length; index++) {
    if (step < start + phases[index].steps) return { phase: phases[index], index, stepInPhase: step - start };
    start += phases[index].steps;
  }
  throw new RangeError(`phaseAt: step ${step} is past the run's ${totalSteps(config)} steps`);
}

export const shippedModelConfig: PretrainConfig = {
  name: 'imprint-world-6m',
  seed: 20261129,
  vocabSize: 4096,
  tokenizerDocuments: 30000,
  hiddenSize: 256,
  layers: 6,
  heads: 4,
  kvHeads: 4,
  intermediateSize: 704,
  contextLength: 320,
  batch: 14,
  steps: 3600,
  warmupSteps: 150,
  peakLr: 2e-3,
  minLr: 1e-4,
  weightDecay: 0.1,
  clipNorm: 1,
  evalEvery: 250,
  evalSequences: 48,
  checkpointEvery: 100,
  mix: defaultMix,
  phases: [{
    purpose: 'a stated syntax style wins over copying the user\'s code',
    steps: 400,
    mix: { home: 0.3, coding: 0.5, general: 0.2, stated: 0.8, randomRequestSyntax: 0.9 },
    peakLr: 5e-4,
    minLr: 5e-5,
    warmupSteps: 20,
  }, {
    purpose: 'stated comment density is followed by the roles that write code',
    steps: 600,
    mix: { home: 0.2, coding: 0.6, general: 0.2, stated: 0.9, randomRequestSyntax: 1, syntaxRoles: 0.8 },
    peakLr: 4e-4,
    minLr: 4e-5,
    warmupSteps: 20,
  }, {
    purpose: 'replies follow their stated context (the loss is on assistant turns and general text only)',
    steps: 800,
    mix: { home: 0.25, coding: 0.55, general: 0.2, stated: 0.85, randomRequestSyntax: 1, syntaxRoles: 0.7 },
    lossOn: 'replies',
    peakLr: 3e-4,
    minLr: 3e-5,
    warmupSteps: 20,
  }],
};

export const tinyConfig: PretrainConfig = {
  ...shippedModelConfig,
  name: 'imprint-tiny-smoke',
  vocabSize: 600,
  tokenizerDocuments: 400,
  hiddenSize: 32,
  layers: 2,
  heads: 2,
  kvHeads: 2,
  intermediateSize: 64,
  contextLength: 384,
  batch: 2,
  steps: 12,
  warmupSteps: 3,
  evalEvery: 6,
  evalSequences: 4,
  checkpointEvery: 4,
  phases: [
    { purpose: 'smoke: syntax over copying', steps: 4, mix: { ...defaultMix, coding: 0.6, randomRequestSyntax: 0.9 }, peakLr: 5e-4, minLr: 5e-5, warmupSteps: 1 },
    { purpose: 'smoke: roles that write code, loss on replies', steps: 2, mix: { ...defaultMix, coding: 0.6, randomRequestSyntax: 1, syntaxRoles: 0.8 }, lossOn: 'replies', peakLr: 3e-4, minLr: 3e-5, warmupSteps: 1 },
  ],
};

/** The Hugging Face config.json of the model a run trains. */
export function llamaConfigFor(config: PretrainConfig, special: { bos: number; eos: number; pad: number }): Record<string, unknown> {
  return {
    model_type: 'llama',
    architectures: ['LlamaForCausalLM'],
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.layers,
    num_attention_heads: config.heads,
    num_key_value_heads: config.kvHeads,
    max_position_embeddings: config.contextLength,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    hidden_act: 'silu',
    tie_word_embeddings: true,
    bos_token_id: special.bos,
    eos_token_id: special.eos,
    pad_token_id: special.pad,
    torch_dtype: 'float32',
  };
}
