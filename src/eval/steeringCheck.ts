import type { TextTokenizer } from '../io/tokenizer.js';
import type { CausalLm } from '../model/causalLm.js';
import { generateFromIds } from '../model/generate.js';
import { scoreContinuations } from '../model/score.js';
import type { Bundle, BundleFeature } from '../features/bundles/bundle.js';
import type { SaeDirectionResolver } from '../features/bundles/index.js';
import { steeringHooksFor, type SteerSpec } from '../features/steering/index.js';
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
// A margin alone says nothing about noise, so each result carries the standard
// error of the difference of the two rates and z = margin / SE.
//
// Steered far enough, a model stops writing language, and garbage can still land
// on a judge's side (one line of noise reads as "brief"). So a steered reply only
// counts for the feature when it is fluent: the unsteered model's mean loss on it,
// given its prompt, is at most the fluency limit (by default the 95th percentile
// of the unsteered replies' losses plus 1 nat/token). Disfluent replies count as
// misses, and the share of fluent steered replies is reported.
//
// The unsteered replies depend only on the domain's prompts and the seed, not on
// the feature or the scale, so a SteeringProbe generates them once per (domain,
// seed) and judges the same texts for every feature and axis.

export interface SteeringProbeOptions {
  /** Unstated world prompts per run. */
  prompts: number;
  maxTokens: number;
  temperature: number;
  saeResolver?: SaeDirectionResolver;
  /** Largest mean loss (nats/token, under the unsteered model) of a reply that counts; default: baseline p95 + 1. */
  maxReplyLoss?: number;
}

export interface SteeringCheckOptions extends SteeringProbeOptions {
  scale: number;
  seed: number;
}

export interface SteeringCheckResult {
  feature: string;
  axis: string;
  side: string;
  scale: number;
  /** Seed of the prompts and of sampling; the same for the steered and unsteered runs. */
  seed: number;
  baselineRate: number;
  steeredRate: number;
  /** steeredRate - baselineRate. */
  margin: number;
  /** Steered replies the judge could label (the coding judge skips some). */
  judged: number;
  /** Unsteered replies the judge could label. */
  baselineJudged: number;
  /** Of the margin, as the difference of two independent proportions (see differenceStandardError). */
  standardError: number;
  /** margin / standardError. */
  z: number;
  /** Share of the steered replies within the fluency limit. */
  steeredFluent: number;
  /** The fluency limit used (nats/token under the unsteered model). */
  fluencyLimit: number;
}

/** Replies per generate call; also how the sampling seed advances (seed + offset of the batch). */
const GENERATE_BATCH = 16;

/**
 * Standard error of p1 - p0 for two independent proportions over n1 and n0
 * trials: sqrt(p1(1-p1)/n1 + p0(1-p0)/n0). Each p is first clamped to
 * [0.5/n, 1 - 0.5/n] (half a success or failure), so 0% -> 0% over a few
 * prompts is not reported as certain (SE 0, z infinite). A side with no judged
 * reply counts as one reply of unknown outcome (n 1, p 0.5).
 */
export function differenceStandardError(p1: number, n1: number, p0: number, n0: number): number {
  const variance = (p: number, n: number) => {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`differenceStandardError: a proportion must be in [0, 1], got ${p}`);
    if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`differenceStandardError: a count must be an integer >= 0, got ${n}`);
    const trials = Math.max(n, 1);
    const clamped = Math.min(Math.max(n === 0 ? 0.5 : p, 0.5 / trials), 1 - 0.5 / trials);
    return (clamped * (1 - clamped)) / trials;
  };
  return Math.sqrt(variance(p1, n1) + variance(p0, n0));
}

type Domain = 'home' | 'coding';

function domainOf(axis: string): Domain {
  if (axis in homeAxes) return 'home';
  if (axis in codingAxes) return 'coding';
  throw new RangeError(`steering check: axis "${axis}" is not a world axis (${[...Object.keys(homeAxes), ...Object.keys(codingAxes)].join(', ')})`);
}

function judgedLabel(domain: Domain, axis: string, reply: string): string | null {
  if (domain === 'home') return (judgeHomeReply(reply) as unknown as Record<string, { label: string }>)[axis].label;
  const judged = (judgeCodingReply(reply) as unknown as Record<string, { label: string } | null>)[axis];
  return judged?.label ?? null;
}

/** Share of replies on `side`; a reply counts only when fluent (its loss is within the limit). */
function sideRate(domain: Domain, axis: string, side: string, replies: readonly Reply[], fluencyLimit: number): { rate: number; judged: number } {
  let hits = 0;
  let judged = 0;
  for (const reply of replies) {
    const label = judgedLabel(domain, axis, reply.text);
    if (label === null) continue;
    judged++;
    if (label === side && reply.loss <= fluencyLimit) hits++;
  }
  return { rate: judged === 0 ? 0 : hits / judged, judged };
}

interface Reply {
  text: string;
  /** Mean loss of the reply's tokens under the unsteered model, given the prompt (nats/token). */
  loss: number;
}

/** The q-quantile (0..1) of finite values, by linear interpolation. */
function quantile(values: readonly number[], q: number): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.POSITIVE_INFINITY;
  const at = q * (sorted.length - 1);
  const low = Math.floor(at);
  return sorted[low] + (sorted[Math.min(low + 1, sorted.length - 1)] - sorted[low]) * (at - low);
}

interface Baseline {
  prompts: number[][];
  replies: Reply[];
  fluencyLimit: number;
}

export class SteeringProbe {
  /** Replies generated so far, unsteered and steered together; shows what the baseline cache saves. */
  generations = 0;
  /** Unsteered runs by "domain:seed"; promises, so concurrent checks share one run too. */
  private readonly baselines = new Map<string, Promise<Baseline>>();

  constructor(
    readonly model: CausalLm, readonly tokenizer: TextTokenizer, readonly bundle: Bundle,
    readonly vectors: ReadonlyMap<string, Float32Array>, readonly options: SteeringProbeOptions,
  ) {
    if (!(Number.isInteger(options.prompts) && options.prompts >= 1)) throw new RangeError(`steering check: prompts must be a positive integer, got ${options.prompts}`);
  }

  async check(feature: BundleFeature, scale: number, seed: number): Promise<SteeringCheckResult> {
    if (feature.axis === undefined || feature.side === undefined) {
      throw new RangeError(`steering check: feature "${feature.id}" has no axis/side, so no judge can check it`);
    }
    if (!Number.isFinite(scale)) throw new RangeError(`steering check: scale must be a finite number, got ${scale}`);
    if (!Number.isSafeInteger(seed)) throw new RangeError(`steering check: seed must be an integer, got ${seed}`);
    const domain = domainOf(feature.axis);
    const baseline = await this.baselineFor(domain, seed);
    // Scale 0 adds nothing, so its replies are the baseline's.
    const steeredReplies = scale === 0
      ? baseline.replies
      : await this.generate(baseline.prompts, seed, [{ bundle: this.bundle.name, feature: feature.id, scale }]);
    const limit = baseline.fluencyLimit;
    const before = sideRate(domain, feature.axis, feature.side, baseline.replies, limit);
    const after = sideRate(domain, feature.axis, feature.side, steeredReplies, limit);
    const margin = after.rate - before.rate;
    const standardError = differenceStandardError(after.rate, after.judged, before.rate, before.judged);
    return {
      feature: feature.id, axis: feature.axis, side: feature.side, scale, seed,
      baselineRate: before.rate, steeredRate: after.rate, margin, judged: after.judged, baselineJudged: before.judged,
      standardError, z: margin / standardError,
      steeredFluent: steeredReplies.filter((r) => r.loss <= limit).length / Math.max(steeredReplies.length, 1),
      fluencyLimit: limit,
    };
  }

  private baselineFor(domain: Domain, seed: number): Promise<Baseline> {
    const key = `${domain}:${seed}`;
    let baseline = this.baselines.get(key);
    if (baseline === undefined) {
      const prompts = this.promptsFor(domain, seed);
      baseline = this.generate(prompts, seed, []).then((replies) => ({
        prompts, replies,
        fluencyLimit: this.options.maxReplyLoss ?? quantile(replies.map((r) => r.loss), 0.95) + 1,
      }));
      // A failed run must not stay cached as the answer for this seed.
      baseline.catch(() => this.baselines.delete(key));
      this.baselines.set(key, baseline);
    }
    return baseline;
  }

  private promptsFor(domain: Domain, seed: number): number[][] {
    const rng = new Random(seed);
    return Array.from({ length: this.options.prompts }, () => {
      const d = domain === 'home'
        ? generateHomeDialogue(rng, { stated: false, feedback: false })
        : generateCodingDialogue(rng, { stated: false, requestSyntax: 'random', feedbackRate: 0 });
      const user = d.turns.findIndex((t) => t.role === 'assistant');
      return this.tokenizer.encode(renderPrompt(d.turns.slice(0, user)), { addSpecialTokens: false });
    });
  }

  /** Same prompts and sampling seeds for steered and unsteered runs, so the only difference is the added direction. */
  private async generate(prompts: readonly number[][], seed: number, specs: SteerSpec[]): Promise<Reply[]> {
    const hooks = steeringHooksFor(this.model, this.bundle, this.vectors, specs, { saeResolver: this.options.saeResolver });
    const stop = [this.tokenizer.tokenToId(specialTokens.end)!, this.tokenizer.eosTokenId!];
    const replies: Reply[] = [];
    for (let i = 0; i < prompts.length; i += GENERATE_BATCH) {
      const batch = prompts.slice(i, i + GENERATE_BATCH);
      const run = await generateFromIds(this.model, batch, {
        maxTokens: this.options.maxTokens, temperature: this.options.temperature, seed: seed + i, stopTokenIds: stop, hooks,
      }, this.tokenizer);
      this.generations += batch.length;
      // Fluency is judged by the unsteered model: no hooks here.
      const scored = run.results.map((r, j) => ({ context: batch[j], continuation: r.tokenIds }));
      const withTokens = scored.filter((item) => item.continuation.length > 0);
      const losses = scoreContinuations(this.model, withTokens);
      let next = 0;
      run.results.forEach((r, j) => {
        const loss = scored[j].continuation.length === 0 ? 0 : -losses[next++].total / scored[j].continuation.length;
        replies.push({ text: r.text, loss });
      });
    }
    return replies;
  }
}

/** One check on a one-off probe; to check several features or scales, share a SteeringProbe instead. */
export async function checkFeatureSteering(
  model: CausalLm, tokenizer: TextTokenizer, bundle: Bundle, vectors: ReadonlyMap<string, Float32Array>,
  feature: BundleFeature, options: SteeringCheckOptions,
): Promise<SteeringCheckResult> {
  const { scale, seed, ...probeOptions } = options;
  return new SteeringProbe(model, tokenizer, bundle, vectors, probeOptions).check(feature, scale, seed);
}
