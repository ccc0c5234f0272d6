import { type FeatureSpace, featureSubspace } from '../adapt/index.js';
import { captureResidualRows } from '../features/activations/captureRows.js';
import type { CausalLm } from '../model/causalLm.js';
import type { ChatEncoding } from './chatEncoding.js';
import { encodeExperience } from './encodeExperience.js';
import type { Experience } from './experience.js';

// Which of a bundle's features one user's interactions are about: the automated
// selection of DESIGN.md ("rank features by differential activation between two
// sets"), with the two sets the learner already has for every experience that
// carries context: the base model reading the reply WITH the user's context in
// its prompt (the distillation teacher) and WITHOUT it (the student).
//
// Distillation pulls the student's outputs toward the teacher's, so the
// directions the context moves at the bundle's hook point are the ones an update
// has to move. A bundle holds features for every axis (directness, formality,
// warmth, detail); a user who wants direct replies moves a few of them. Confining
// that user's adapter to those few leaves the others (and everything they would
// drag along) untouched, which is the point of the constraint: measured on the
// shipped model, the directness features alone learned as much as the whole
// bundle with about half the general-text loss shift.
//
// Per feature f with unit direction u_f, over the reply positions of every
// experience with context (the last prompt token, which predicts the reply's
// first token, and each reply token), pooled:
//   shift_f  = mean_t (h_teacher[t] − h_student[t]) · u_f
//   spread_f = sd_t  h_student[t] · u_f      (the feature's own range without context)
//   score_f  = |shift_f| / spread_f
// The teacher and the student read the same reply tokens, so the positions pair up.

export interface FeatureShift {
  id: string;
  /** Mean projection of (with context − without) on the feature's direction; its sign says which way the context moves it. */
  shift: number;
  /** Standard deviation of the feature's projection without context. */
  spread: number;
  /** |shift| / spread. */
  score: number;
}

export interface FeatureRanking {
  /** Highest score first. */
  features: FeatureShift[];
  /** Experiences that had context to compare with (the others say nothing about the user). */
  experiences: number;
  /** Paired reply positions pooled over them. */
  positions: number;
}

export interface FeatureSelectionConfig {
  /** Most features kept. */
  keep: number;
  /** A feature is kept only if its score is at least this share of the best score. */
  minShare: number;
}

/**
 * keep 4, minShare 0.5. The shipped assistant-style bundle has 1–4 features per
 * axis; a user with one stated axis moves that axis's features well ahead of the
 * rest, and a user with several gets the strongest of each up to `keep`.
 */
export const defaultFeatureSelection: FeatureSelectionConfig = { keep: 4, minShare: 0.5 };

export function checkFeatureSelectionConfig(config: FeatureSelectionConfig): void {
  if (!Number.isSafeInteger(config.keep) || config.keep < 1) throw new RangeError(`feature selection keep must be an integer >= 1, got ${config.keep}`);
  if (!(config.minShare >= 0 && config.minShare <= 1)) throw new RangeError(`feature selection minShare must be in [0, 1], got ${config.minShare}`);
}

/** Ranks the space's features by how far the experiences' contexts move them (see the top of this file). */
export function rankFeaturesByContextShift(model: CausalLm, encoding: ChatEncoding, space: FeatureSpace, experiences: readonly Experience[]): FeatureRanking {
  const { width, hookPoint } = space;
  const k = space.ids.length;
  const shiftSum = new Float64Array(k);
  const studentSum = new Float64Array(k);
  const studentSquares = new Float64Array(k);
  let positions = 0;
  let used = 0;
  for (const experience of experiences) {
    const encoded = encodeExperience(encoding, experience, model.spec.maxPositions, 64);
    if (encoded.teacher === null) continue;
    const room = model.spec.maxPositions - Math.max(encoded.teacher.length, encoded.student.length);
    const reply = encoded.reply.slice(0, room);
    if (reply.length === 0) continue;
    const rows = captureResidualRows(model, [[...encoded.student, ...reply], [...encoded.teacher, ...reply]], [hookPoint]).get(hookPoint)!;
    const n = reply.length + 1;
    const studentEnd = encoded.student.length + reply.length;
    const teacherEnd = studentEnd + encoded.teacher.length + reply.length;
    for (let t = 0; t < n; t++) {
      const s = (studentEnd - n + t) * width;
      const te = (teacherEnd - n + t) * width;
      for (let f = 0; f < k; f++) {
        const u = f * width;
        let ps = 0;
        let pt = 0;
        for (let i = 0; i < width; i++) {
          ps += rows[s + i] * space.directions[u + i];
          pt += rows[te + i] * space.directions[u + i];
        }
        shiftSum[f] += pt - ps;
        studentSum[f] += ps;
        studentSquares[f] += ps * ps;
      }
    }
    positions += n;
    used++;
  }
  const features = space.ids.map((id, f): FeatureShift => {
    if (positions < 2) return { id, shift: 0, spread: 0, score: 0 };
    const shift = shiftSum[f] / positions;
    const meanStudent = studentSum[f] / positions;
    const spread = Math.sqrt(Math.max(0, (studentSquares[f] - positions * meanStudent * meanStudent) / (positions - 1)));
    return { id, shift, spread, score: spread > 0 ? Math.abs(shift) / spread : 0 };
  });
  features.sort((a, b) => b.score - a.score);
  return { features, experiences: used, positions };
}

/** The features kept by `config` from a ranking: at least one, at most `keep`, each within `minShare` of the best. */
export function selectedFeatureIds(ranking: FeatureRanking, config: FeatureSelectionConfig = defaultFeatureSelection): string[] {
  checkFeatureSelectionConfig(config);
  if (ranking.experiences === 0) throw new RangeError('feature selection: none of the experiences has context (memory notes, profile, a correction or a stated preference), so nothing says which features this user moves; give experiences with context or use the whole bundle');
  const best = ranking.features[0]?.score ?? 0;
  if (!(best > 0)) throw new RangeError('feature selection: the context moved no feature of the bundle at all; use the whole bundle');
  return ranking.features.slice(0, config.keep).filter((f, i) => i === 0 || f.score >= config.minShare * best).map((f) => f.id);
}

/** The space confined to the features these experiences move, with the ranking behind the choice. */
export function selectUserFeatures(
  model: CausalLm, encoding: ChatEncoding, space: FeatureSpace, experiences: readonly Experience[], config: FeatureSelectionConfig = defaultFeatureSelection,
): { space: FeatureSpace; ranking: FeatureRanking; kept: string[] } {
  const ranking = rankFeaturesByContextShift(model, encoding, space, experiences);
  const kept = selectedFeatureIds(ranking, config);
  return { space: featureSubspace(space, kept), ranking, kept };
}
