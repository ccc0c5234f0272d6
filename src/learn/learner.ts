import type { AdapterSet } from '../adapt/index.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import type { CausalLm } from '../model/causalLm.js';
import { ResidualHooks } from '../model/hooks.js';
import { AdamW, NonFiniteError, Random, Tape, Tensor, clipGradNorm } from '../tensor/index.js';
import { type ChatEncoding, worldChatEncoding } from './chatEncoding.js';
import { type EncodedExperience, encodeExperience } from './encodeExperience.js';
import { type Experience, acceptedReply, experienceLabel, promptTurns, teacherPromptTurns } from './experience.js';
import { BackgroundPool, ReplayBuffer, defaultBackgroundSequences } from './forgetting.js';
import { type GateDecision, type GateSignals, type QualityReading, gateDecision, trustOf, weightBound } from './gating.js';
import { GradientProbe } from './gating/gradientProbe.js';
import { type QualityDetector, qualityOfIds, textIds } from './gating/qualityDetector.js';
import { type LearnerConfig, type LearnerOptions, resolveLearnerConfig } from './learnerConfig.js';
import { type LearnerState, checkRestorable, parameterNames } from './learnerState.js';
import { backgroundKlLoss } from './objectives/backgroundKl.js';
import { type LossTerm, weightedSum } from './objectives/combine.js';
import { experienceObjective } from './objectives/experienceObjective.js';
import type { Policy } from './objectives/policy.js';
import { sftLoss } from './objectives/sft.js';
import { sampleReply } from './sampleReply.js';

// The online learner: one optimiser step per interaction (or per small batch of
// them) on one user's adapter set, the base model never written.
//
// A step, for each experience e of the batch:
//   1. encode it (student prompt without context, teacher prompt with it, replies);
//   2. trust and quality; if they alone put the weight below the threshold, stop here;
//   3. the student samples its own reply (distillation);
//   4. L_e (objectives/experienceObjective.ts) on a fresh tape; backward, with a
//      probe reading ∂L_e/∂h at the bundle's hook point;
//   5. the gate (gating.ts) turns trust, quality, agreement and the subspace
//      fraction into a weight w_e; below the threshold e is stored, not trained on;
// then, if any experience passed:
//   6. g = (1/n) Σ_e w_e ∇L_e + w_bg ∇L_background + w_replay ∇L_replay;
//   7. clip, AdamW, and the adapters' own projections.
// A non-finite value anywhere (the tensor core raises NonFiniteError on every
// loss, the sampler on logits, the clip on gradients) skips the step: the adapter
// and the optimiser's state are exactly as before it, and the log says why.
//
// The base model's parameters are frozen (requiresGrad = false) when the learner
// is built; their values are only ever read.

export interface ExperienceLog {
  label: string;
  user?: string;
  /** Each objective term before weighting (distill, sft, dpo, kto). */
  terms: Record<string, number>;
  /** L_e, the weighted sum of the terms. */
  loss: number | null;
  /** Implicit rewards r(y) of the preference replies. */
  rewards: Record<string, number>;
  sample: { tokens: number; stopped: boolean } | null;
  signals: GateSignals;
  gate: GateDecision;
  notes: string[];
}

export interface StepLog {
  /** 1-based index of this step among all the learner's steps. */
  step: number;
  experiences: ExperienceLog[];
  /** Whether the adapter was updated. */
  trained: boolean;
  skipped: null | 'gate' | 'non-finite';
  /** The error behind a 'non-finite' skip. */
  error: string | null;
  loss: { experiences: number | null; background: number | null; replay: number | null };
  /** Gradient norm before clipping. */
  gradNorm: number | null;
  wallMs: number;
  /** Milliseconds per phase: encode, quality, sample, objective, backward, forgetting, optimiser, norms. */
  timings: Record<string, number>;
  adapterNorm: { total: number; byFeature: Record<string, number> };
}

/** Every experience the learner was given, trained on or not ("stored, not trained on"). */
export interface ExperienceRecord {
  step: number;
  experience: Experience;
  trained: boolean;
  gate: GateDecision;
  /** Null when the step failed before the experience was assessed. */
  signals: GateSignals | null;
  /** The error that skipped its step. */
  error?: string;
}

export interface LearnerInit {
  model: CausalLm;
  /** Needed unless `encoding` and `background` are given and there is no quality detector. */
  tokenizer?: TextTokenizer;
  /** The user's adapters, built on `model` by the caller. */
  adapters: AdapterSet;
  /** Default: the world chat format. */
  encoding?: ChatEncoding;
  /** The feature-based quality detector (gating/qualityDetector.ts); null: quality is not gated. */
  quality?: QualityDetector | null;
  /** Background sequences for forgetting control (default: 16 from the pretraining mix). */
  background?: readonly (readonly number[])[];
  config?: LearnerOptions;
  onLog?: (log: StepLog) => void;
}

function now(): number {
  return performance.now();
}

export class OnlineLearner {
  readonly model: CausalLm;
  readonly adapters: AdapterSet;
  readonly config: LearnerConfig;
  readonly encoding: ChatEncoding;
  readonly optimiser: AdamW;
  readonly replay: ReplayBuffer;
  readonly history: ExperienceRecord[] = [];
  private readonly tokenizer: TextTokenizer | null;
  private readonly quality: QualityDetector | null;
  private readonly background: BackgroundPool | null;
  private readonly rng: Random;
  private readonly onLog: ((log: StepLog) => void) | null;
  private steps = 0;

  constructor(init: LearnerInit) {
    this.model = init.model;
    this.adapters = init.adapters;
    if (init.adapters.model !== init.model) throw new RangeError('learner: the adapter set was built on a different model object; build it on the model the learner uses');
    if (init.adapters.merged) throw new RangeError('learner: the adapter set is merged into the base weights; unmerge() it before learning');
    this.config = resolveLearnerConfig(init.config);
    this.tokenizer = init.tokenizer ?? null;
    const needTokenizer = (what: string): TextTokenizer => {
      if (init.tokenizer === undefined) throw new RangeError(`learner: ${what} needs a tokenizer; pass one`);
      return init.tokenizer;
    };
    this.encoding = init.encoding ?? worldChatEncoding(needTokenizer('the default chat encoding'));
    this.quality = init.quality ?? null;
    if (this.quality !== null) needTokenizer('the quality detector');
    for (const p of init.model.parameters()) p.requiresGrad = false;
    const params = init.adapters.parameters();
    if (params.length === 0) throw new RangeError('learner: the adapter set has no trainable parameters');
    this.optimiser = new AdamW(params, { lr: this.config.lr, weightDecay: this.config.weightDecay, betas: this.config.betas });
    this.rng = new Random(this.config.seed);
    this.replay = new ReplayBuffer(this.config.forgetting.replayCapacity, this.config.seed + 1);
    const wantsBackground = this.config.forgetting.backgroundWeight > 0;
    const sequences = init.background ?? (wantsBackground ? defaultBackgroundSequences(needTokenizer('the default background sequences')) : []);
    this.background = wantsBackground && sequences.length > 0 ? new BackgroundPool(sequences, this.config.seed + 2) : null;
    this.onLog = init.onLog ?? null;
  }

  /**
   * A copy of everything besides the adapter's weights and the config that
   * decides the next steps (learnerState.ts): restored into a new learner on the
   * same weights, it continues exactly as this one would.
   */
  exportState(): LearnerState {
    const params = this.adapters.parameters();
    const names = parameterNames(params);
    return {
      steps: this.steps,
      optimiser: {
        stepCount: this.optimiser.stepCount,
        moments: new Map(params.map((p, i) => {
          const { m, v } = this.optimiser.state(p);
          return [names[i], { shape: [...p.shape], m: Float32Array.from(m.data), v: Float32Array.from(v.data) }];
        })),
      },
      replay: this.replay.exportState(),
      random: {
        learner: this.rng.getState(),
        background: this.background?.exportState() ?? null,
        dropout: new Map(this.adapters.linear.map((a) => [a.name, a.dropoutRng.getState()])),
      },
    };
  }

  /**
   * Continues from an exported state. Its parameter names and shapes, replay
   * capacity, background pool and adapters must be this learner's, else a
   * RangeError names the mismatch and nothing is changed.
   */
  restoreState(state: LearnerState): void {
    const params = this.adapters.parameters();
    checkRestorable(state, {
      params, replayCapacity: this.replay.capacity, backgroundSequences: this.background?.sequences.length ?? null,
      dropoutAdapters: this.adapters.linear.map((a) => a.name),
    });
    const names = parameterNames(params);
    params.forEach((p, i) => {
      const saved = state.optimiser.moments.get(names[i])!;
      const { m, v } = this.optimiser.state(p);
      m.data.set(saved.m);
      v.data.set(saved.v);
    });
    this.optimiser.stepCount = state.optimiser.stepCount;
    this.replay.restoreState(state.replay);
    this.rng.setState(state.random.learner);
    if (state.random.background !== null) this.background!.restoreState(state.random.background);
    for (const a of this.adapters.linear) a.dropoutRng.setState(state.random.dropout.get(a.name)!);
    this.steps = state.steps;
  }

  /** Learns from one interaction, or from a small batch of them in one optimiser step. */
  step(input: Experience | readonly Experience[]): StepLog {
    const experiences: readonly Experience[] = Array.isArray(input) ? input : [input as Experience];
    if (experiences.length === 0) throw new RangeError('learner.step: no experience given');
    const started = now();
    this.steps++;
    const timings: Record<string, number> = { encode: 0, quality: 0, sample: 0, objective: 0, backward: 0, forgetting: 0, optimiser: 0, norms: 0 };
    const time = <T>(phase: string, work: () => T): T => {
      const t = now();
      try {
        return work();
      } finally {
        timings[phase] += now() - t;
      }
    };
    const params = this.adapters.parameters();
    const sum = params.map((p) => new Float64Array(p.size));
    const logs: ExperienceLog[] = [];
    const loss: StepLog['loss'] = { experiences: null, background: null, replay: null };
    let gradNorm: number | null = null;
    let skipped: StepLog['skipped'] = null;
    let error: string | null = null;
    let trained = 0;
    const wasTraining = this.adapters.training;
    this.adapters.training = true;
    try {
      let weightedLoss = 0;
      const accepted: (number[] | null)[] = [];
      const students: number[][] = [];
      for (const experience of experiences) {
        const { log, encoded } = this.assess(experience, params, sum, time);
        logs.push(log);
        accepted.push(encoded.accepted);
        students.push(encoded.student);
        if (log.gate.trained) {
          trained++;
          weightedLoss += log.gate.weight * (log.loss ?? 0);
        }
      }
      if (trained === 0) {
        skipped = 'gate';
      } else {
        loss.experiences = weightedLoss / trained;
        for (const s of sum) for (let i = 0; i < s.length; i++) s[i] /= trained;
        time('forgetting', () => this.forgettingGradients(params, sum, loss));
        gradNorm = time('optimiser', () => this.applyUpdate(params, sum));
        logs.forEach((log, i) => {
          const reply = accepted[i];
          if (log.gate.trained && reply !== null) this.replay.add({ prompt: students[i], reply, weight: log.gate.weight, label: log.label });
        });
      }
    } catch (caught) {
      if (!(caught instanceof NonFiniteError)) throw caught;
      skipped = 'non-finite';
      error = `step ${this.steps} skipped, adapter unchanged: ${caught.message}`;
      trained = 0;
    } finally {
      this.adapters.training = wasTraining;
      this.optimiser.zeroGrad();
    }
    experiences.forEach((experience, i) => this.record(experience, logs[i] ?? null, skipped === null && logs[i]?.gate.trained === true, error));
    const norms = time('norms', () => this.adapters.featureNorms());
    const total = Math.sqrt(norms.adapters.reduce((s, a) => s + a.total * a.total, 0));
    const stepLog: StepLog = {
      step: this.steps, experiences: logs, trained: skipped === null && trained > 0, skipped, error, loss, gradNorm,
      wallMs: now() - started, timings, adapterNorm: { total, byFeature: norms.byFeature },
    };
    this.onLog?.(stepLog);
    return stepLog;
  }

  /** Gate signals, objective and (when it passes) its weighted gradient added into `sum`. */
  private assess(experience: Experience, params: Tensor[], sum: Float64Array[], time: <T>(phase: string, work: () => T) => T): { log: ExperienceLog; encoded: EncodedExperience } {
    const { config, model, adapters } = this;
    const label = experienceLabel(experience);
    const encoded = time('encode', () => encodeExperience(this.encoding, experience, model.spec.maxPositions, config.sampleTokens));
    const { trust, source } = trustOf(experience, config.gate);
    const qualityTexts = time('quality', () => this.readQuality(experience));
    const signals: GateSignals = {
      trust, trustSource: source,
      quality: qualityTexts.length === 0 ? null : Math.min(...qualityTexts.map((q) => q.score)), qualityTexts,
      agreement: null, teacherKl: null, subspaceFraction: null, subspaceChance: null,
    };
    const base = { label, ...(experience.user === undefined ? {} : { user: experience.user }), notes: encoded.notes };
    const bound = weightBound(trust, signals.quality, config.gate);
    if (bound < config.gate.threshold || bound === 0) {
      const gate = gateDecision(signals, config.gate);
      const reason = `${gate.reason}, before sampling: trust and quality alone bound it below the threshold`;
      return { encoded, log: { ...base, terms: {}, loss: null, rewards: {}, sample: null, signals, gate: { ...gate, reason } } };
    }

    const sampled = encoded.teacher !== null && config.objective.weights.distill > 0
      ? time('sample', () => sampleReply(model, encoded.student, {
        maxTokens: encoded.sampleBudget, temperature: config.temperature, rng: this.rng,
        stopTokenIds: this.encoding.stopTokenIds, forward: adapters.forwardOptions(), decodeThreads: config.decodeThreads,
      }))
      : null;

    const tape = new Tape();
    const features = adapters.features;
    const probe = features === null ? null : new GradientProbe(features.hookPoint);
    try {
      const policy = this.policy(probe);
      const objective = time('objective', () => experienceObjective(tape, policy, encoded, sampled?.tokens ?? null, config.objective));
      const logBase = {
        ...base, terms: objective.terms, rewards: objective.rewards,
        sample: sampled === null ? null : { tokens: sampled.tokens.length, stopped: sampled.stopped },
      };
      if (objective.distillation !== null) {
        signals.agreement = objective.distillation.tokenAgreement;
        signals.teacherKl = objective.distillation.meanKl;
      }
      if (objective.total === null) {
        const gate: GateDecision = { weight: 0, trained: false, factors: { trust, quality: 1, agreement: 1, subspace: 1 }, reason: 'no objective term applies (no context to distil, no accepted reply, no thumbs) or all their weights are 0' };
        return { encoded, log: { ...logBase, loss: null, signals, gate } };
      }
      const lossValue = objective.total.item();
      this.optimiser.zeroGrad();
      time('backward', () => tape.backward(objective.total!));
      if (probe !== null && features !== null) {
        const f = probe.fraction(features.basis);
        signals.subspaceFraction = f.fraction;
        signals.subspaceChance = f.chance;
      }
      const gate = gateDecision(signals, config.gate);
      if (gate.trained) addGradients(params, sum, gate.weight);
      return { encoded, log: { ...logBase, loss: lossValue, signals, gate } };
    } finally {
      tape.release();
      probe?.release();
    }
  }

  /** Forward options of the student: the adapters, and the probe when given. */
  private policy(probe: GradientProbe | null): Policy {
    const hooks = new ResidualHooks(this.model.spec.layers);
    this.adapters.residualHooks(hooks);
    probe?.attach(hooks);
    return { model: this.model, student: { linearHook: this.adapters.linearHook, hooks } };
  }

  /**
   * Quality of the texts the experience teaches from, each as the model reads it:
   * the user's last turn, the teacher's added context (its system turn, or the
   * request with a stated preference in front), and the accepted reply. A
   * thumbed-down or corrected reply is the negative example, so it is not scored.
   */
  private readQuality(experience: Experience): QualityReading[] {
    if (this.quality === null) return [];
    const texts: { what: string; text: string }[] = [];
    const turns = promptTurns(experience);
    texts.push({ what: 'prompt', text: turns[turns.length - 1].content });
    const teacher = teacherPromptTurns(experience);
    if (teacher !== null) {
      const added = teacher[0].role === 'system' && teacher.length > turns.length ? teacher[0].content : teacher[teacher.length - 1].content;
      texts.push({ what: 'context', text: added });
    }
    const accepted = acceptedReply(experience);
    if (accepted !== null) texts.push({ what: experience.reaction.kind === 'correction' ? 'correctedReply' : 'reply', text: accepted });
    return texts.map(({ what, text }) => ({ what, ...qualityOfIds(this.model, this.quality!, textIds(this.model, this.tokenizer!, text)) }));
  }

  /** Adds the background-KL and replay gradients into `sum`, with their weights. */
  private forgettingGradients(params: Tensor[], sum: Float64Array[], loss: StepLog['loss']): void {
    const { forgetting } = this.config;
    const tape = new Tape();
    try {
      const policy = this.policy(null);
      const terms: LossTerm[] = [];
      if (this.background !== null) {
        const kl = backgroundKlLoss(tape, policy, this.background.next());
        loss.background = kl.item();
        terms.push({ name: 'background', loss: kl, weight: forgetting.backgroundWeight });
      }
      const replayed = forgetting.replayWeight > 0 ? this.replay.draw(forgetting.replayPerStep) : [];
      if (replayed.length > 0) {
        const parts = replayed.map((item) => ({ name: `replay ${item.label}`, loss: sftLoss(tape, policy, item.prompt, item.reply), weight: item.weight / replayed.length }));
        const replayLoss = weightedSum(tape, parts)!;
        loss.replay = replayLoss.item();
        terms.push({ name: 'replay', loss: replayLoss, weight: forgetting.replayWeight });
      }
      const total = weightedSum(tape, terms);
      if (total === null || !total.requiresGrad) return;
      this.optimiser.zeroGrad();
      tape.backward(total);
      addGradients(params, sum, 1);
    } finally {
      tape.release();
    }
  }

  /** Sets the summed gradient, clips, steps; restores everything if the result is not finite. */
  private applyUpdate(params: Tensor[], sum: Float64Array[]): number {
    params.forEach((p, i) => {
      if (p.grad === null) p.grad = Tensor.zeros(p.shape);
      p.grad.data.set(sum[i]);
      p.gradIsStale = false;
    });
    this.adapters.projectGradients();
    const norm = clipGradNorm(params, this.config.clipNorm);
    const snapshot = params.map((p) => {
      const state = this.optimiser.state(p);
      return { data: Float32Array.from(p.data), m: Float32Array.from(state.m.data), v: Float32Array.from(state.v.data) };
    });
    const stepCount = this.optimiser.stepCount;
    this.optimiser.step();
    this.adapters.projectParameters();
    for (const [i, p] of params.entries()) {
      const data = p.data;
      for (let j = 0; j < data.length; j++) {
        if (Number.isFinite(data[j])) continue;
        params.forEach((q, k) => {
          q.data.set(snapshot[k].data);
          const state = this.optimiser.state(q);
          state.m.data.set(snapshot[k].m);
          state.v.data.set(snapshot[k].v);
        });
        this.optimiser.stepCount = stepCount;
        throw new NonFiniteError('learner update', `parameter ${p.name ?? i} after the optimiser step`, p.shape, j, data[j]);
      }
    }
    return norm;
  }

  private record(experience: Experience, log: ExperienceLog | null, trained: boolean, error: string | null): void {
    const gate: GateDecision = log?.gate ?? { weight: 0, trained: false, factors: { trust: 0, quality: 0, agreement: 0, subspace: 0 }, reason: error ?? 'not assessed' };
    this.history.push({ step: this.steps, experience, trained, gate, signals: log?.signals ?? null, ...(error === null ? {} : { error }) });
    if (this.history.length > this.config.historyLimit) this.history.splice(0, this.history.length - this.config.historyLimit);
  }
}

/** sum[i] += weight · grad of params[i] (parameters whose gradient this backward did not write count 0). */
function addGradients(params: Tensor[], sum: Float64Array[], weight: number): void {
  params.forEach((p, i) => {
    if (p.grad === null || p.gradIsStale) return;
    const g = p.grad.data;
    const s = sum[i];
    for (let j = 0; j < s.length; j++) s[j] += weight * g[j];
  });
}

