import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { threadId } from 'node:worker_threads';
import { AdapterStoreLockError } from './errors.js';

// One writer at a time per store directory, across processes: the lock is the
// file LOCK, created atomically with link(2) from a temporary file that already
// holds the owner (pid, host, time, a random token). link fails with EEXIST when
// the lock exists, on local and network file systems alike, and the lock is
// never seen empty or half-written. (Where the file system has no hard links,
// the lock is created with O_EXCL instead.)
//
// A lock whose owner died (a crash) would block the store forever, so a waiter
// removes it when the owner is on this host and its pid no longer runs. It re-reads
// the lock just before removing it and removes it only if the token is unchanged;
// the window between that read and the unlink is microseconds. Locks of other
// hosts are never broken: the waiter times out with an error that names the owner.
//
// A worker thread shares its process's pid, so a thread ended mid-commit (a
// Worker.terminate, an uncaught error) leaves a lock whose pid still runs and
// that no waiter would ever break. The owner therefore records its thread id
// too, and whoever ended the thread (imprint serve's learner host) removes that
// thread's locks with removeLockOfEndedThread before anything waits on them.

export const LOCK_FILE = 'LOCK';
const NO_HARD_LINKS = ['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'];

export interface LockOwner {
  pid: number;
  /** worker_threads.threadId of the writer (0 for the main thread); absent in locks written before it was recorded. */
  thread?: number;
  host: string;
  since: string;
  token: string;
}

export interface LockOptions {
  /** How long to wait for another writer, ms (default 10000). */
  timeoutMs?: number;
  /** How often to look again, ms (default 20). */
  pollMs?: number;
}

export class StoreLock {
  private released = false;

  private constructor(readonly path: string, readonly owner: LockOwner) {}

  /** Waits for the lock up to timeoutMs; throws AdapterStoreLockError naming the owner. */
  static acquire(path: string, options: LockOptions = {}): StoreLock {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const pollMs = options.pollMs ?? 20;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lock = StoreLock.tryAcquire(path);
      if (lock !== null) return lock;
      if (Date.now() >= deadline) {
        const owner = readOwner(path);
        const who = owner === null ? 'another writer' : `pid ${owner.pid}${owner.thread ? ` (worker thread ${owner.thread})` : ''} on ${owner.host} since ${owner.since}`;
        throw new AdapterStoreLockError(path, `the store is locked by ${who}; waited ${timeoutMs} ms. If that process is gone and was on another host, remove ${path}`);
      }
      sleep(pollMs);
    }
  }

  /** Takes the lock if it is free (or held by a dead process on this host), else returns null. */
  static tryAcquire(path: string): StoreLock | null {
    // A second try only after a stale lock was removed.
    return StoreLock.tryOnce(path) ?? (StoreLock.removeIfStale(path) ? StoreLock.tryOnce(path) : null);
  }

  private static tryOnce(path: string): StoreLock | null {
    const owner: LockOwner = { pid: process.pid, thread: threadId, host: hostname(), since: new Date().toISOString(), token: randomBytes(12).toString('hex') };
    const temporary = `${path}.tmp-${process.pid}-${owner.token}`;
    writeFileSync(temporary, `${JSON.stringify(owner)}\n`, { flag: 'wx' });
    try {
      linkSync(temporary, path);
      return new StoreLock(path, owner);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      if (NO_HARD_LINKS.includes(code)) return StoreLock.tryExclusiveCreate(path, owner);
      if (code !== 'EEXIST') throw error;
    } finally {
      unlinkQuietly(temporary);
    }
    return null;
  }

  // For file systems without hard links: O_EXCL create, then write. A crash between
  // the two leaves an unreadable lock, which isStale treats as abandoned after a minute.
  private static tryExclusiveCreate(path: string, owner: LockOwner): StoreLock | null {
    try {
      writeFileSync(path, `${JSON.stringify(owner)}\n`, { flag: 'wx' });
      return new StoreLock(path, owner);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return null;
      throw error;
    }
  }

  private static removeIfStale(path: string): boolean {
    const current = readOwner(path);
    if (current === null || !isStale(path, current)) return false;
    return unlinkIfStillOwned(path, current);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    if (readOwner(this.path)?.token === this.owner.token) unlinkQuietly(this.path);
  }
}

/**
 * Removes the lock at path if a thread of this process, now ended, holds it:
 * the caller vouches that thread `endedThread` no longer runs (thread ids are
 * never reused within a process). Returns whether a lock was removed.
 */
export function removeLockOfEndedThread(path: string, endedThread: number): boolean {
  if (endedThread === threadId) throw new RangeError(`removeLockOfEndedThread: thread ${endedThread} is the calling thread, which is running`);
  const owner = readOwner(path);
  if (owner === null || owner.pid !== process.pid || owner.host !== hostname() || owner.thread !== endedThread) return false;
  return unlinkIfStillOwned(path, owner);
}

/** Removes the lock only if it is still `owner`'s (re-read just before: another writer may have taken it since). */
function unlinkIfStillOwned(path: string, owner: LockOwner): boolean {
  if (readOwner(path)?.token !== owner.token) return false;
  unlinkQuietly(path);
  return true;
}

/** The owner recorded in a lock file; null when there is none (or it cannot be read). */
export function readOwner(path: string): LockOwner | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  try {
    const owner = JSON.parse(text) as LockOwner;
    if (Number.isSafeInteger(owner.pid) && typeof owner.host === 'string' && typeof owner.token === 'string') return owner;
  } catch { /* a foreign or damaged file: see isStale */ }
  return { pid: -1, host: '', since: '', token: `unreadable:${text}` };
}

function isStale(path: string, owner: LockOwner): boolean {
  if (owner.pid === -1) {
    // Not written by us (we never write a partial lock): stale only once clearly abandoned.
    try { return Date.now() - statSync(path).mtimeMs > 60_000; } catch { return false; }
  }
  return owner.host === hostname() && !processRuns(owner.pid);
}

export function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
function sleep(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

function unlinkQuietly(path: string): void {
  try { unlinkSync(path); } catch { /* already gone */ }
}
