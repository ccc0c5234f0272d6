import type { TextTokenizer } from '../io/tokenizer.js';
import type { CausalLm } from '../model/causalLm.js';
import { generateFromIds } from '../model/generate.js';
import type { Bundle, BundleFeature } from '../features/bundles/bundle.js';
import type { SaeDirectionResolver } from '../features/bundles/index.js';
import { steeringHooksFor } from '../features/steering/index.js';
import { Random } from '../tensor/random.js';
import { renderPrompt, specialTokens } from '../world/chatFormat.js';
import { generateCodingDialogue } from '../world/coding/dialogue.js';
import { generateHomeDialogue } from '../world/home/dialogue.js';
import { judgeCodingReply } from '../world/judges/coding.js';
import { judgeHomeReply } from '../world/judges/home.js';
import { codingAxes, homeAxes } from '../world/types.js';

// Features must be causal, not just correlated: steering along a feature must move
// the matching judge. For each feature with an axis and side, replies to unstated
// prompts are generated with and without the feature added at `scale`, and the
// judge counts how often the reply shows the feature's side. The margin is the
// change in that rate; positive means steering moves behaviour the intended way.

export interface SteeringCheckOptions {
  scale: number;
  prompts: number;
  maxTokens: number;
  temperature: number;
  seed: number;
  saeResolver?: SaeDirectionResolver;
}

export interface SteeringCheckResult {
  feature: string;
  axis: string;
  side: string;
  scale: number;
  baselineRate: number;
  steeredRate: number;
  margin: number;
  judged: number;
}

function domainOf(axis: string): 'home' | 'coding' {
  if (axis in homeAxes) return 'home';
  if (axis in codingAxes) return 'coding';
  throw new RangeError(`steering check: axis "${axis}" is not a world axis (${[...Object.keys(homeAxes), ...Object.keys(codingAxes)].join(', ')})`);
}

function judgedLabel(domain: 'home' | 'coding', axis: string, reply: string): string | null {
  if (domain === 'home') return (judgeHomeReply(reply) as unknown as Record<string, { label: string }>)[axis].label;
  const judged = (judgeCodingReply(reply) as unknown as Record<string, { label: string } | null>)[axis];
  return judged?.label ?? null;
}

export async function checkFeatureSteering(
  model: CausalLm, tokenizer: TextTokenizer, bundle: Bundle, vectors: ReadonlyMap<string, Float32Array>,
  feature: BundleFeature, options: SteeringCheckOptions,
): Promise<SteeringCheckResult> {
  if (feature.axis === undefined || feature.side === undefined) {
    throw new RangeError(`steering check: feature "${feature.id}" has no axis/side, so no judge can check it`);
  }
  const domain = domainOf(feature.axis);
  const rng = new Random(options.seed);
  const prompts = Array.from({ length: options.prompts }, () => {
    const d = domain === 'home'
      ? generateHomeDialogue(rng, { stated: false, feedback: false })
      : generateCodingDialogue(rng, { stated: false, requestSyntax: 'random', feedbackRate: 0 });
    const user = d.turns.findIndex((t) => t.role === 'assistant');
    return tokenizer.encode(renderPrompt(d.turns.slice(0, user)), { addSpecialTokens: false });
  });
  const stop = [tokenizer.tokenToId(specialTokens.end)!, tokenizer.eosTokenId!];
  const rateWith = async (scale: number) => {
    const hooks = steeringHooksFor(model, bundle, vectors, scale === 0 ? [] : [{ bundle: bundle.name, feature: feature.id, scale }], { saeResolver: options.saeResolver });
    let hits = 0;
    let judged = 0;
    for (let i = 0; i < prompts.length; i += 16) {
      const run = await generateFromIds(model, prompts.slice(i, i + 16), {
        maxTokens: options.maxTokens, temperature: options.temperature, seed: options.seed + i, stopTokenIds: stop, hooks,
      }, tokenizer);
      for (const r of run.results) {
        const label = judgedLabel(domain, feature.axis!, r.text);
        if (label === null) continue;
        judged++;
        if (label === feature.side) hits++;
      }
    }
    return { rate: judged === 0 ? 0 : hits / judged, judged };
  };
  const baseline = await rateWith(0);
  const steered = await rateWith(options.scale);
  return {
    feature: feature.id, axis: feature.axis, side: feature.side, scale: options.scale,
    baselineRate: baseline.rate, steeredRate: steered.rate, margin: steered.rate - baseline.rate, judged: steered.judged,
  };
}
