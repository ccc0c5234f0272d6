import { AdapterSet, type FeatureSpace } from '../adapt/index.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import type { CausalLm } from '../model/causalLm.js';
import type { HomeUser } from '../world/home/users.js';
import { loadBundleFeatureSpace } from './bundleFeatureSpace.js';
import { type QualityDetector, buildQualityDetector, loadOrBuildQualityDetector } from './gating/qualityDetector.js';
import type { LearnerOptions } from './learnerConfig.js';
import type { AxisTarget } from './measure.js';
import { type SimulationPoint, simulateLearning } from './simulate.js';

// The proof that the learner learns (issue 6): a simulated world user whose
// hidden preference is one axis (default: wants direct replies) talks to the
// shipped model for 50 interactions, over several seeds, once with a
// write-constrained FC-LoRA on the bundle's subspace and once with a plain LoRA
// of the same rank on the same layers, with the same learner settings.
//
// Measured with NO context in the prompt, on fixed held-out requests and
// sampling seeds: the judge's score for the axis (the judge's confidence that a
// reply has the wanted value, averaged over replies), before and every
// `evaluateEvery` interactions; and the mean next-token loss on held-out general
// text (the forgetting probe).
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
// same-steps shift (after all interactions) is reported too.

export type ProofKind = 'write' | 'lora';

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
  kinds?: ProofKind[];
  learner?: LearnerOptions;
  /** Where to cache the quality detector (built in memory when absent). */
  qualityCache?: string;
  log?: (line: string) => void;
}

export interface ProofRunRecord {
  kind: ProofKind;
  seed: number;
  points: SimulationPoint[];
  reactions: Record<string, number>;
  steps: { trained: number; skippedByGate: number; nonFinite: number };
  stepMsMedian: number;
}

export interface KindSummary {
  kind: ProofKind;
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
  /** 'teacher gap' (reduction of KL to the in-context teacher) or 'judge gain'. */
  level: 'teacher gap' | 'judge gain';
  /** The level both kinds reached. */
  value: number;
  lossShift: Record<ProofKind, number>;
}

export interface ProofRunResult {
  config: { model: string; bundle: string; hookPoint: string; directions: number; target: AxisTarget; seeds: number[]; interactions: number; rank: number; layers: number[]; modules: string[]; learner: LearnerOptions };
  runs: ProofRunRecord[];
  summary: Partial<Record<ProofKind, KindSummary>>;
  matched: MatchedComparison[];
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

/** The general-text loss shift where `progress` (per point, 0 at the start) first reaches `level`, interpolated. */
export function lossShiftAtLevel(points: readonly SimulationPoint[], progress: readonly number[], level: number): number {
  const l = points.map((p) => p.generalLoss - points[0].generalLoss);
  for (let i = 1; i < points.length; i++) {
    if (progress[i] >= level) {
      const span = progress[i] - progress[i - 1];
      const t = span > 0 ? Math.min(1, Math.max(0, (level - progress[i - 1]) / span)) : 1;
      return l[i - 1] + t * (l[i] - l[i - 1]);
    }
  }
  return l[l.length - 1];
}

const judgeGain = (points: readonly SimulationPoint[]) => points.map((p) => p.judge.meanScore - points[0].judge.meanScore);
const gapReduction = (points: readonly SimulationPoint[]) => points.map((p) => points[0].teacherGap - p.teacherGap);

export async function proofRun(options: ProofRunOptions): Promise<ProofRunResult> {
  const { model, tokenizer } = options;
  const seeds = options.seeds ?? [1, 2, 3];
  const interactions = options.interactions ?? 50;
  const target = options.target ?? { axis: 'directness', wanted: 'direct' };
  const rank = options.rank ?? 4;
  const kinds = options.kinds ?? ['write', 'lora'];
  const log = options.log ?? (() => {});
  const space: FeatureSpace = loadBundleFeatureSpace(options.bundlePath, model);
  // Writes must land at or before the hook point (src/adapt/spaces.ts): layers 0..H for blocks.H.post, 0..H-1 for .pre.
  const [, hookLayer, where] = /^blocks\.(\d+)\.(pre|post)$/.exec(space.hookPoint)!;
  const layers = Array.from({ length: Number(hookLayer) + (where === 'post' ? 1 : 0) }, (_, i) => i);
  const modules = ['o_proj', 'down_proj'];
  const quality: QualityDetector = options.qualityCache !== undefined
    ? loadOrBuildQualityDetector(options.qualityCache, model, tokenizer, space.hookPoint)
    : buildQualityDetector(model, tokenizer, space.hookPoint);
  const evaluateAt = [...new Set([...(options.evaluateAt ?? [0, 2, 4, 6, 8, 10, 15, 20, 30, 40, 50]).filter((n) => n <= interactions), 0, interactions])].sort((a, b) => a - b);
  const runs: ProofRunRecord[] = [];
  for (const seed of seeds) {
    for (const kind of kinds) {
      const adapters = AdapterSet.create(model, { seed, adapters: [{ kind, rank, target: { modules, layers } }] }, space);
      const user: HomeUser = { id: `proof-user-${seed}`, preferences: { [target.axis]: target.wanted }, statesPreferenceRate: 0.3 };
      const started = performance.now();
      const result = await simulateLearning({
        model, tokenizer, adapters, quality, user, target, interactions, evaluateAt, seed,
        heldOutPrompts: options.heldOutPrompts ?? 32, generalPassages: options.generalPassages ?? 24, learner: options.learner,
        onPoint: (p) => log(`${kind} seed ${seed} after ${p.interactions}: judge ${p.judge.meanScore.toFixed(3)} (rate ${p.judge.rate.toFixed(2)}), teacher gap ${p.teacherGap.toFixed(4)}, general-text loss ${p.generalLoss.toFixed(4)}`),
      });
      log(`${kind} seed ${seed}: ${((performance.now() - started) / 1000).toFixed(0)} s, steps trained ${result.steps.trained}, gated ${result.steps.skippedByGate}, reactions ${JSON.stringify(result.reactions)}`);
      runs.push({ kind, seed, points: result.points, reactions: result.reactions, steps: result.steps, stepMsMedian: medianOf(result.stepMs) });
    }
  }

  const summary: ProofRunResult['summary'] = {};
  for (const kind of kinds) {
    const mine = runs.filter((r) => r.kind === kind);
    const first = mine.map((r) => r.points[0]);
    const last = mine.map((r) => r.points[r.points.length - 1]);
    const gains = mine.map((_, i) => last[i].judge.meanScore - first[i].judge.meanScore);
    const differences = mine.flatMap((_, i) => last[i].judge.scores.map((s, j) => s - first[i].judge.scores[j]));
    const se = sd(differences) / Math.sqrt(differences.length);
    const lossShifts = mine.map((_, i) => last[i].generalLoss - first[i].generalLoss);
    summary[kind] = {
      kind, gapBefore: mean(first.map((p) => p.teacherGap)), gapAfter: mean(last.map((p) => p.teacherGap)), judgeBefore: mean(first.map((p) => p.judge.meanScore)), judgeAfter: mean(last.map((p) => p.judge.meanScore)),
      gains, gainMean: mean(gains), gainSd: sd(gains), cohenDz: mean(gains) / sd(gains),
      pooled: { n: differences.length, meanDifference: mean(differences), standardError: se, z: mean(differences) / se },
      rateBefore: mean(first.map((p) => p.judge.rate)), rateAfter: mean(last.map((p) => p.judge.rate)),
      lossShifts, lossShiftMean: mean(lossShifts),
    };
  }
  const matched: MatchedComparison[] = [];
  if (kinds.includes('write') && kinds.includes('lora')) {
    for (const seed of seeds) {
      const fc = runs.find((r) => r.kind === 'write' && r.seed === seed)!;
      const lora = runs.find((r) => r.kind === 'lora' && r.seed === seed)!;
      for (const [level, progressOf] of [['teacher gap', gapReduction], ['judge gain', judgeGain]] as const) {
        const pf = progressOf(fc.points);
        const pl = progressOf(lora.points);
        const value = Math.min(pf[pf.length - 1], pl[pl.length - 1]);
        if (!(value > 0)) continue;
        matched.push({ seed, level, value, lossShift: { write: lossShiftAtLevel(fc.points, pf, value), lora: lossShiftAtLevel(lora.points, pl, value) } });
      }
    }
  }
  return {
    config: { model: model.spec.modelType, bundle: space.name, hookPoint: space.hookPoint, directions: space.basis.rank, target, seeds, interactions, rank, layers, modules, learner: options.learner ?? {} },
    runs, summary, matched,
  };
}

/** A short plain-text report of a proof run. */
export function describeProofRun(result: ProofRunResult): string {
  const lines: string[] = [];
  const c = result.config;
  lines.push(`proof run: ${c.target.axis}=${c.target.wanted}, ${c.interactions} interactions, seeds ${c.seeds.join(', ')}; bundle ${c.bundle} (${c.directions} directions at ${c.hookPoint}); rank ${c.rank} on ${c.modules.join('+')} layers ${c.layers.join(',')}`);
  for (const s of Object.values(result.summary)) {
    if (s === undefined) continue;
    lines.push(`${s.kind === 'write' ? 'FC-LoRA (write)' : 'plain LoRA'}: teacher gap ${s.gapBefore.toFixed(4)} → ${s.gapAfter.toFixed(4)}; judge ${s.judgeBefore.toFixed(3)} → ${s.judgeAfter.toFixed(3)} (rate ${s.rateBefore.toFixed(2)} → ${s.rateAfter.toFixed(2)}); gain per seed ${s.gains.map((g) => g.toFixed(3)).join(', ')}, mean ${s.gainMean.toFixed(3)} ± ${s.gainSd.toFixed(3)} (sd), d_z ${s.cohenDz.toFixed(2)}; pooled paired z ${s.pooled.z.toFixed(1)} over ${s.pooled.n} prompt pairs; general-text loss shift ${s.lossShifts.map((l) => (l >= 0 ? '+' : '') + l.toFixed(4)).join(', ')} (mean ${s.lossShiftMean >= 0 ? '+' : ''}${s.lossShiftMean.toFixed(4)} nats/token)`);
  }
  for (const m of result.matched) {
    lines.push(`seed ${m.seed}, at equal ${m.level} ${m.value.toFixed(3)}: general-text loss shift FC-LoRA ${m.lossShift.write.toFixed(4)}, plain LoRA ${m.lossShift.lora.toFixed(4)}`);
  }
  return lines.join('\n');
}
