import { AdapterSet, type AdapterSpec, layersWritingBefore } from '../../../adapt/index.js';
import { type Experience, type LearnerOptions, OnlineLearner, encodeExperience, selectUserFeatures } from '../../../learn/index.js';
import { parseHookPoint } from '../../../model/hooks.js';
import { type BenchMethod, type MethodContext, type MethodState, float32Bytes, trainingFlops } from './method.js';

// The adapter methods: plain LoRA (rank 8 and 1) and every feature-constrained
// kind (write, read, reft, gain), with and without the small unconstrained
// residual adapter and with the gate on or off, and write FC-LoRA on the user's
// selected features. All train through the same online learner (one step per
// interaction, context distillation from the user's memory notes, SFT and
// preference terms, forgetting control); only the adapter differs.
//
// Targets: write-side kinds and LoRA go on o_proj and down_proj of the layers
// that write the residual stream at or before the bundle's hook point; read on
// q/k/v/gate/up of the layers that read it after. LoRA gets the write layers, so
// it is compared on the same layers as the write kinds.

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

const WRITE_MODULES = ['o_proj', 'down_proj'];
const READ_MODULES = ['q_proj', 'k_proj', 'v_proj', 'gate_proj', 'up_proj'];

/** Layers whose reads see the stream at or after the hook point. */
export function layersReadingAfter(hookPoint: string, layerCount: number): number[] {
  const { layer, where } = parseHookPoint(hookPoint, layerCount);
  const first = where === 'post' ? layer + 1 : layer;
  return Array.from({ length: Math.max(0, layerCount - first) }, (_, i) => first + i);
}

function adapterSpec(spec: AdapterMethodSpec, ctx: Pick<MethodContext, 'model' | 'space'>): AdapterSpec {
  const layers = ctx.model.spec.layers;
  const residual = spec.residual ? { residual: { rank: 1, ...(spec.kind === 'reft' || spec.kind === 'gain' ? { target: { modules: WRITE_MODULES, layers: layersWritingBefore(ctx.space.hookPoint, layers) } } : {}) } } : {};
  switch (spec.kind) {
    case 'lora': return { kind: 'lora', rank: spec.rank ?? 8, target: { modules: WRITE_MODULES, layers: layersWritingBefore(ctx.space.hookPoint, layers) } };
    case 'write': return { kind: 'write', rank: spec.rank ?? 4, target: { modules: WRITE_MODULES, layers: layersWritingBefore(ctx.space.hookPoint, layers) }, ...residual };
    case 'read': return { kind: 'read', target: { modules: READ_MODULES, layers: layersReadingAfter(ctx.space.hookPoint, layers) }, ...residual };
    default: return { kind: spec.kind, ...residual };
  }
}

/** Rough FLOPs of one learner step: the passes it makes over the base model (the adapter's own arithmetic is negligible beside them). */
function stepFlops(ctx: MethodContext, experience: Experience, sampleTokens: number): number {
  const parameters = ctx.model.parameters().reduce((s, p) => s + p.size, 0);
  const encoded = encodeExperience(ctx.encoding, experience, ctx.model.spec.maxPositions, sampleTokens);
  const sample = encoded.teacher === null ? 0 : encoded.sampleBudget;
  const generate = 2 * parameters * sample;
  const teacher = encoded.teacher === null ? 0 : 2 * parameters * (encoded.teacher.length + sample);
  const student = trainingFlops(parameters, encoded.student.length + Math.max(sample, encoded.reply.length));
  // Background KL (one ~64-token sequence, base and adapted) and one replayed reply.
  const forgetting = 2 * parameters * 64 + trainingFlops(parameters, 64) + trainingFlops(parameters, encoded.student.length + encoded.reply.length);
  return generate + teacher + student + forgetting;
}

export function adapterMethod(spec: AdapterMethodSpec): BenchMethod {
  return {
    name: spec.name,
    description: spec.description,
    memoryInPrompt: false,
    unavailable: (ctx) => {
      const layers = ctx.model.spec.layers;
      if ((spec.kind === 'write' || spec.kind === 'lora') && layersWritingBefore(ctx.space.hookPoint, layers).length === 0) return `no layer writes the residual stream before ${ctx.space.hookPoint}`;
      if (spec.kind === 'read' && layersReadingAfter(ctx.space.hookPoint, layers).length === 0) return `no layer reads the residual stream after ${ctx.space.hookPoint} (the bundle is on the last block's output)`;
      return null;
    },
    create: (ctx) => {
      const options: LearnerOptions = {
        ...ctx.learner, ...spec.learner, seed: ctx.seed,
        ...(spec.gateOff ? { gate: { threshold: 0, exponents: { quality: 0, agreement: 0, subspace: 0 } } } : {}),
      };
      const config = { seed: ctx.seed, adapters: [adapterSpec(spec, ctx)] };
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
      const sampleTokens = options.sampleTokens ?? 64;
      const state: MethodState = {
        model: ctx.model,
        forward: () => adapters?.forwardOptions() ?? {},
        prompt: (turns) => turns,
        learn: (experience) => {
          if (learner === null) build(experience);
          if (learner === null) return { ms: 0, updated: false, flops: null };
          const log = (learner as OnlineLearner).step(experience);
          return { ms: log.wallMs, updated: log.trained, flops: log.trained ? stepFlops(ctx, experience, sampleTokens) : null };
        },
        bytes: () => (adapters === null ? 0 : float32Bytes((adapters as AdapterSet).parameters())),
      };
      return state;
    },
  };
}
