import { type Experience, acceptedReply, selectUserFeatures, sftLoss } from '../../../learn/index.js';
import { steeringHook } from '../../../model/activationCapture.js';
import type { CausalLm } from '../../../model/causalLm.js';
import { ResidualHooks } from '../../../model/hooks.js';
import { AdamW, NonFiniteError, Tape, clipGradNorm } from '../../../tensor/index.js';
import { type BenchMethod, type MethodContext, float32Bytes } from './method.js';

// Two methods at the ends of the spectrum:
//   - naive full fine-tuning: the user's own copy of every base weight, one
//     AdamW step of SFT per interaction on the reply the user accepted (a thumbs
//     up, or a correction's wanted reply), nothing else: no teacher, no gate, no
//     forgetting control. Its learning rate is the one tuned for it
//     (tunedRates.ts): at 1e-3 it forgot every fact while learning less;
//   - steering only: the one bundle feature the user's first interaction with
//     context moves most (featureSelection.ts), added at its validated steering
//     scale, in the direction the context moved it. Nothing is learned after that.

export const noLearning = { ms: 0, updated: false } as const;

export function fullFineTuneMethod(loadCopy: () => CausalLm, lr: number): BenchMethod {
  return {
    name: 'full-ft',
    description: `naive full fine-tuning: SFT on accepted replies, every weight of a per-user copy, AdamW at ${lr}`,
    memoryInPrompt: false,
    unavailable: () => null,
    create: (ctx: MethodContext) => {
      const model = loadCopy();
      const params = model.parameters();
      for (const p of params) p.requiresGrad = true;
      const optimiser = new AdamW(params, { lr, weightDecay: 0 });
      return {
        model,
        forward: () => ({}),
        prompt: (turns) => turns,
        learn: (experience: Experience) => {
          const reply = acceptedReply(experience);
          if (reply === null) return noLearning;
          const started = performance.now();
          const prompt = ctx.encoding.prompt(typeof experience.prompt === 'string' ? [{ role: 'user', content: experience.prompt }] : experience.prompt);
          const ids = ctx.encoding.reply(reply);
          if (prompt.length + ids.length > model.spec.maxPositions) return noLearning;
          const tape = new Tape();
          try {
            optimiser.zeroGrad();
            const loss = sftLoss(tape, { model, student: {} }, prompt, ids);
            tape.backward(loss);
            clipGradNorm(params, 1);
            optimiser.step();
          } catch (error) {
            if (!(error instanceof NonFiniteError)) throw error;
            return { ms: performance.now() - started, updated: false };
          } finally {
            tape.release();
            optimiser.zeroGrad();
          }
          return { ms: performance.now() - started, updated: true };
        },
        bytes: () => float32Bytes(params),
      };
    },
  };
}

/** `scales`: each bundle feature's validated steering scale (the bundle's `steering.scale`); 32 where a feature has none. */
export function steeringMethod(scales: ReadonlyMap<string, number>): BenchMethod {
  return {
    name: 'steering',
    description: 'steering only: the feature the first interaction with context moves most, at its validated scale, no learning',
    memoryInPrompt: false,
    unavailable: () => null,
    create: (ctx) => {
      let hooks: ResidualHooks | null = null;
      let chosen: string | null = null;
      return {
        model: ctx.model,
        forward: () => (hooks === null ? {} : { hooks }),
        prompt: (turns) => turns,
        learn: (experience) => {
          if (chosen !== null) return noLearning;
          const started = performance.now();
          let selection;
          try {
            selection = selectUserFeatures(ctx.model, ctx.encoding, ctx.space, [experience], { keep: 1, minShare: 1 });
          } catch {
            return noLearning; // no context yet: wait for an interaction that has some
          }
          const top = selection.ranking.features[0];
          chosen = top.id;
          const f = ctx.space.ids.indexOf(top.id);
          const width = ctx.space.width;
          const scale = (scales.get(top.id) ?? 32) * Math.sign(top.shift);
          const vector = Float32Array.from(ctx.space.directions.subarray(f * width, (f + 1) * width), (v) => v * scale);
          hooks = new ResidualHooks(ctx.model.spec.layers);
          hooks.on(ctx.space.hookPoint, steeringHook(vector));
          return { ms: performance.now() - started, updated: true };
        },
        bytes: () => (chosen === null ? 0 : 4 * ctx.space.width),
      };
    },
  };
}
