import { AdapterSet } from '../adapt/index.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import type { CausalLm } from '../model/causalLm.js';
import { Random } from '../tensor/index.js';
import { renderHomeContext } from '../world/home/contexts.js';
import { generateHomeDialogue } from '../world/home/dialogue.js';
import { homeAxisNames, memoryNotes } from '../world/home/styleStatements.js';
import { type HomeUser, userReaction } from '../world/home/users.js';
import { pick } from '../world/randomChoice.js';
import type { Feedback } from '../world/types.js';
import { type ChatEncoding, worldChatEncoding } from './chatEncoding.js';
import type { Experience, Reaction } from './experience.js';
import type { QualityDetector } from './gating/qualityDetector.js';
import { OnlineLearner, type StepLog } from './learner.js';
import type { LearnerOptions } from './learnerConfig.js';
import {
  type AxisMeasurement, type AxisTarget, checkAxisTarget, generalTextLoss, generalTextProbe, heldOutHomeRequests, measureAxis, teacherGap, teacherSamples,
} from './measure.js';
import { sampleReply } from './sampleReply.js';

// A simulated learning run: one world user with hidden preferences talks to the
// assistant (base model + this user's adapter) for N interactions.
//   - each interaction is an unstated home request; the assistant replies WITHOUT
//     any context; the user reacts to the reply text (world/home/users.ts);
//   - the experience carries what the world's assistant would have in context for
//     this user: a profile line or memory notes stating the preferences;
//   - the learner takes one step on it.
// At chosen points the run measures, with no context in the prompt, the judge's
// score for the target axis on fixed held-out requests (same prompts and
// sampling seeds every time, so points differ only by the adapter) and the
// mean next-token loss on held-out general text; and how far the adapted model
// (no context) still is from the base model given the user's profile (teacherGap).

export interface SimulationOptions {
  model: CausalLm;
  tokenizer: TextTokenizer;
  /**
   * The user's adapter set, fresh (built by the caller on `model`); or how to
   * build it from the user's first `window` interactions (per-user feature
   * selection, featureSelection.ts). Until it is built the assistant replies as
   * the base model, which is what a fresh adapter does (its update starts at 0),
   * and then the learner takes one step per buffered interaction, in order.
   */
  adapters: AdapterSet | DeferredAdapters;
  quality?: QualityDetector | null;
  user: HomeUser;
  /** The axis measured; default: the user's first preferred axis. */
  target?: AxisTarget;
  interactions: number;
  /** Interaction counts after which to measure (0 = before any). Default [0, interactions]. */
  evaluateAt?: number[];
  heldOutPrompts?: number;
  generalPassages?: number;
  /** The assistant's replies to the user (default temperature 0.7, 48 tokens). */
  replyTemperature?: number;
  replyMaxTokens?: number;
  seed?: number;
  learner?: LearnerOptions;
  encoding?: ChatEncoding;
  /** Called with each step's log. */
  onStep?: (log: StepLog, interaction: number) => void;
  /** Called with each measurement. */
  onPoint?: (point: SimulationPoint) => void;
}

export interface DeferredAdapters {
  /** Interactions gathered before the adapter is built (>= 1). */
  window: number;
  build(experiences: readonly Experience[]): AdapterSet;
}

export interface SimulationPoint {
  interactions: number;
  judge: Omit<AxisMeasurement, 'replies'> & { examples: string[] };
  generalLoss: number;
  /** KL(teacher with the user's profile ‖ adapted model without it) on held-out requests (measure.ts teacherGap). */
  teacherGap: number;
}

export interface SimulationResult {
  target: AxisTarget;
  points: SimulationPoint[];
  reactions: Record<string, number>;
  steps: { trained: number; skippedByGate: number; nonFinite: number };
  stepMs: number[];
  /** Per step: gate weight and loss terms of its experience. */
  trace: { interaction: number; reaction: string; weight: number; trained: boolean; terms: Record<string, number> }[];
}

/** The world's Feedback (or none) as an experience's reaction. */
export function reactionFromFeedback(feedback: Feedback | null): Reaction {
  if (feedback === null) return { kind: 'none' };
  return feedback.kind === 'thumbs' ? { kind: 'thumbs', up: feedback.up } : { kind: feedback.kind, text: feedback.text };
}

/** What the world's assistant would know about this user: a profile line or memory notes, stating every preference. */
export function userContext(user: HomeUser, rng: Random): Experience['context'] {
  if (rng.uniform() < 0.5) return { profile: renderHomeContext(user.preferences, 'profile', rng) };
  const notes = homeAxisNames.filter((a) => user.preferences[a] !== undefined)
    .map((a) => pick(rng, (memoryNotes[a] as Record<string, readonly string[]>)[user.preferences[a] as string]));
  return { memory: notes };
}

export async function simulateLearning(options: SimulationOptions): Promise<SimulationResult> {
  const { model, tokenizer, user } = options;
  const preferred = homeAxisNames.find((a) => user.preferences[a] !== undefined);
  if (preferred === undefined) throw new RangeError(`simulateLearning: user ${user.id} has no preference to learn`);
  const target = options.target ?? { axis: preferred, wanted: user.preferences[preferred] as string };
  checkAxisTarget(target);
  if (!Number.isInteger(options.interactions) || options.interactions < 0) throw new RangeError(`simulateLearning: interactions must be an integer >= 0, got ${options.interactions}`);
  const seed = options.seed ?? 0;
  const encoding = options.encoding ?? worldChatEncoding(tokenizer);
  const evaluateAt = [...new Set(options.evaluateAt ?? [0, options.interactions])].sort((a, b) => a - b);
  const requests = heldOutHomeRequests(seed + 10_000, options.heldOutPrompts ?? 32);
  const prompts = requests.map((turns) => encoding.prompt(turns));
  // The teacher of the gap measurement sees one fixed profile line for this user.
  const profile = renderHomeContext(user.preferences, 'profile', new Random(seed + 30_000));
  const gapSamples = teacherSamples(model, encoding, requests, profile, { maxTokens: options.replyMaxTokens ?? 48, seed: seed + 40_000 });
  const passages = generalTextProbe(tokenizer, options.generalPassages ?? 16);
  const deferred = options.adapters instanceof AdapterSet ? null : options.adapters;
  if (deferred !== null && !(Number.isSafeInteger(deferred.window) && deferred.window >= 1)) throw new RangeError(`simulateLearning: the deferred adapters' window must be an integer >= 1, got ${deferred.window}`);
  let adapters: AdapterSet | null = deferred === null ? options.adapters as AdapterSet : null;
  let learner: OnlineLearner | null = null;
  const pending: Experience[] = [];
  const forwardOptions = () => adapters?.forwardOptions() ?? {};
  const rng = new Random(seed);
  const replyRng = new Random(seed + 1);
  const result: SimulationResult = { target, points: [], reactions: {}, steps: { trained: 0, skippedByGate: 0, nonFinite: 0 }, stepMs: [], trace: [] };

  const measure = async (interactions: number) => {
    const forward = forwardOptions();
    const judge = await measureAxis(model, forward, encoding, prompts, target, { maxTokens: options.replyMaxTokens ?? 48, temperature: options.replyTemperature ?? 0.7, seed: seed + 20_000 });
    const point: SimulationPoint = {
      interactions,
      judge: { meanScore: judge.meanScore, rate: judge.rate, scores: judge.scores, examples: judge.replies.slice(0, 3) },
      generalLoss: generalTextLoss(model, forward, passages),
      teacherGap: teacherGap(model, forward, gapSamples),
    };
    result.points.push(point);
    options.onPoint?.(point);
  };

  const labels: string[] = [];
  if (evaluateAt.includes(0)) await measure(0);
  for (let i = 1; i <= options.interactions; i++) {
    const dialogue = generateHomeDialogue(rng, { stated: false, feedback: false });
    const turns = dialogue.turns.slice(0, dialogue.turns.findIndex((t) => t.role === 'assistant'));
    const sampled = sampleReply(model, encoding.prompt(turns), {
      maxTokens: options.replyMaxTokens ?? 48, temperature: options.replyTemperature ?? 0.7, rng: replyRng,
      stopTokenIds: encoding.stopTokenIds, forward: forwardOptions(),
    });
    const reply = encoding.decode(sampled.stopped ? sampled.tokens.slice(0, -1) : sampled.tokens).trim() || '...';
    const reaction = reactionFromFeedback(userReaction(user, reply, rng));
    const label = reaction.kind === 'thumbs' ? (reaction.up ? 'thumbs up' : 'thumbs down') : reaction.kind;
    result.reactions[label] = (result.reactions[label] ?? 0) + 1;
    const experience: Experience = { id: `${user.id}-${i}`, user: user.id, prompt: turns, reply, reaction, context: userContext(user, rng) };
    pending.push(experience);
    labels.push(label);
    if (adapters === null && (pending.length >= deferred!.window || i === options.interactions)) adapters = deferred!.build(pending);
    if (adapters !== null) {
      learner ??= new OnlineLearner({ model, tokenizer, adapters, encoding, quality: options.quality ?? null, config: { seed, ...options.learner } });
      const first = i - pending.length + 1;
      for (const [j, buffered] of pending.entries()) {
        const log = learner.step(buffered);
        result.stepMs.push(log.wallMs);
        if (log.trained) result.steps.trained++;
        else if (log.skipped === 'gate') result.steps.skippedByGate++;
        else if (log.skipped === 'non-finite') result.steps.nonFinite++;
        const e = log.experiences[0];
        result.trace.push({ interaction: first + j, reaction: labels[first + j - 1], weight: e?.gate.weight ?? 0, trained: log.trained, terms: e?.terms ?? {} });
        options.onStep?.(log, first + j);
      }
      pending.length = 0;
    }
    if (evaluateAt.includes(i)) await measure(i);
    // Long runs stay responsive to signals and timers.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return result;
}
