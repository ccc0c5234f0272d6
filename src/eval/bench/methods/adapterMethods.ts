import { AdapterSet, type AdapterSetConfig, type AdapterSpec, type LoraSpec, defaultAdapterConfig } from '../../../adapt/index.js';
import { type Experience, type LearnerOptions, OnlineLearner, selectUserFeatures } from '../../../learn/index.js';
import { type BenchMethod, type MethodContext, type MethodState, float32Bytes } from './method.js';

// The adapter methods: plain LoRA (rank 8 and 1) and every feature-constrained
// kind (write, read, reft, gain), with and without the small unconstrained
// residual adapter and with the gate on or off, and write FC-LoRA on the user's
// selected features. All train through the same online learner (one step per
// interaction, context distillation from the user's memory notes, SFT and
// preference terms, forgetting control); only the adapter differs.
//
// Targets: the rule of src/adapt/defaultConfig.ts, as for imprint learn: write
// kinds and LoRA on o_proj and down_proj of the layers that write the residual
// stream at or before the bundle's hook point (so LoRA is compared on the write
// kinds' layers), read on q/k/v/gate/up of the layers that read it after.

export interface AdapterMethodSpec {
  name: string;
  description: string;
  kind: 'write' | 'read' | 'reft' | 'gain' | 'lora';
  rank?: number;
  residual?: boolean;
  /** Gate off: threshold 0 and every gate exponent 0 (the weight is the source's trust alone). */
  gateOff?: boolean;
  /** Confine a write adapter to the features the user's first interactions move (featureSelection.ts). */
  selectFeatures?: boolean;
  learner?: LearnerOptions;
}

/**
 * The adapter set of a method: the targets src/adapt/defaultConfig.ts gives its kind (the rule
 * imprint learn, chat and serve use), with a rank-1 residual beside it for "+res" (on the
 * layers a plain LoRA would take, for the kinds that have no linear layers of their own).
 * Throws a RangeError naming why when the kind cannot use the bundle.
 */
function adapterConfig(spec: AdapterMethodSpec, ctx: Pick<MethodContext, 'model' | 'space'>, seed: number): AdapterSetConfig {
  const rank = spec.kind === 'write' || spec.kind === 'lora' ? spec.rank : undefined;
  const config = defaultAdapterConfig(ctx.model, ctx.space, { kind: spec.kind, ...(rank === undefined ? {} : { rank }) }, seed);
  if (!spec.residual) return config;
  const linearTarget = defaultAdapterConfig(ctx.model, ctx.space, { kind: 'lora', rank: 1 }, seed).adapters[0] as LoraSpec;
  return {
    ...config,
    adapters: config.adapters.map((a) => ({ ...a, residual: { rank: 1, ...(a.kind === 'reft' || a.kind === 'gain' ? { target: linearTarget.target } : {}) } }) as AdapterSpec),
  };
}

export function adapterMethod(spec: AdapterMethodSpec): BenchMethod {
  return {
    name: spec.name,
    description: spec.description,
    memoryInPrompt: false,
    unavailable: (ctx) => {
      try {
        adapterConfig(spec, ctx, 0);
        return null;
      } catch (error) {
        if (error instanceof RangeError) return error.message;
        throw error;
      }
    },
    create: (ctx) => {
      const options: LearnerOptions = {
        ...ctx.learner, ...spec.learner, seed: ctx.seed,
        ...(spec.gateOff ? { gate: { threshold: 0, exponents: { quality: 0, agreement: 0, subspace: 0 } } } : {}),
      };
      const config = adapterConfig(spec, ctx, ctx.seed);
      let learner: OnlineLearner | null = null;
      let adapters: AdapterSet | null = null;
      const build = (first: Experience | null) => {
        let space = ctx.space;
        // Selection needs context to compare with; until an interaction carries some, the adapter waits (the base model replies).
        if (spec.selectFeatures) {
          if (first === null) return;
          try {
            space = selectUserFeatures(ctx.model, ctx.encoding, ctx.space, [first]).space;
          } catch {
            return;
          }
        }
        adapters = AdapterSet.create(ctx.model, config, space);
        learner = new OnlineLearner({ model: ctx.model, tokenizer: ctx.tokenizer, adapters, encoding: ctx.encoding, quality: ctx.quality, config: options });
      };
      if (!spec.selectFeatures) build(null);
      const state: MethodState = {
        model: ctx.model,
        forward: () => adapters?.forwardOptions() ?? {},
        prompt: (turns) => turns,
        learn: (experience) => {
          if (learner === null) build(experience);
          if (learner === null) return { ms: 0, updated: false };
          const log = (learner as OnlineLearner).step(experience);
          return { ms: log.wallMs, updated: log.trained };
        },
        bytes: () => (adapters === null ? 0 : float32Bytes((adapters as AdapterSet).parameters())),
      };
      return state;
    },
  };
}
