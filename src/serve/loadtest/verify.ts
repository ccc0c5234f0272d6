// After the load: was every acknowledged feedback kept, and was every queued
// learning job applied? A pure function of what the clients recorded and what
// the server reports afterwards (GET /v1/adapter and GET /v1/chat/completions/:id
// per user), so that it can be tested on hand-made cases.
//
// A job is "applied" when it is done: trained (a version whose metrics name the
// job, exactly one) or gated (the learner's gate declined to train; no version).
// A failed job must say why (it is counted, not lost). A job still pending or
// running after the drain is not applied. A feedback the server answered 202 is
// lost when its completion no longer lists it, or no job was queued for it.

export interface AcknowledgedFeedback {
  completionId: string;
  feedbackId: string;
  /** The job id in the 202 answer. */
  jobId: number;
}

export interface ServerJob {
  id: number;
  state: string;
  feedback_id: string | null;
  result: Record<string, unknown> | null;
}

export interface ServerCompletion {
  feedback: { id: string }[];
  jobs: ServerJob[];
}

export interface UserEvidence {
  user: string;
  acknowledged: AcknowledgedFeedback[];
  /** GET /v1/chat/completions/:id of each completion with acknowledged feedback; null: 404. */
  completions: Record<string, ServerCompletion | null>;
  /** GET /v1/adapter?jobs=ALL */
  adapter: {
    queue: Record<string, number>;
    jobs: ServerJob[];
    versions: { version: number; metrics?: Record<string, unknown> }[];
  };
}

export interface Verification {
  ok: boolean;
  feedback: { acknowledged: number; found: number; lost: number };
  jobs: { total: number; applied: number; trained: number; gated: number; failed: number; notApplied: number; failedReasons: Record<string, number> };
  /** Learner versions committed for queue jobs (one per trained job). */
  versions: number;
  /** Each thing lost or wrong, one line each (empty when ok). */
  problems: string[];
}

export function verify(users: readonly UserEvidence[]): Verification {
  const problems: string[] = [];
  const feedback = { acknowledged: 0, found: 0, lost: 0 };
  const jobs = { total: 0, applied: 0, trained: 0, gated: 0, failed: 0, notApplied: 0, failedReasons: {} as Record<string, number> };
  let versions = 0;
  for (const u of users) {
    for (const a of u.acknowledged) {
      feedback.acknowledged++;
      const c = u.completions[a.completionId];
      const lost = (why: string) => { feedback.lost++; problems.push(`user ${u.user}: feedback ${a.feedbackId} (completion ${a.completionId}) was acknowledged but ${why}`); };
      if (c === undefined || c === null) { lost('its completion is not found'); continue; }
      if (!c.feedback.some((f) => f.id === a.feedbackId)) { lost('is not in its completion\'s feedback'); continue; }
      const job = c.jobs.find((j) => j.feedback_id === a.feedbackId);
      if (job === undefined) { lost('no learning job is queued for it'); continue; }
      if (job.id !== a.jobId) { lost(`its job is ${job.id}, not ${a.jobId} as acknowledged`); continue; }
      feedback.found++;
    }

    const counted = Object.values(u.adapter.queue).reduce((s, n) => s + n, 0);
    if (counted !== u.adapter.jobs.length) problems.push(`user ${u.user}: the queue counts ${counted} jobs but ${u.adapter.jobs.length} were listed`);
    const byJob = new Map<number, number[]>();
    for (const v of u.adapter.versions) {
      const q = v.metrics?.queueJob;
      if (typeof q === 'number') byJob.set(q, [...(byJob.get(q) ?? []), v.version]);
    }
    versions += [...byJob.values()].reduce((s, vs) => s + vs.length, 0);
    const listed = new Set<number>();
    for (const j of u.adapter.jobs) {
      jobs.total++;
      listed.add(j.id);
      const made = byJob.get(j.id) ?? [];
      if (j.state === 'done') {
        if (j.result?.trained === true) {
          if (made.length !== 1) { jobs.notApplied++; problems.push(`user ${u.user}: job ${j.id} trained but ${made.length} versions name it (expected exactly 1: ${made.join(', ') || 'none'})`); continue; }
          if (typeof j.result.version === 'number' && j.result.version !== made[0]) { jobs.notApplied++; problems.push(`user ${u.user}: job ${j.id} says version ${j.result.version} but version ${made[0]} names it`); continue; }
          jobs.trained++;
        } else {
          if (made.length !== 0) { jobs.notApplied++; problems.push(`user ${u.user}: job ${j.id} was gated (not trained) but versions ${made.join(', ')} name it`); continue; }
          jobs.gated++;
        }
        jobs.applied++;
      } else if (j.state === 'failed') {
        const reason = typeof j.result?.error === 'string' ? j.result.error : null;
        if (reason === null) { jobs.notApplied++; problems.push(`user ${u.user}: job ${j.id} failed without a reason`); continue; }
        jobs.failed++;
        const key = reason.slice(0, 120);
        jobs.failedReasons[key] = (jobs.failedReasons[key] ?? 0) + 1;
      } else {
        jobs.notApplied++;
        problems.push(`user ${u.user}: job ${j.id} is still ${j.state} (not applied)`);
      }
    }
    for (const [job, vs] of byJob) {
      if (!listed.has(job)) problems.push(`user ${u.user}: versions ${vs.join(', ')} name job ${job}, which is not in the user's queue`);
    }
  }
  return { ok: problems.length === 0, feedback, jobs, versions, problems };
}
