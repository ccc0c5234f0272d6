import type { AdapterStore, AdapterVersionRecord } from '../adapt/index.js';
import type { CausalLm } from '../model/causalLm.js';
import { loadVersion } from './userAdapter.js';

// What the web UI charts about a user's adapter, read from its version store:
// - drift: per version, how large the adapter is along each bundle feature
//   (‖u_jᵀ ΔW‖ summed in quadrature over the adapted layers: normReport.ts).
//   The learner records these norms in every trained version's metrics; a
//   rollback is a copy, so it has the norms of the version it copies; any other
//   version without recorded norms (the untrained first one) is loaded and
//   measured. Each row says which of the three it is.
// - updates: one point per trained version (the learning curve): the gate's
//   weight and the loss terms of the experience the step trained on, as the
//   learner measured them at that step. These are training-time numbers on that
//   one experience, not a held-out evaluation.

export interface DriftRow {
  version: number;
  current: boolean;
  created: string | null;
  parent: number | null;
  rollback_of: number | null;
  /** What made the version: a reaction (up, down, correction, preference, none), "rollback", "reset" or "initial". */
  made_by: string;
  norm_total: number | null;
  by_feature: Record<string, number> | null;
  norms_from: 'recorded' | 'rollback source' | 'measured' | 'unreadable';
}

export interface UpdatePoint {
  version: number;
  job: number | null;
  reaction: string | null;
  gate_weight: number | null;
  loss: number | null;
  terms: Record<string, number>;
  background: number | null;
  replay: number | null;
  step_ms: number | null;
}

type Metrics = Record<string, unknown>;
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function recordedNorms(metrics: Metrics): { total: number | null; byFeature: Record<string, number> } | null {
  const norm = metrics.adapterNorm as { total?: unknown; byFeature?: unknown } | undefined;
  if (norm === undefined || norm === null || typeof norm.byFeature !== 'object' || norm.byFeature === null) return null;
  const byFeature: Record<string, number> = {};
  for (const [id, v] of Object.entries(norm.byFeature as Record<string, unknown>)) if (num(v) !== null) byFeature[id] = v as number;
  return { total: num(norm.total), byFeature };
}

function madeBy(record: AdapterVersionRecord): string {
  const m = record.metrics;
  if (m.initial === true) return 'initial';
  if (m.reason === 'reset' || m.reason === 'rollback') return m.reason;
  if (record.rollbackOf !== null) return 'rollback';
  return typeof m.reaction === 'string' ? m.reaction : 'update';
}

export function adapterDrift(store: AdapterStore, model: CausalLm): DriftRow[] {
  const listed = store.list();
  const records = new Map<number, AdapterVersionRecord>();
  for (const v of listed) if (v.record !== undefined) records.set(v.version, v.record);
  const measured = new Map<number, { total: number | null; byFeature: Record<string, number> } | null>();
  const normsOf = (version: number, depth = 0): { total: number | null; byFeature: Record<string, number>; from: DriftRow['norms_from'] } | null => {
    const record = records.get(version);
    if (record === undefined || depth > listed.length) return null;
    const recorded = recordedNorms(record.metrics);
    if (recorded !== null) return { ...recorded, from: depth === 0 ? 'recorded' : 'rollback source' };
    if (record.rollbackOf !== null && records.has(record.rollbackOf)) {
      const source = normsOf(record.rollbackOf, depth + 1);
      if (source !== null) return { ...source, from: 'rollback source' };
    }
    if (!measured.has(version)) {
      const report = loadVersion(store, version, model).featureNorms();
      measured.set(version, { total: Math.sqrt(report.adapters.reduce((s, a) => s + a.total * a.total, 0)), byFeature: report.byFeature });
    }
    const m = measured.get(version)!;
    return m === null ? null : { ...m, from: depth === 0 ? 'measured' : 'rollback source' };
  };
  return listed.map((v) => {
    if (v.record === undefined) {
      return { version: v.version, current: v.current, created: null, parent: null, rollback_of: null, made_by: 'unknown', norm_total: null, by_feature: null, norms_from: 'unreadable' };
    }
    const norms = normsOf(v.version);
    return {
      version: v.version, current: v.current, created: v.record.created, parent: v.record.parent, rollback_of: v.record.rollbackOf, made_by: madeBy(v.record),
      norm_total: norms?.total ?? null, by_feature: norms?.byFeature ?? null, norms_from: norms?.from ?? 'unreadable',
    };
  });
}

/** One point per version a learner step made (its metrics name the queue job), oldest first. */
export function updatePoints(store: AdapterStore): UpdatePoint[] {
  const points: UpdatePoint[] = [];
  for (const v of store.list()) {
    const m = v.record?.metrics;
    if (m === undefined || v.record!.rollbackOf !== null || num(m.queueJob) === null) continue;
    const terms: Record<string, number> = {};
    if (typeof m.terms === 'object' && m.terms !== null) for (const [k, t] of Object.entries(m.terms as Record<string, unknown>)) if (num(t) !== null) terms[k] = t as number;
    points.push({
      version: v.version, job: num(m.queueJob), reaction: typeof m.reaction === 'string' ? m.reaction : null, gate_weight: num(m.gateWeight), loss: num(m.loss),
      terms, background: num(m.background), replay: num(m.replay), step_ms: num(m.stepMs),
    });
  }
  return points;
}
