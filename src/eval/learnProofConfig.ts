import { createHash } from 'node:crypto';
import type { FeatureSpace } from '../adapt/index.js';
import { type AxisTarget, type LearnerOptions, type ProofKind, type ProofSelection, formatLr } from '../learn/index.js';
import type { CausalLm } from '../model/causalLm.js';

// What a learn-proof output directory was made with, so that a rerun can tell
// whether its finished runs are reusable. Two parts:
//   - fixed: the model and bundle (by a hash of their numbers, so a copy or a
//     moved directory is the same one, and retrained weights are not), the
//     target, interactions, rank, and how runs are measured. Runs made under
//     different values are different experiments: mixing them would give a
//     summary of nothing;
//   - the grid of kinds, learning rates and seeds, which a rerun may extend
//     (more seeds, another learning rate) but not shrink: the directory's
//     results always cover every run it has ever been asked for.

export interface LearnProofGrid {
  kinds: ProofKind[];
  lrs: number[];
  seeds: number[];
}

export interface LearnProofIdentity {
  format: 'imprint.learn-proof';
  version: 1;
  /** `dir` is for people; `sha256` (of every parameter's name, shape and float32 values) is compared. */
  model: { dir: string; sha256: string };
  /** `path` is for people; `sha256` (of the hook point, feature ids and unit directions) and `name` are compared. */
  bundle: { name: string; path: string; hookPoint: string; sha256: string };
  target: AxisTarget;
  interactions: number;
  rank: number;
  evaluateAt: number[];
  heldOutPrompts: number;
  generalPassages: number;
  /** The learner's options other than the learning rate (the grid sweeps that). */
  learner: LearnerOptions;
  /** How the `selected` kind picks the user's features (compared only when both grids run that kind). */
  selection?: ProofSelection;
  grid: LearnProofGrid;
}

export function modelSha256(model: CausalLm): string {
  const hash = createHash('sha256');
  for (const p of model.parameters()) {
    hash.update(`${p.name ?? '?'}:${p.shape.join('x')}\n`);
    hash.update(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength));
  }
  return hash.digest('hex');
}

export function bundleSha256(space: FeatureSpace): string {
  const hash = createHash('sha256');
  hash.update(`${space.hookPoint}\n${space.ids.join('\n')}\n`);
  hash.update(new Uint8Array(space.directions.buffer, space.directions.byteOffset, space.directions.byteLength));
  return hash.digest('hex');
}

/** JSON with sorted keys, so that key order does not count as a difference. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const short = (sha: string) => `${sha.slice(0, 12)}…`;

/** What differs in the fixed part, one phrase each ("interactions: 50 there, 20 asked"); empty when the runs are reusable. */
export function fixedDifferences(stored: LearnProofIdentity, asked: LearnProofIdentity): string[] {
  const out: string[] = [];
  if (stored.model.sha256 !== asked.model.sha256) out.push(`model: weights ${short(stored.model.sha256)} (${stored.model.dir}) there, ${short(asked.model.sha256)} (${asked.model.dir}) asked`);
  if (stored.bundle.name !== asked.bundle.name || stored.bundle.sha256 !== asked.bundle.sha256) {
    out.push(`bundle: "${stored.bundle.name}" ${short(stored.bundle.sha256)} (${stored.bundle.path}) there, "${asked.bundle.name}" ${short(asked.bundle.sha256)} (${asked.bundle.path}) asked`);
  }
  const plain: (keyof LearnProofIdentity)[] = ['target', 'interactions', 'rank', 'evaluateAt', 'heldOutPrompts', 'generalPassages', 'learner'];
  for (const key of plain) {
    if (canonical(stored[key]) !== canonical(asked[key])) out.push(`${key}: ${describeValue(stored[key])} there, ${describeValue(asked[key])} asked`);
  }
  if (stored.grid.kinds.includes('selected') && asked.grid.kinds.includes('selected') && canonical(stored.selection) !== canonical(asked.selection)) {
    out.push(`selection: ${describeValue(stored.selection)} there, ${describeValue(asked.selection)} asked`);
  }
  return out;
}

function describeValue(value: unknown): string {
  if (typeof value === 'object' && value !== null && 'axis' in value && 'wanted' in value) return `${(value as AxisTarget).axis}=${(value as AxisTarget).wanted}`;
  if (Array.isArray(value)) return value.join(',');
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** The grid values the stored runs were asked for that the new request leaves out ("seeds: leaves out 3"). */
export function gridOmissions(stored: LearnProofGrid, asked: LearnProofGrid): string[] {
  const out: string[] = [];
  const missing = <T>(name: string, was: T[], now: T[], show: (v: T) => string) => {
    const left = was.filter((v) => !now.includes(v));
    if (left.length > 0) out.push(`${name}: ${was.map(show).join(',')} there, ${now.map(show).join(',')} asked (leaves out ${left.map(show).join(', ')})`);
  };
  missing('kinds', stored.kinds, asked.kinds, String);
  missing('lrs', stored.lrs, asked.lrs, formatLr);
  missing('seeds', stored.seeds, asked.seeds, String);
  return out;
}
