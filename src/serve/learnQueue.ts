import type { Experience } from '../learn/index.js';
import { type Db, nowIso } from './db.js';

// The durable learning queue: one row per experience to learn from, in the
// same database as the feedback that made it, written in the same transaction.
// So once a feedback request is answered, its job is on disk, and a kill -9 at
// any later moment cannot lose it.
//
// States: pending -> running -> done | failed. The worker claims the oldest
// pending job (running, attempts + 1) and finishes it. A job still "running"
// when the server starts was cut short by a crash: resume() puts it back to
// pending. A job that was claimed MAX_ATTEMPTS times without finishing is the
// likely cause of those crashes and is failed instead, so one poisoned job
// cannot crash the server forever. Whether an interrupted job's update was
// already committed to the adapter store is decided by the worker (the
// version's metrics name the job), so no update is applied twice.

export const MAX_ATTEMPTS = 3;

export type JobState = 'pending' | 'running' | 'done' | 'failed';

export interface LearnJob {
  id: number;
  userId: number;
  completionId: string;
  feedbackId: string | null;
  experience: Experience;
  attempts: number;
}

interface JobRow {
  id: number;
  user_id: number;
  completion_id: string;
  feedback_id: string | null;
  experience_json: string;
  attempts: number;
}

function fromRow(row: JobRow): LearnJob {
  return {
    id: row.id, userId: row.user_id, completionId: row.completion_id, feedbackId: row.feedback_id,
    experience: JSON.parse(row.experience_json) as Experience, attempts: row.attempts,
  };
}

/** Adds a job; call it inside the transaction that writes what the job is for. */
export function enqueue(db: Db, job: { userId: number; completionId: string; feedbackId: string | null; experience: Experience }): number {
  return Number(db.prepare(
    "INSERT INTO learn_jobs (user_id, completion_id, feedback_id, experience_json, state, created_at) VALUES (?, ?, ?, ?, 'pending', ?)",
  ).run(job.userId, job.completionId, job.feedbackId, JSON.stringify(job.experience), nowIso()).lastInsertRowid);
}

/** After a crash: jobs left running go back to pending, or fail after MAX_ATTEMPTS. Returns how many of each. */
export function resume(db: Db): { requeued: number; failed: number } {
  return db.transaction(() => {
    const failed = db.prepare(
      "UPDATE learn_jobs SET state = 'failed', finished_at = ?, result_json = ? WHERE state = 'running' AND attempts >= ?",
    ).run(nowIso(), JSON.stringify({ error: `interrupted ${MAX_ATTEMPTS} times (the server stopped while learning from it each time); given up` }), MAX_ATTEMPTS).changes;
    const requeued = db.prepare("UPDATE learn_jobs SET state = 'pending' WHERE state = 'running'").run().changes;
    return { requeued, failed };
  }).immediate();
}

/** The oldest pending job, now running; null when none is pending. */
export function claim(db: Db): LearnJob | null {
  const row = db.prepare(
    `UPDATE learn_jobs SET state = 'running', attempts = attempts + 1
     WHERE id = (SELECT id FROM learn_jobs WHERE state = 'pending' ORDER BY id LIMIT 1)
     RETURNING id, user_id, completion_id, feedback_id, experience_json, attempts`,
  ).get() as JobRow | undefined;
  return row === undefined ? null : fromRow(row);
}

/**
 * Puts a claimed job back to pending after its commit was refused. A refusal the
 * job did not cause (a rollback made another version current: `countAttempt`
 * false) gives the claim back; one that may recur (the store stayed locked past
 * the wait: `countAttempt` true) keeps it counted, so a store that stays locked
 * fails the job after MAX_ATTEMPTS tries instead of holding the learner forever.
 */
export function requeue(db: Db, job: LearnJob, reason: string, countAttempt: boolean): 'requeued' | 'failed' {
  if (countAttempt && job.attempts >= MAX_ATTEMPTS) {
    finish(db, job.id, 'failed', { error: `${reason} (tried ${job.attempts} times; given up)` });
    return 'failed';
  }
  db.prepare(`UPDATE learn_jobs SET state = 'pending', attempts = attempts - ? WHERE id = ?`).run(countAttempt ? 0 : 1, job.id);
  return 'requeued';
}

export function finish(db: Db, id: number, state: 'done' | 'failed', result: Record<string, unknown>): void {
  db.prepare('UPDATE learn_jobs SET state = ?, finished_at = ?, result_json = ? WHERE id = ?').run(state, nowIso(), JSON.stringify(result), id);
}

export function jobCounts(db: Db, userId: number): Record<JobState, number> {
  const counts: Record<JobState, number> = { pending: 0, running: 0, done: 0, failed: 0 };
  for (const row of db.prepare('SELECT state, count(*) AS n FROM learn_jobs WHERE user_id = ? GROUP BY state').all(userId) as { state: JobState; n: number }[]) {
    counts[row.state] = row.n;
  }
  return counts;
}

export interface JobSummary {
  id: number;
  completion_id: string;
  feedback_id: string | null;
  reaction: string;
  state: JobState;
  attempts: number;
  created_at: string;
  finished_at: string | null;
  result: Record<string, unknown> | null;
}

/** A user's newest jobs, newest first. */
export function recentJobs(db: Db, userId: number, limit: number): JobSummary[] {
  const rows = db.prepare(
    'SELECT id, completion_id, feedback_id, experience_json, state, attempts, created_at, finished_at, result_json FROM learn_jobs WHERE user_id = ? ORDER BY id DESC LIMIT ?',
  ).all(userId, limit) as (JobRow & { state: JobState; created_at: string; finished_at: string | null; result_json: string | null })[];
  return rows.map((r) => ({
    id: r.id, completion_id: r.completion_id, feedback_id: r.feedback_id, reaction: (JSON.parse(r.experience_json) as Experience).reaction.kind,
    state: r.state, attempts: r.attempts, created_at: r.created_at, finished_at: r.finished_at, result: r.result_json === null ? null : JSON.parse(r.result_json),
  }));
}
