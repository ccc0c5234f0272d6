import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type AdapterNormReport, type AdapterSpec, type AdapterStore, type AdapterVersionRecord, type VersionSummary, describeTargets,
} from '../adapt/index.js';
import { SafetensorsFile } from '../io/safetensors.js';
import { decodeLearnerState } from '../learn/index.js';
import { runAdapterExport, exportHelp } from './adapterExport.js';
import { openStoreArgument, parseVersionFlag, resolveVersion, setOnModel } from './adapterStoreArgument.js';
import { loadModelArgument } from './modelArgument.js';

// `imprint adapter list | show | rollback | export`: the versions of an adapter
// store (src/adapt/store) as the learner leaves them. list and show only read
// (show reads the tensor file and checks it against the recorded sha256);
// rollback makes a new version that copies an old one, as the store does; export
// (adapterExport.ts) writes a version as a PEFT directory or a GGUF LoRA file.

const listHelp = `usage: imprint adapter list DIR [--verify] [--json]

Lists the versions of the adapter store at DIR, oldest first: version, parent,
creation time, what it rolls back to, pinned, its adapter kinds and a short
summary of its metrics; * marks the current version. --verify also checks each
version's tensor file against its recorded sha256 (exit status 1 when one fails).`;

const showHelp = `usage: imprint adapter show DIR [--version N] [--model DIR [--bundle PATH|NAME]] [--json]

Shows one version (default: the current one): its config (adapter kinds,
targets, ranks, the bundle), metrics and tensors (names, shapes, sizes, sha256,
checked against the file). With --model, loads it on that model and adds the
adapter's norm along each feature (AdapterSet.featureNorms). --bundle is only
needed for a feature gain over SAE latents whose bundle is not in the model's
bundles/ (its SAE paths are relative to the bundle's folder).`;

const rollbackHelp = `usage: imprint adapter rollback DIR --to N [--reason TEXT] [--json]

Makes version N current again, as the store does: a new version that copies N
(its record says rollbackOf: N; nothing is deleted). N's tensor file is checked
first, so a corrupt version is never made current. --reason is stored in the new
version's metrics.`;

export async function runAdapter(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'list') return runList(rest);
  if (sub === 'show') return runShow(rest);
  if (sub === 'rollback') return runRollback(rest);
  if (sub === 'export') return runAdapterExport(rest);
  if (sub === undefined || sub === '--help' || sub === '-h') {
    console.log([listHelp, showHelp, rollbackHelp, exportHelp].join('\n\n'));
    return sub === undefined ? 2 : 0;
  }
  throw new RangeError(`imprint adapter: unknown subcommand '${sub}'; expected list, show, rollback or export`);
}

// ---- list ----

interface ListedVersion {
  version: number;
  current: boolean;
  pinned: boolean;
  parent: number | null;
  created: string | null;
  rollbackOf: number | null;
  kinds: string[];
  metrics: Record<string, unknown> | null;
  sha256: string | null;
  bytes: number | null;
  /** Why the version cannot be read (its record, or with --verify its tensors); absent when it can. */
  problem?: string;
}

function runList(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    options: {
      verify: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(listHelp);
    return 0;
  }
  const { store, dir } = openStoreArgument(positionals, 'list');
  const current = store.current();
  const versions = store.list().map((summary) => listed(store, summary, values.verify));
  const bad = versions.filter((v) => v.problem !== undefined).length;
  if (values.json) {
    console.log(JSON.stringify({ store: resolve(dir), current, versions }));
  } else {
    console.log(listText(dir, current, versions));
  }
  return values.verify && bad > 0 ? 1 : 0;
}

function listed(store: AdapterStore, summary: VersionSummary, verify: boolean): ListedVersion {
  const r = summary.record;
  const entry: ListedVersion = {
    version: summary.version, current: summary.current, pinned: summary.pinned,
    parent: r?.parent ?? null, created: r?.created ?? null, rollbackOf: r?.rollbackOf ?? null,
    kinds: r === undefined ? [] : kindsOf(r), metrics: r?.metrics ?? null,
    sha256: r?.tensors.sha256 ?? null, bytes: r?.tensors.bytes ?? null,
  };
  if (summary.problem !== undefined) {
    entry.problem = summary.problem;
  } else if (verify) {
    try {
      store.readState(summary.version);
    } catch (error) {
      entry.problem = (error as Error).message;
    }
  }
  return entry;
}

function listText(dir: string, current: number | null, versions: ListedVersion[]): string {
  if (versions.length === 0) return `adapter store ${dir}: no versions yet`;
  const head = `adapter store ${dir}: ${versions.length} version${versions.length === 1 ? '' : 's'}, current ${current ?? 'none'}${current === null ? '' : ' (marked *)'}`;
  const rows = [['', 'version', 'parent', 'created', 'rollback', 'pinned', 'kinds', 'metrics']];
  for (const v of versions) {
    const mark = v.current ? '*' : '';
    if (v.problem !== undefined && v.created === null) {
      rows.push([mark, String(v.version), '?', '?', '?', v.pinned ? 'pinned' : '-', '?', `UNREADABLE: ${v.problem}`]);
      continue;
    }
    rows.push([
      mark, String(v.version), v.parent === null ? '-' : String(v.parent), shortTime(v.created!), v.rollbackOf === null ? '-' : `of ${v.rollbackOf}`,
      v.pinned ? 'pinned' : '-', v.kinds.join(',') || '-', v.problem !== undefined ? `CORRUPT: ${v.problem}` : metricsSummary(v.metrics ?? {}),
    ]);
  }
  return [head, ...table(rows)].join('\n');
}

/** Columns padded to their widest cell; the last column is not padded. */
function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ').trimEnd());
}

function shortTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

function formatNumber(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(4)));
}

/** The first few scalar metrics as key=value (nested objects as dotted keys), e.g. "loss=0.75 gate.trust=0.5 +3 more". */
export function metricsSummary(metrics: Record<string, unknown>, max = 4): string {
  const pairs: string[] = [];
  const walk = (prefix: string, value: unknown, depth: number) => {
    if (typeof value === 'number') pairs.push(`${prefix}=${formatNumber(value)}`);
    else if (typeof value === 'boolean') pairs.push(`${prefix}=${value}`);
    else if (typeof value === 'string') pairs.push(`${prefix}=${value.length > 24 ? `${value.slice(0, 23)}…` : value}`);
    else if (Array.isArray(value)) pairs.push(`${prefix}=[${value.length}]`);
    else if (typeof value === 'object' && value !== null && depth < 2) for (const [k, v] of Object.entries(value)) walk(`${prefix}.${k}`, v, depth + 1);
  };
  for (const [key, value] of Object.entries(metrics)) walk(key, value, 0);
  if (pairs.length === 0) return '-';
  return pairs.length <= max ? pairs.join(' ') : `${pairs.slice(0, max).join(' ')} +${pairs.length - max} more`;
}

function kindsOf(record: AdapterVersionRecord): string[] {
  return [...new Set(record.state.spec.adapters.map((a) => a.kind))];
}

// ---- show ----

type LearnerSummary = { file: string; bytes: number; sha256: string; steps: number; adamStep: number; replayItems: number } | { file: string; problem: string };

/** What version n's saved learner state holds; null when it has none. A bad file is reported, not thrown: the adapter itself is fine. */
function learnerSummary(store: AdapterStore, record: AdapterVersionRecord): LearnerSummary | null {
  const { version, learner: entry } = record;
  if (entry === undefined) return null;
  const file = join(store.versionPath(version), entry.file);
  try {
    const saved = store.readLearnerState(version)!;
    const state = decodeLearnerState(saved.state, saved.path);
    return { file, bytes: entry.bytes, sha256: entry.sha256, steps: state.steps, adamStep: state.optimiser.stepCount, replayItems: state.replay.items.length };
  } catch (error) {
    return { file, problem: (error as Error).message };
  }
}

interface TensorEntryInfo { name: string; dtype: string; shape: number[]; bytes: number }

function runShow(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    options: {
      version: { type: 'string' },
      model: { type: 'string' },
      bundle: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(showHelp);
    return 0;
  }
  const asked = parseVersionFlag('version', values.version);
  if (values.bundle !== undefined && values.model === undefined) throw new RangeError('--bundle only matters with --model (it helps load a feature gain on the model); add --model DIR');
  const { store, dir } = openStoreArgument(positionals, 'show');
  const version = resolveVersion(store, dir, '--version', asked);
  // readState checks the tensor file against the recorded sha256: a corrupt version is an error here.
  const { record, state } = store.readState(version);
  const tensorPath = join(store.versionPath(version), record.tensors.file);
  const file = SafetensorsFile.open(tensorPath);
  let entries: TensorEntryInfo[];
  try {
    entries = [...file.entries.values()].map((e) => ({ name: e.name, dtype: e.dtype, shape: [...e.shape], bytes: e.byteLength }));
  } finally {
    file.close();
  }
  let featureNorms: AdapterNormReport | undefined;
  if (values.model !== undefined) {
    const loaded = loadModelArgument(values.model, 'adapter show');
    featureNorms = setOnModel(state, version, dir, loaded, values.model, { bundle: values.bundle }).featureNorms();
  }
  const c = record.state;
  const learner = learnerSummary(store, record);
  const shown = {
    store: resolve(dir),
    version,
    current: store.current() === version,
    pinned: store.pinned().includes(version),
    parent: record.parent,
    created: record.created,
    rollbackOf: record.rollbackOf,
    kinds: kindsOf(record),
    bundle: c.features === null ? null : { name: c.features.name, hookPoint: c.features.hookPoint, features: [...c.features.ids] },
    config: c.spec,
    model: c.model,
    adapters: c.linear.map((a) => ({
      name: a.name, kind: a.kind, role: a.role, module: a.module, rank: a.factors[0]?.shape[0] ?? 0, scaling: a.scaling, dropout: a.dropout,
      factors: a.factors.map((f) => ({ factor: f.factor, shape: [...f.shape], trainable: f.trainable })),
      projectGradients: a.projection === null ? null : a.projection.side,
    })),
    residualSites: c.residualSites.map((s) => ({ name: s.name, kind: s.kind, point: s.point, features: [...s.ids] })),
    metrics: record.metrics,
    tensors: { file: tensorPath, bytes: record.tensors.bytes, sha256: record.tensors.sha256, verified: true, entries },
    learner,
    ...(featureNorms === undefined ? {} : { featureNorms }),
  };
  if (values.json) {
    console.log(JSON.stringify(shown));
    return 0;
  }
  const lines: string[] = [];
  const flags = [shown.current ? 'current' : '', shown.pinned ? 'pinned' : ''].filter((s) => s !== '').join(', ');
  lines.push(`version ${version} of adapter store ${dir}${flags === '' ? '' : ` (${flags})`}`);
  lines.push(`  parent ${record.parent ?? '-'}, created ${shortTime(record.created)}${record.rollbackOf === null ? '' : `, a rollback to version ${record.rollbackOf}`}`);
  lines.push(`  made for a ${c.model.modelType} model with hidden size ${c.model.hiddenSize} and ${c.model.layers} layers`);
  lines.push(shown.bundle === null ? '  bundle: none' : `  bundle: ${shown.bundle.name} at ${shown.bundle.hookPoint}, ${shown.bundle.features.length} features (${shown.bundle.features.join(', ')})`);
  lines.push(`  config (seed ${c.spec.seed ?? 0}):`);
  for (const spec of c.spec.adapters) lines.push(`    ${describeSpec(spec, c.features?.hookPoint ?? null)}`);
  if (shown.adapters.length > 0) {
    lines.push('  linear adapters:');
    const rows = [['name', 'kind', 'rank', 'scaling', 'projected']];
    for (const a of shown.adapters) rows.push([a.name, a.role === 'residual' ? 'residual' : a.kind, String(a.rank), formatNumber(a.scaling), a.projectGradients ?? '-']);
    lines.push(...table(rows).map((l) => `    ${l}`));
  }
  for (const s of shown.residualSites) lines.push(`  ${s.kind === 'reft' ? 'representation edit' : 'feature gain'} ${s.name} at ${s.point} over ${s.features.length} features`);
  lines.push(`  metrics: ${Object.keys(record.metrics).length === 0 ? 'none' : JSON.stringify(record.metrics)}`);
  lines.push(`  tensors: ${tensorPath}, ${record.tensors.bytes} bytes, sha256 ${record.tensors.sha256} (checked)`);
  const rows = [['name', 'dtype', 'shape', 'bytes']];
  for (const e of entries) rows.push([e.name, e.dtype, `[${e.shape.join(', ')}]`, String(e.bytes)]);
  lines.push(...table(rows).map((l) => `    ${l}`));
  lines.push(learner === null
    ? '  learner state: none (a learner continuing from this version starts a fresh optimiser)'
    : 'problem' in learner
      ? `  learner state: ${learner.file} cannot be used: ${learner.problem}`
      : `  learner state: ${learner.file}, ${learner.bytes} bytes (checked): ${learner.steps} steps, AdamW step ${learner.adamStep}, ${learner.replayItems} replay item${learner.replayItems === 1 ? '' : 's'}`);
  if (featureNorms !== undefined) {
    lines.push(`  norm along each feature on --model ${values.model}:`);
    const byFeature = Object.entries(featureNorms.byFeature).sort((a, b) => b[1] - a[1]);
    if (byFeature.length === 0) lines.push('    (no bundle features: only total norms)');
    for (const [id, norm] of byFeature) lines.push(`    ${id.padEnd(Math.max(...byFeature.map(([k]) => k.length)))}  ${norm.toPrecision(4)}`);
    lines.push('  per adapter (total norm, fraction in the bundle subspace):');
    const adapterRows = featureNorms.adapters.map((a) => [a.name, a.kind, a.total.toPrecision(4), a.inSubspace === null ? '-' : a.inSubspace.toFixed(3)]);
    lines.push(...table([['name', 'kind', 'total', 'in subspace'], ...adapterRows]).map((l) => `    ${l}`));
  }
  console.log(lines.join('\n'));
  return 0;
}

function describeSpec(spec: AdapterSpec, hookPoint: string | null): string {
  const where = 'target' in spec && spec.target !== undefined ? describeTargets(spec.target) : `at the bundle's hook point${hookPoint === null ? '' : ` ${hookPoint}`}`;
  const extras = Object.entries(spec)
    .filter(([key]) => key !== 'kind' && key !== 'target' && key !== 'residual')
    .map(([key, value]) => `${key} ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`);
  const r = 'residual' in spec ? spec.residual : undefined;
  const residual = r === undefined ? [] : [`+ residual LoRA rank ${r.rank}${r.target === undefined ? '' : ` on ${describeTargets(r.target)}`}`];
  return [spec.kind, where, ...extras, ...residual].join('  ');
}

// ---- rollback ----

function runRollback(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    options: {
      to: { type: 'string' },
      reason: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(rollbackHelp);
    return 0;
  }
  const to = parseVersionFlag('to', values.to);
  if (to === undefined) throw new RangeError('imprint adapter rollback: --to N is required (the version to make current again; see imprint adapter list)');
  const { store, dir } = openStoreArgument(positionals, 'rollback');
  resolveVersion(store, dir, '--to', to);
  const before = store.current();
  const record = store.rollback(to, values.reason === undefined ? {} : { metrics: { reason: values.reason } });
  if (values.json) {
    console.log(JSON.stringify({ store: resolve(dir), version: record.version, rollbackOf: to, parent: record.parent, current: store.current(), sha256: record.tensors.sha256 }));
  } else {
    console.log(`rolled back ${dir} from version ${before ?? 'none'} to ${to}: new version ${record.version} (a copy of ${to}) is current`);
  }
  return 0;
}
