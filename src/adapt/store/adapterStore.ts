import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { syncDirectory, writeFileAtomic } from '../../io/atomicWrite.js';
import { SafetensorsFile, type TensorToWrite, encodeSafetensors } from '../../io/safetensors.js';
import type { CausalLm } from '../../model/causalLm.js';
import { AdapterSet } from '../adapterSet.js';
import { ADAPTER_STATE_FORMAT, type AdapterSetState, type AdapterStateConfig, type DecodeOptions } from '../state.js';
import { AdapterStoreError } from './errors.js';
import { LEARNER_FILE, type StoredLearnerState, decodeLearnerFile, encodeLearnerFile } from './learnerFile.js';
import { LOCK_FILE, type LockOptions, StoreLock, processRuns } from './lock.js';
import {
  type AdapterVersionRecord, TENSOR_FILE, VERSION_RECORD_FILE, VERSION_RECORD_FORMAT, VERSION_RECORD_FORMAT_VERSION,
  parseVersionDirName, parseVersionRecord, versionDirName,
} from './versionRecord.js';

// The versions of one adapter (one user's, one experiment's) in a directory:
//
//   DIR/HEAD                          the current version's number ("000007\n")
//   DIR/pins.json                     versions that retention never removes
//   DIR/LOCK                          held while a writer changes anything (lock.ts)
//   DIR/versions/000007/adapter.json  record: state config, parent, time, metrics, sha256
//   DIR/versions/000007/adapter.safetensors
//   DIR/versions/000007/learner.safetensors  optional: the learner's state (optimiser
//                                            moments, replay, generators), to continue
//                                            training this version exactly (learnerFile.ts)
//
// Every commit makes a new version; versions are never changed once published.
// A rollback to n also makes a new version, a copy of n that records
// rollbackOf: n, so HEAD only ever moves forward and the history reads as a
// list of what was current when; nothing is lost.
//
// A commit, all under the lock: write the tensors (and the learner's state,
// when given) and the record into versions/.tmp-PID-RANDOM (each file through
// writeFileAtomic, so fsynced),
// rename that directory to versions/NNNNNN (the version exists from here on,
// complete), fsync versions/, then replace HEAD atomically (it becomes current
// from here on). A crash before the rename leaves only a temp directory, which
// is never read and is removed by the next writer or open(); a crash between
// the rename and HEAD leaves a complete version that was never current (list()
// shows it, its number is not reused); a crash after HEAD only leaves the lock,
// which the next writer breaks because its pid is gone. So the current version
// is always a complete one.
//
// Version numbers are taken under the lock (max of the published numbers and
// HEAD, plus one), so two writers on one store, in one process or many, never
// take the same number; as a second guard, rename onto an existing version
// directory fails instead of replacing it.

export const HEAD_FILE = 'HEAD';
export const PINS_FILE = 'pins.json';
export const VERSIONS_DIR = 'versions';

/** The steps of a commit, in order, for onStep. */
export type CommitStep = 'locked' | 'write-tensors' | 'write-learner' | 'write-record' | 'publish' | 'head' | 'prune' | 'unlock';

export interface AdapterStoreOptions extends LockOptions {
  /**
   * Retention: after each commit keep only the newest `keep` versions, plus the
   * current one and pinned ones. Default: keep every version.
   */
  keep?: number;
  /**
   * Called before each step of a commit or rollback (for tests and tracing). An
   * exception thrown there aborts the commit like any I/O error: the temp
   * directory is removed and the lock released.
   */
  onStep?: (step: CommitStep, version: number) => void;
}

export interface CommitOptions {
  /** The metrics of the update that made this version: any JSON object. */
  metrics?: Record<string, unknown>;
  /** The version it was made from; default the current one. */
  parent?: number | null;
  /** Commit only if the current version is still this (null: the store is empty); else throw. */
  ifCurrent?: number | null;
  /**
   * The learner's state after the update that made this version, saved beside
   * it (learner.safetensors) so that training can continue from it exactly.
   */
  learner?: StoredLearnerState;
}

/** A version's saved learner state, as readLearnerState returns it. */
export interface StoredLearnerFile {
  version: number;
  /** The file it was read from, for messages. */
  path: string;
  state: StoredLearnerState;
}

export interface VersionSummary {
  version: number;
  current: boolean;
  pinned: boolean;
  /** The record, when it could be read. */
  record?: AdapterVersionRecord;
  /** Why it could not be read (the other versions are unaffected). */
  problem?: string;
}

export interface StoredState {
  record: AdapterVersionRecord;
  state: AdapterSetState;
}

export class AdapterStore {
  readonly versionsDir: string;
  private readonly lockPath: string;

  private constructor(readonly dir: string, private readonly options: AdapterStoreOptions) {
    this.versionsDir = join(dir, VERSIONS_DIR);
    this.lockPath = join(dir, LOCK_FILE);
  }

  /** Opens (creating if needed) the store in `dir`, and removes what crashed writers left behind when no writer is active. */
  static open(dir: string, options: AdapterStoreOptions = {}): AdapterStore {
    if (options.keep !== undefined && !(Number.isSafeInteger(options.keep) && options.keep >= 1)) {
      throw new RangeError(`adapter store: keep must be an integer >= 1 (how many versions to keep), got ${JSON.stringify(options.keep)}`);
    }
    const store = new AdapterStore(dir, options);
    mkdirSync(store.versionsDir, { recursive: true });
    let lock: StoreLock | null = null;
    try {
      lock = StoreLock.tryAcquire(store.lockPath);
    } catch (error) {
      // A store on a read-only file system can still be read; only writers need the lock.
      if (!['EACCES', 'EPERM', 'EROFS'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    }
    if (lock !== null) {
      try { store.removeLeftovers(); } finally { lock.release(); }
    }
    return store;
  }

  /** The current version, or null while the store is empty. */
  current(): number | null {
    const path = join(this.dir, HEAD_FILE);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const version = parseVersionDirName(text.trim());
    if (version === null) throw new AdapterStoreError(path, `expected a version number like 000007, got ${JSON.stringify(text.slice(0, 40))}`);
    return version;
  }

  /** Numbers of the published versions, ascending. */
  versions(): number[] {
    return readdirSync(this.versionsDir).map(parseVersionDirName).filter((n): n is number => n !== null).sort((a, b) => a - b);
  }

  pinned(): number[] {
    const path = join(this.dir, PINS_FILE);
    if (!existsSync(path)) return [];
    let pins: unknown;
    try {
      pins = (JSON.parse(readFileSync(path, 'utf8')) as { pinned?: unknown }).pinned;
    } catch (error) {
      throw new AdapterStoreError(path, `is not valid JSON (${(error as Error).message}); expected { "pinned": [version numbers] }`);
    }
    if (!Array.isArray(pins) || !pins.every((n) => Number.isSafeInteger(n) && n >= 1)) {
      throw new AdapterStoreError(path, `pinned: expected a list of version numbers, got ${JSON.stringify(pins)}`);
    }
    return pins as number[];
  }

  /**
   * Every version with its record, or the reason the record cannot be read; one
   * bad version never hides the others. Tensor files are checked against their
   * sha256 when a version is read (readState, load, rollback; learner files by
   * readLearnerState and rollback), not here.
   */
  list(): VersionSummary[] {
    const current = this.current();
    const pinned = new Set(this.pinned());
    return this.versions().map((version) => {
      const summary: VersionSummary = { version, current: version === current, pinned: pinned.has(version) };
      try {
        summary.record = this.show(version);
      } catch (error) {
        summary.problem = (error as Error).message;
      }
      return summary;
    });
  }

  /** The record of version n (default: the current one), checked. */
  show(version?: number): AdapterVersionRecord {
    const n = this.resolve(version);
    const path = join(this.versionPath(n), VERSION_RECORD_FILE);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new AdapterStoreError(path, `missing: version ${n} has no record`);
      throw error;
    }
    return parseVersionRecord(path, text, n);
  }

  /** Version n's state (default: the current one), after checking its tensor file against the recorded sha256. */
  readState(version?: number): StoredState {
    const n = this.resolve(version);
    const record = this.show(n);
    const path = join(this.versionPath(n), TENSOR_FILE);
    this.readVerifiedTensorBytes(n, record);
    const file = SafetensorsFile.open(path);
    try {
      const tensors = new Map<string, Float32Array>();
      for (const name of file.entries.keys()) tensors.set(name, file.readFloat32(name));
      return { record, state: { config: record.state, tensors } };
    } finally {
      file.close();
    }
  }

  /** Version n (default: the current one) as an adapter set on `model`. */
  load(model: CausalLm, version?: number, options: DecodeOptions = {}): AdapterSet {
    return AdapterSet.fromState(model, this.readState(version).state, options);
  }

  /** Makes a new version from a set (or its state) and makes it current. */
  commit(source: AdapterSet | AdapterSetState, options: CommitOptions = {}): AdapterVersionRecord {
    const state = source instanceof AdapterSet ? source.toState() : source;
    if (state?.config?.format !== ADAPTER_STATE_FORMAT || !(state.tensors instanceof Map)) {
      throw new RangeError(`adapter store ${this.dir}: commit takes an AdapterSet or its toState(); got a config of format ${JSON.stringify(state?.config?.format)}`);
    }
    const metrics = plainJsonObject(options.metrics ?? {}, `adapter store ${this.dir}: commit metrics`);
    const chunks = encodeSafetensors(tensorsToWrite(state), { format: ADAPTER_STATE_FORMAT });
    const learner = options.learner === undefined ? null : encodeLearnerFile(options.learner, `adapter store ${this.dir}: commit`);
    return this.withLock((step) => {
      const current = this.current();
      if (options.ifCurrent !== undefined && options.ifCurrent !== current) {
        throw new AdapterStoreError(this.dir, `the current version is ${current ?? 'none'}, not ${options.ifCurrent ?? 'none'} as the commit required (another writer committed first); nothing was written`);
      }
      const parent = options.parent === undefined ? current : options.parent;
      if (parent !== null && !this.versions().includes(parent)) throw new AdapterStoreError(this.dir, `parent version ${parent} does not exist`);
      const version = this.nextVersion(current);
      const record = this.makeRecord(version, parent, null, metrics, chunks, learner, state.config);
      return this.publishAndSwitch(step, record, chunks, learner);
    });
  }

  /**
   * Version n's saved learner state (default: the current one), after checking
   * the file against the recorded sha256; null when n was committed without one.
   * A corrupt learner file does not affect n's adapter, which readState still reads.
   */
  readLearnerState(version?: number): StoredLearnerFile | null {
    const n = this.resolve(version);
    const record = this.show(n);
    if (record.learner === undefined) return null;
    this.readVerifiedFile(n, record.learner, 'learner state');
    const path = join(this.versionPath(n), LEARNER_FILE);
    return { version: n, path, state: decodeLearnerFile(path) };
  }

  /**
   * Makes version n current again, as a new version that copies n (its record
   * says rollbackOf: n), with n's learner state when it has one (the optimiser
   * state that belongs to n's weights). Both files are checked first: a corrupt
   * version is never made current, nor copied.
   */
  rollback(version: number, options: { metrics?: Record<string, unknown> } = {}): AdapterVersionRecord {
    const metrics = plainJsonObject(options.metrics ?? {}, `adapter store ${this.dir}: rollback metrics`);
    return this.withLock((step) => {
      const source = this.show(version);
      const bytes = this.readVerifiedTensorBytes(version, source);
      const learner = source.learner === undefined ? null : [this.readVerifiedFile(version, source.learner, 'learner state')];
      const current = this.current();
      const record = this.makeRecord(this.nextVersion(current), current, version, metrics, [bytes], learner, source.state);
      return this.publishAndSwitch(step, record, [bytes], learner);
    });
  }

  pin(version: number): void {
    this.withLock(() => {
      if (!this.versions().includes(version)) throw new AdapterStoreError(this.versionPath(version), `version ${version} does not exist, so it cannot be pinned`);
      this.writePins([...new Set([...this.pinned(), version])].sort((a, b) => a - b));
    });
  }

  unpin(version: number): void {
    this.withLock(() => this.writePins(this.pinned().filter((n) => n !== version)));
  }

  /** Removes all but the newest `keep` versions, the current one and pinned ones; returns the removed numbers. */
  prune(keep: number): number[] {
    if (!(Number.isSafeInteger(keep) && keep >= 1)) throw new RangeError(`adapter store: prune keeps an integer >= 1 versions, got ${JSON.stringify(keep)}`);
    return this.withLock(() => this.removeOld(keep));
  }

  versionPath(version: number): string {
    return join(this.versionsDir, versionDirName(version));
  }

  // ---- internals ----

  private resolve(version: number | undefined): number {
    if (version === undefined) {
      const current = this.current();
      if (current === null) throw new AdapterStoreError(this.dir, 'the store has no versions yet');
      return current;
    }
    if (!Number.isSafeInteger(version) || version < 1) throw new RangeError(`adapter store: a version is an integer >= 1, got ${JSON.stringify(version)}`);
    if (!existsSync(this.versionPath(version))) {
      const have = this.versions();
      throw new AdapterStoreError(this.versionPath(version), `version ${version} does not exist (the store has ${have.length === 0 ? 'none' : `${have[0]}..${have[have.length - 1]}, ${have.length} in all`})`);
    }
    return version;
  }

  private readVerifiedTensorBytes(version: number, record: AdapterVersionRecord): Uint8Array {
    return this.readVerifiedFile(version, record.tensors, 'tensors');
  }

  /** A file the record names, checked against its recorded size and sha256. */
  private readVerifiedFile(version: number, entry: { file: string; sha256: string; bytes: number }, what: 'tensors' | 'learner state'): Uint8Array {
    const path = join(this.versionPath(version), entry.file);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new AdapterStoreError(path, `missing: version ${version}'s record names it (sha256 ${entry.sha256})`);
      throw error;
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== entry.sha256 || bytes.byteLength !== entry.bytes) {
      const consequence = what === 'tensors'
        ? `Version ${version} cannot be read; other versions are not affected (roll back to one of them).`
        : `Version ${version}'s learner state cannot be read; its adapter is not affected (continue from it with a fresh optimiser, or roll back to another version).`;
      throw new AdapterStoreError(path,
        `corrupt: ${bytes.byteLength} bytes with sha256 ${sha256}, but ${VERSION_RECORD_FILE} expects ${entry.bytes} bytes with sha256 ${entry.sha256}. ${consequence}`);
    }
    return bytes;
  }

  private nextVersion(current: number | null): number {
    return Math.max(0, current ?? 0, ...this.versions()) + 1;
  }

  private makeRecord(
    version: number, parent: number | null, rollbackOf: number | null, metrics: Record<string, unknown>,
    chunks: Uint8Array[], learner: Uint8Array[] | null, state: AdapterStateConfig,
  ): AdapterVersionRecord {
    return {
      format: VERSION_RECORD_FORMAT, formatVersion: VERSION_RECORD_FORMAT_VERSION,
      version, parent, created: new Date().toISOString(), rollbackOf, metrics,
      tensors: { file: TENSOR_FILE, ...digest(chunks) },
      // Absent rather than null when there is none, as in records written before learner states existed.
      ...(learner === null ? {} : { learner: { file: LEARNER_FILE, ...digest(learner) } }),
      state,
    };
  }

  private publishAndSwitch(step: (s: CommitStep, version: number) => void, record: AdapterVersionRecord, chunks: Uint8Array[], learner: Uint8Array[] | null): AdapterVersionRecord {
    const { version } = record;
    const temporary = join(this.versionsDir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    mkdirSync(temporary);
    try {
      step('write-tensors', version);
      writeFileAtomic(join(temporary, TENSOR_FILE), chunks);
      if (learner !== null) {
        step('write-learner', version);
        writeFileAtomic(join(temporary, LEARNER_FILE), learner);
      }
      step('write-record', version);
      writeFileAtomic(join(temporary, VERSION_RECORD_FILE), [new TextEncoder().encode(`${JSON.stringify(record, null, 2)}\n`)]);
      step('publish', version);
      const target = this.versionPath(version);
      if (existsSync(target)) throw new AdapterStoreError(target, `version ${version} already exists; a version is never replaced (was the lock removed by hand?)`);
      renameSync(temporary, target);
    } catch (error) {
      rmSync(temporary, { recursive: true, force: true });
      throw error;
    }
    syncDirectory(this.versionsDir);
    step('head', version);
    writeFileAtomic(join(this.dir, HEAD_FILE), [new TextEncoder().encode(`${versionDirName(version)}\n`)]);
    if (this.options.keep !== undefined) {
      step('prune', version);
      this.removeOld(this.options.keep);
    }
    return record;
  }

  private removeOld(keep: number): number[] {
    const current = this.current();
    const pinned = new Set(this.pinned());
    const all = this.versions();
    const kept = new Set(all.slice(-keep));
    const removed = all.filter((n) => !kept.has(n) && n !== current && !pinned.has(n));
    for (const n of removed) {
      // Renamed away first, so a half-deleted version never looks like a version.
      const trash = join(this.versionsDir, `.trash-${process.pid}-${randomBytes(6).toString('hex')}`);
      renameSync(this.versionPath(n), trash);
      rmSync(trash, { recursive: true, force: true });
    }
    return removed;
  }

  private writePins(pins: number[]): void {
    writeFileAtomic(join(this.dir, PINS_FILE), [new TextEncoder().encode(`${JSON.stringify({ pinned: pins })}\n`)]);
  }

  private withLock<T>(body: (step: (s: CommitStep, version: number) => void) => T): T {
    const lock = StoreLock.acquire(this.lockPath, this.options);
    let version = 0;
    const step = (s: CommitStep, v: number) => {
      version = v;
      this.options.onStep?.(s, v);
    };
    try {
      step('locked', 0);
      // Writers make temp files only while they hold the lock, so whatever is there now is a crash's leftover.
      this.removeLeftovers();
      const result = body(step);
      step('unlock', version);
      return result;
    } finally {
      lock.release();
    }
  }

  /** Call with the lock held. */
  private removeLeftovers(): void {
    for (const name of readdirSync(this.versionsDir)) {
      if (name.startsWith('.tmp-') || name.startsWith('.trash-')) rmSync(join(this.versionsDir, name), { recursive: true, force: true });
    }
    for (const name of readdirSync(this.dir)) {
      // HEAD and pins.json temp files (writeFileAtomic's) are written only under the lock; a lock's
      // own temp file is written before it is held, so only a dead process's is removed.
      const lockTemp = /^LOCK\.tmp-(\d+)-/.exec(name);
      const stale = lockTemp !== null ? !processRuns(Number(lockTemp[1])) : name.startsWith(`${HEAD_FILE}.tmp-`) || name.startsWith(`${PINS_FILE}.tmp-`);
      if (stale) rmSync(join(this.dir, name), { force: true });
    }
  }
}

function digest(chunks: readonly Uint8Array[]): { sha256: string; bytes: number } {
  const hash = createHash('sha256');
  let bytes = 0;
  for (const chunk of chunks) {
    hash.update(chunk);
    bytes += chunk.byteLength;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** The state's tensors with the shapes its config gives them (flat when it gives none). */
function tensorsToWrite(state: AdapterSetState): TensorToWrite[] {
  const shapes = new Map<string, number[]>();
  const c = state.config;
  if (c.features !== null) shapes.set('features.directions', [c.features.ids.length, c.features.width]);
  for (const a of c.linear) {
    for (const f of a.factors) shapes.set(f.name, f.shape);
    if (a.projection !== null) shapes.set(a.projection.name, a.projection.shape);
  }
  for (const s of c.residualSites) for (const t of s.tensors) shapes.set(t.name, t.shape);
  return [...state.tensors].map(([name, data]) => {
    if (!(data instanceof Float32Array)) throw new RangeError(`adapter store: tensor ${name} must be a Float32Array`);
    const shape = shapes.get(name);
    const fits = shape !== undefined && shape.reduce((a, b) => a * b, 1) === data.length;
    return { name, shape: fits ? shape : [data.length], data };
  });
}

function plainJsonObject(value: Record<string, unknown>, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RangeError(`${what} must be a JSON object, got ${JSON.stringify(value)}`);
  let copy: unknown;
  try {
    copy = JSON.parse(JSON.stringify(value));
  } catch (error) {
    throw new RangeError(`${what} must be JSON-serialisable: ${(error as Error).message}`);
  }
  return copy as Record<string, unknown>;
}


