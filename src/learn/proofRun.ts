import { AdapterSet, type AdapterSetConfig, type FeatureSpace, layersWritingBefore } from '../adapt/index.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import type { CausalLm } from '../model/causalLm.js';
import type { HomeUser } from '../world/home/users.js';
import { loadBundleFeatureSpace } from './bundleFeatureSpace.js';
import { type QualityDetector, buildQualityDetector, loadOrBuildQualityDetector } from './gating/qualityDetector.js';
import { type LearnerOptions, resolveLearnerConfig } from './learnerConfig.js';
import { type AxisTarget, checkAxisTarget } from './measure.js';
import { type SimulationPoint, simulateLearning } from './simulate.js';
import { type ForgettingAtLevel, forgettingAtLevels, gapReduction, judgeGain, lossShiftAtLevel } from './adaptationLevels.js';
import { formatLr } from './proofReport.js';
import { type FeatureSelectionConfig, checkFeatureSelectionConfig, defaultFeatureSelection, selectUserFeatures } from './featureSelection.js';
import { worldChatEncoding } from './chatEncoding.js';
import type { Experience } from './experience.js';

// The proof that the learner learns (issue 6): a simulated world user whose
// hidden preference is one axis (default: wants direct replies) talks to the
// shipped model for 50 interactions, over several seeds, once with a
// write-constrained FC-LoRA on the bundle's subspace and once with a plain LoRA
// of the same rank on the same layers, with the same learner settings.
//
// Measured with NO context in the prompt, on fixed held-out requests and
// sampling seeds: the judge's score for the axis (the judge's confidence that a
// reply has the wanted value, averaged over replies), before and after chosen
// interaction counts (`evaluateAt`); and the mean next-token loss on held-out
// general text (the forgetting probe).
//
// One run is one (kind, learning rate, seed): proofRunOne. summariseProof turns
// finished runs into the report, so a caller can save runs as they finish and
// resume (src/eval/learnProofSuite.ts); proofRun does all of it in one call, at
// one learning rate.
//
// Effect size of the rise: per seed the gain Δ = score(after) − score(before);
// over seeds Cohen's d_z = mean(Δ) / sd(Δ); and pooled over every (seed, prompt)
// pair, z = mean(d) / (sd(d) / sqrt(n)) of the paired per-prompt differences.
//
// Adaptation level, for comparing forgetting, two ways:
//   - the reduction of the teacher gap, KL(base with the user's profile ‖ adapted
//     model without it) on held-out requests (measure.ts teacherGap): the
//     quantity distillation optimises, with no ceiling;
//   - the judge-score gain (which saturates: the directness judge's highest
//     score is σ(2) = 0.881, reached by every reply without a hedge).
// Per seed, the level both kinds reach is the smaller of their final values;
// each kind's general-text loss shift is read where its trajectory first reaches
// it (linear interpolation between measurements, which are dense early on). The
// same-steps shift (after all interactions) is reported too. Over a
// learning-rate sweep, the level table (adaptationLevels.ts) compares each kind
// at its best learning rate for each level.

// Kinds:
//   write     write-constrained FC-LoRA on the whole bundle;
//   selected  write-constrained FC-LoRA on the features the user's first
//             interactions move (featureSelection.ts; the adapter is built after
//             `selection.window` interactions, the base model replying until then);
//   lora      plain LoRA.
export type ProofKind = 'write' | 'selected' | 'lora';
export const PROOF_KINDS: readonly ProofKind[] = ['write', 'selected', 'lora'];
/** The feature-constrained kinds, each compared with plain LoRA. */
export const FC_PROOF_KINDS: readonly ProofKind[] = ['write', 'selected'];

/** How the `selected` kind picks the user's features: from its first `window` interactions, by featureSelection.ts's rule. */
export interface ProofSelection extends FeatureSelectionConfig {
  window: number;
}

/** Window 4: one interaction's reply is short and its ranking noisy; four agree with the axis the user wants (runs/exp/rank.mjs: every axis but warmth). */
export const DEFAULT_PROOF_SELECTION: ProofSelection = { window: 4, ...defaultFeatureSelection };

/** Measured after these interaction counts (dense early, where plain LoRA moves fastest), capped at the run's length. */
export const DEFAULT_EVALUATE_AT: readonly number[] = [0, 2, 4, 6, 8, 10, 15, 20, 30, 40, 50];

export interface ProofRunOptions {
  model: CausalLm;
  tokenizer: TextTokenizer;
  bundlePath: string;
  seeds?: number[];
  interactions?: number;
  /** Interaction counts to measure after (default 0, 2, 4, 6, 8, 10, 15, 20, 30, 40, 50, capped at `interactions`). */
  evaluateAt?: number[];
  heldOutPrompts?: number;
  generalPassages?: number;
  target?: AxisTarget;
  rank?: number;
  /** How the `selected` kind picks the user's features (default DEFAULT_PROOF_SELECTION). */
  selection?: Partial<ProofSelection>;
  kinds?: ProofKind[];
  learner?: LearnerOptions;
  /** Where to cache the quality detector (built in memory when absent). */
  qualityCache?: string;
  log?: (line: string) => void;
}

/** What every run of a proof shares: the model, the bundle's space, the adapted layers, the gate's quality detector. */
export interface ProofSetup {
  model: CausalLm;
  tokenizer: TextTokenizer;
  space: FeatureSpace;
  layers: number[];
  modules: string[];
  quality: QualityDetector;
}

/** How each run is made and measured (the same for every kind, learning rate and seed of a proof). */
export interface ProofSettings {
  interactions: number;
  evaluateAt: number[];
  heldOutPrompts: number;
  generalPassages: number;
  target: AxisTarget;
  rank: number;
  /** How the `selected` kind picks the user's features. */
  selection: ProofSelection;
}

export interface ProofRunRecord {
  kind: ProofKind;
  /** The features the adapter was confined to (the whole bundle's for `write`; none for `lora`). */
  features?: string[];
  /** The learner's learning rate in this run. */
  lr: number;
  seed: number;
  points: SimulationPoint[];
  reactions: Record<string, number>;
  steps: { trained: number; skippedByGate: number; nonFinite: number };
  stepMsMedian: number;
  wallMs: number;
}

export interface KindSummary {
  kind: ProofKind;
  lr: number;
  seeds: number[];
  gapBefore: number;
  gapAfter: number;
  judgeBefore: number;
  judgeAfter: number;
  gains: number[];
  gainMean: number;
  gainSd: number;
  /** mean(gain) / sd(gain) over seeds. */
  cohenDz: number;
  /** Paired per-prompt differences pooled over seeds. */
  pooled: { n: number; meanDifference: number; standardError: number; z: number };
  rateBefore: number;
  rateAfter: number;
  /** General-text loss after all interactions − before, per seed. */
  lossShifts: number[];
  lossShiftMean: number;
}

export interface MatchedComparison {
  seed: number;
  /** The feature-constrained kind compared with plain LoRA. */
  kind: ProofKind;
  /** Both kinds ran at this learning rate. */
  lr: number;
  /** 'teacher gap' (reduction of KL to the in-context teacher) or 'judge gain'. */
  level: 'teacher gap' | 'judge gain';
  /** The level both kinds reached. */
  value: number;
  lossShift: { fc: number; lora: number };
}

export interface ProofConfig {
  model: string;
  bundle: string;
  hookPoint: string;
  directions: number;
  target: AxisTarget;
  kinds: ProofKind[];
  lrs: number[];
  seeds: number[];
  interactions: number;
  evaluateAt: number[];
  heldOutPrompts: number;
  generalPassages: number;
  rank: number;
  /** How the `selected` kind picks the user's features (present when it runs). */
  selection?: ProofSelection;
  layers: number[];
  modules: string[];
  /** The learner's options apart from the learning rate, which each run records. */
  learner: LearnerOptions;
}

export interface ProofRunResult {
  config: ProofConfig;
  runs: ProofRunRecord[];
  /** One per kind and learning rate, over its seeds. */
  summary: KindSummary[];
  matched: MatchedComparison[];
  /** Forgetting at equal teacher-gap reduction, each kind at its best learning rate (adaptationLevels.ts). */
  levels: ForgettingAtLevel[];
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function sd(xs: readonly number[]): number {
  if (xs.length < 2) return Number.NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

function medianOf(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The adapted layers: the ones a write-constrained adapter may use for this space, o_proj and down_proj of each (plain LoRA gets the same). */
export function proofTargets(space: FeatureSpace, layerCount: number): { layers: number[]; modules: string[] } {
  const layers = layersWritingBefore(space.hookPoint, layerCount);
  if (layers.length === 0) throw new RangeError(`bundle "${space.name}" is at ${space.hookPoint}: no layer writes the residual stream before it, so a write-constrained adapter has nowhere to go`);
  return { layers, modules: ['o_proj', 'down_proj'] };
}

/** `space`: the bundle's space when the caller has loaded it already (it is read from `bundlePath` otherwise). */
export function prepareProof(options: Pick<ProofRunOptions, 'model' | 'tokenizer' | 'bundlePath' | 'qualityCache'> & { space?: FeatureSpace }): ProofSetup {
  const { model, tokenizer } = options;
  const space: FeatureSpace = options.space ?? loadBundleFeatureSpace(options.bundlePath, model);
  const { layers, modules } = proofTargets(space, model.spec.layers);
  const quality: QualityDetector = options.qualityCache !== undefined
    ? loadOrBuildQualityDetector(options.qualityCache, model, tokenizer, space.hookPoint)
    : buildQualityDetector(model, tokenizer, space.hookPoint);
  return { model, tokenizer, space, layers, modules, quality };
}

export function proofSettings(options: Partial<Pick<ProofRunOptions, 'interactions' | 'evaluateAt' | 'heldOutPrompts' | 'generalPassages' | 'target' | 'rank' | 'selection'>>): ProofSettings {
  const interactions = options.interactions ?? 50;
  if (!Number.isSafeInteger(interactions) || interactions < 1) throw new RangeError(`proof run: interactions must be an integer >= 1, got ${interactions}`);
  const target = options.target ?? { axis: 'directness', wanted: 'direct' };
  checkAxisTarget(target);
  const evaluateAt = [...new Set([...(options.evaluateAt ?? DEFAULT_EVALUATE_AT).filter((n) => n <= interactions), 0, interactions])].sort((a, b) => a - b);
  const selection = { ...DEFAULT_PROOF_SELECTION, ...options.selection };
  checkFeatureSelectionConfig(selection);
  if (!Number.isSafeInteger(selection.window) || selection.window < 1) throw new RangeError(`proof run: the selection window must be an integer >= 1, got ${selection.window}`);
  return { interactions, evaluateAt, heldOutPrompts: options.heldOutPrompts ?? 32, generalPassages: options.generalPassages ?? 24, target, rank: options.rank ?? 4, selection };
}

/**
 * One proof run: a fresh adapter of `kind`, one simulated user of `seed`, the learner at `learner` (its lr included).
 * `log` gets a line per measurement (with the point) and one when the run ends (without).
 */
export async function proofRunOne(
  setup: ProofSetup, settings: ProofSettings, run: { kind: ProofKind; seed: number; learner?: LearnerOptions },
  log: (line: string, point?: SimulationPoint) => void = () => {},
): Promise<ProofRunRecord> {
  const { model, tokenizer, space } = setup;
  const { kind, seed } = run;
  const { target, interactions } = settings;
  const lr = resolveLearnerConfig(run.learner).lr;
  const name = `${kind} lr ${formatLr(lr)} seed ${seed}`;
  const config: AdapterSetConfig = { seed, adapters: [{ kind: kind === 'lora' ? 'lora' : 'write', rank: settings.rank, target: { modules: setup.modules, layers: setup.layers } }] };
  let features: string[] | undefined = kind === 'lora' ? undefined : [...space.ids];
  const adapters = kind !== 'selected' ? AdapterSet.create(model, config, space) : {
    window: settings.selection.window,
    build: (experiences: readonly Experience[]) => {
      const chosen = selectUserFeatures(model, worldChatEncoding(tokenizer), space, experiences, settings.selection);
      features = chosen.kept;
      log(`${name}: the user's features after ${experiences.length} interaction${experiences.length === 1 ? '' : 's'}: ${chosen.ranking.features.map((f) => `${f.id} ${f.score.toFixed(2)}`).slice(0, 6).join(', ')}; kept ${chosen.kept.join(', ')}`);
      return AdapterSet.create(model, config, chosen.space);
    },
  };
  const user: HomeUser = { id: `proof-user-${seed}`, preferences: { [target.axis]: target.wanted }, statesPreferenceRate: 0.3 };
  const started = performance.now();
  const result = await simulateLearning({
    model, tokenizer, adapters, quality: setup.quality, user, target, interactions, evaluateAt: settings.evaluateAt, seed,
    heldOutPrompts: settings.heldOutPrompts, generalPassages: settings.generalPassages, learner: run.learner,
    onPoint: (p) => log(`${name} after ${p.interactions}: judge ${p.judge.meanScore.toFixed(3)} (rate ${p.judge.rate.toFixed(2)}), teacher gap ${p.teacherGap.toFixed(4)}, general-text loss ${p.generalLoss.toFixed(4)}`, p),
  });
  const wallMs = performance.now() - started;
  log(`${name}: ${(wallMs / 1000).toFixed(0)} s, steps trained ${result.steps.trained}, gated ${result.steps.skippedByGate}, reactions ${JSON.stringify(result.reactions)}`);
  return { kind, ...(features === undefined ? {} : { features }), lr, seed, points: result.points, reactions: result.reactions, steps: result.steps, stepMsMedian: medianOf(result.stepMs), wallMs };
}

export function proofConfig(setup: Pick<ProofSetup, 'model' | 'space' | 'layers' | 'modules'>, settings: ProofSettings, grid: { kinds: ProofKind[]; lrs: number[]; seeds: number[] }, learner: LearnerOptions = {}): ProofConfig {
  const { lr: _lr, ...rest } = learner;
  return {
    model: setup.model.spec.modelType, bundle: setup.space.name, hookPoint: setup.space.hookPoint, directions: setup.space.basis.rank, target: settings.target,
    kinds: grid.kinds, lrs: grid.lrs, seeds: grid.seeds, interactions: settings.interactions, evaluateAt: settings.evaluateAt,
    heldOutPrompts: settings.heldOutPrompts, generalPassages: settings.generalPassages, rank: settings.rank,
    ...(grid.kinds.includes('selected') ? { selection: settings.selection } : {}), layers: setup.layers, modules: setup.modules, learner: rest,
  };
}

/** The seeds' before/after statistics of one kind at one learning rate. */
export function summariseKind(kind: ProofKind, lr: number, runs: readonly ProofRunRecord[]): KindSummary {
  const mine = runs.filter((r) => r.kind === kind && r.lr === lr);
  if (mine.length === 0) throw new RangeError(`summariseKind: no ${kind} run at lr ${formatLr(lr)}`);
  const first = mine.map((r) => r.points[0]);
  const last = mine.map((r) => r.points[r.points.length - 1]);
  const gains = mine.map((_, i) => last[i].judge.meanScore - first[i].judge.meanScore);
  const differences = mine.flatMap((_, i) => last[i].judge.scores.map((s, j) => s - first[i].judge.scores[j]));
  const se = sd(differences) / Math.sqrt(differences.length);
  const lossShifts = mine.map((_, i) => last[i].generalLoss - first[i].generalLoss);
  return {
    kind, lr, seeds: mine.map((r) => r.seed),
    gapBefore: mean(first.map((p) => p.teacherGap)), gapAfter: mean(last.map((p) => p.teacherGap)), judgeBefore: mean(first.map((p) => p.judge.meanScore)), judgeAfter: mean(last.map((p) => p.judge.meanScore)),
    gains, gainMean: mean(gains), gainSd: sd(gains), cohenDz: mean(gains) / sd(gains),
    pooled: { n: differences.length, meanDifference: mean(differences), standardError: se, z: mean(differences) / se },
    rateBefore: mean(first.map((p) => p.judge.rate)), rateAfter: mean(last.map((p) => p.judge.rate)),
    lossShifts, lossShiftMean: mean(lossShifts),
  };
}

// Per seed and learning rate, the level both kinds reach is the smaller of their
// final values; each kind's loss shift is read where it first reaches it. At one
// learning rate this favours the faster kind (see adaptationLevels.ts); the
// level table is the comparison that holds across a sweep.
export function matchedComparisons(runs: readonly ProofRunRecord[]): MatchedComparison[] {
  const matched: MatchedComparison[] = [];
  for (const fc of runs.filter((r) => FC_PROOF_KINDS.includes(r.kind))) {
    const lora = runs.find((r) => r.kind === 'lora' && r.seed === fc.seed && r.lr === fc.lr);
    if (lora === undefined) continue;
    for (const [level, progressOf] of [['teacher gap', gapReduction], ['judge gain', judgeGain]] as const) {
      const pf = progressOf(fc.points);
      const pl = progressOf(lora.points);
      const value = Math.min(pf[pf.length - 1], pl[pl.length - 1]);
      if (!(value > 0)) continue;
      matched.push({ seed: fc.seed, kind: fc.kind, lr: fc.lr, level, value, lossShift: { fc: lossShiftAtLevel(fc.points, pf, value), lora: lossShiftAtLevel(lora.points, pl, value) } });
    }
  }
  return matched.sort((a, b) => a.lr - b.lr || a.seed - b.seed || FC_PROOF_KINDS.indexOf(a.kind) - FC_PROOF_KINDS.indexOf(b.kind));
}

/** Summaries, matched comparisons and the level table over finished runs (in the config's kind, lr, seed order). */
export function summariseProof(config: ProofConfig, runs: readonly ProofRunRecord[]): ProofRunResult {
  const ordered: ProofRunRecord[] = [];
  for (const kind of config.kinds) {
    for (const lr of config.lrs) {
      for (const seed of config.seeds) {
        const run = runs.find((r) => r.kind === kind && r.lr === lr && r.seed === seed);
        if (run !== undefined) ordered.push(run);
      }
    }
  }
  const summary: KindSummary[] = [];
  for (const kind of config.kinds) {
    for (const lr of config.lrs) {
      if (ordered.some((r) => r.kind === kind && r.lr === lr)) summary.push(summariseKind(kind, lr, ordered));
    }
  }
  return { config, runs: ordered, summary, matched: matchedComparisons(ordered), levels: forgettingAtLevels(ordered) };
}

export async function proofRun(options: ProofRunOptions): Promise<ProofRunResult> {
  const settings = proofSettings(options);
  const setup = prepareProof(options);
  const seeds = options.seeds ?? [1, 2, 3];
  const kinds = options.kinds ?? [...PROOF_KINDS];
  const lr = resolveLearnerConfig(options.learner).lr;
  const runs: ProofRunRecord[] = [];
  for (const seed of seeds) {
    for (const kind of kinds) runs.push(await proofRunOne(setup, settings, { kind, seed, learner: options.learner }, (line) => options.log?.(line)));
  }
  return summariseProof(proofConfig(setup, settings, { kinds, lrs: [lr], seeds }, options.learner), runs);
}
