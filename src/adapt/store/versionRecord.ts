import { ADAPTER_STATE_FORMAT, type AdapterStateConfig } from '../state.js';
import { AdapterStoreError } from './errors.js';
import { LEARNER_FILE } from './learnerFile.js';

// adapter.json: everything about one version except its tensors. Written once,
// never changed; the tensor file is named by its sha256 so that a damaged or
// swapped file is caught when the version is read.
//
// `learner` (the learner's state saved with the version, learnerFile.ts) came
// after formatVersion 1 and is optional, so formatVersion stays 1: every record
// written before it still parses (it has none), and a build from before it reads
// a record that has one as the adapter it is, only without the learner's state.

export const VERSION_RECORD_FORMAT = 'imprint.adapter-version';
export const VERSION_RECORD_FORMAT_VERSION = 1;
export const VERSION_RECORD_FILE = 'adapter.json';
export const TENSOR_FILE = 'adapter.safetensors';

export interface AdapterVersionRecord {
  format: typeof VERSION_RECORD_FORMAT;
  formatVersion: typeof VERSION_RECORD_FORMAT_VERSION;
  version: number;
  /** The version this one was made from (the current one when it was committed); null for the first. */
  parent: number | null;
  /** ISO 8601. */
  created: string;
  /** Set when this version is a rollback: a copy of that version. */
  rollbackOf: number | null;
  /** The metrics of the update that made it, as the caller passed them. */
  metrics: Record<string, unknown>;
  tensors: { file: typeof TENSOR_FILE; sha256: string; bytes: number };
  /** The learner's state for continuing to train this version, when the committer saved it. */
  learner?: { file: typeof LEARNER_FILE; sha256: string; bytes: number };
  /** The adapter set's state config; its `spec` is the AdapterSetConfig. */
  state: AdapterStateConfig;
}

/** Parses and checks adapter.json; every problem names the file and the field. */
export function parseVersionRecord(path: string, text: string, expectedVersion: number): AdapterVersionRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new AdapterStoreError(path, `is not valid JSON (${(error as Error).message}); expected a version record of format "${VERSION_RECORD_FORMAT}"`);
  }
  const fail = (field: string, expected: string, got: unknown): never => {
    throw new AdapterStoreError(path, `${field}: expected ${expected}, got ${JSON.stringify(got)}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('the file', 'a JSON object', raw);
  const r = raw as Record<string, unknown>;
  const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  const versionNumber = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 1;
  if (r.format !== VERSION_RECORD_FORMAT) fail('format', `"${VERSION_RECORD_FORMAT}"`, r.format);
  if (r.formatVersion !== VERSION_RECORD_FORMAT_VERSION) fail('formatVersion', `${VERSION_RECORD_FORMAT_VERSION} (the version this build reads)`, r.formatVersion);
  if (r.version !== expectedVersion) fail('version', `${expectedVersion}, the number of its directory`, r.version);
  if (r.parent !== null && !(versionNumber(r.parent) && (r.parent as number) < expectedVersion)) fail('parent', `null or a version number below ${expectedVersion}`, r.parent);
  if (typeof r.created !== 'string' || Number.isNaN(Date.parse(r.created))) fail('created', 'an ISO 8601 time', r.created);
  if (r.rollbackOf !== null && !(versionNumber(r.rollbackOf) && (r.rollbackOf as number) < expectedVersion)) fail('rollbackOf', `null or a version number below ${expectedVersion}`, r.rollbackOf);
  if (!isObject(r.metrics)) fail('metrics', 'an object', r.metrics);
  const t = r.tensors as Record<string, unknown>;
  if (!isObject(t)) fail('tensors', `{ file, sha256, bytes }`, t);
  if (t.file !== TENSOR_FILE) fail('tensors.file', `"${TENSOR_FILE}"`, t.file);
  if (typeof t.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(t.sha256)) fail('tensors.sha256', '64 lowercase hex digits', t.sha256);
  if (!Number.isSafeInteger(t.bytes) || (t.bytes as number) < 8) fail('tensors.bytes', 'the tensor file size in bytes', t.bytes);
  if (r.learner !== undefined) {
    const l = r.learner as Record<string, unknown>;
    if (!isObject(l)) fail('learner', `absent or { file, sha256, bytes }`, l);
    if (l.file !== LEARNER_FILE) fail('learner.file', `"${LEARNER_FILE}"`, l.file);
    if (typeof l.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(l.sha256)) fail('learner.sha256', '64 lowercase hex digits', l.sha256);
    if (!Number.isSafeInteger(l.bytes) || (l.bytes as number) < 8) fail('learner.bytes', 'the learner file size in bytes', l.bytes);
  }
  const s = r.state as Record<string, unknown>;
  if (!isObject(s)) fail('state', 'the adapter set state config (an object)', s);
  if (s.format !== ADAPTER_STATE_FORMAT) fail('state.format', `"${ADAPTER_STATE_FORMAT}"`, s.format);
  if (!isObject(s.spec)) fail('state.spec', 'the adapter set config (an object)', s.spec);
  if (!Array.isArray(s.linear)) fail('state.linear', 'a list', s.linear);
  if (!Array.isArray(s.residualSites)) fail('state.residualSites', 'a list', s.residualSites);
  return raw as AdapterVersionRecord;
}

export function versionDirName(version: number): string {
  return String(version).padStart(6, '0');
}

/** The version a directory name stands for, or null when it is not one (temp and trash dirs). */
export function parseVersionDirName(name: string): number | null {
  if (!/^\d{6,}$/.test(name)) return null;
  const n = Number(name);
  return Number.isSafeInteger(n) && n >= 1 ? n : null;
}
