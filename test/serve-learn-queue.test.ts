import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openDatabase } from '../src/serve/db.js';
import { MAX_ATTEMPTS, claim, enqueue, requeue } from '../src/serve/learnQueue.js';
import { addUser } from '../src/serve/users.js';

// The learning queue's requeue after a refused commit: a conflict the job did
// not cause gives its claim back (it can be retried for as long as rollbacks
// race it), while a store that stays locked counts each try and fails the job
// after MAX_ATTEMPTS, so one locked store cannot hold the learner forever.

const scratch = mkdtempSync(join(tmpdir(), 'imprint-learn-queue-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function queueWithOneJob(name: string) {
  const db = openDatabase(join(scratch, `${name}.sqlite`));
  const userId = addUser(db, name).user.id;
  db.prepare("INSERT INTO completions (id, user_id, created_at, model, messages_json, reply, finish_reason, prompt_tokens, completion_tokens) VALUES ('c1', ?, '2026-01-01', 'm', '[]', 'hi', 'stop', 1, 1)").run(userId);
  const id = enqueue(db, { userId, completionId: 'c1', feedbackId: null, experience: { context: [], reply: 'hi', reaction: { kind: 'up' } } as never });
  const state = () => db.prepare('SELECT state, attempts, result_json FROM learn_jobs WHERE id = ?').get(id) as { state: string; attempts: number; result_json: string | null };
  return { db, id, state };
}

test('a conflict the job did not cause is requeued without using up an attempt, as often as it happens', () => {
  const { db, state } = queueWithOneJob('rollback');
  for (let i = 0; i < MAX_ATTEMPTS + 2; i++) {
    const job = claim(db)!;
    assert.equal(job.attempts, 1);
    assert.equal(requeue(db, job, 'the current version moved', false), 'requeued');
    assert.deepEqual({ ...state(), result_json: null }, { state: 'pending', attempts: 0, result_json: null });
  }
  db.close();
});

test('a store that stays locked uses up an attempt per try and fails the job after MAX_ATTEMPTS, naming the lock', () => {
  const { db, state } = queueWithOneJob('locked');
  for (let i = 1; i < MAX_ATTEMPTS; i++) {
    assert.equal(requeue(db, claim(db)!, 'LOCK: the store is locked by pid 1', true), 'requeued');
    assert.equal(state().state, 'pending');
    assert.equal(state().attempts, i);
  }
  assert.equal(requeue(db, claim(db)!, 'LOCK: the store is locked by pid 1', true), 'failed');
  assert.equal(state().state, 'failed');
  assert.match(JSON.parse(state().result_json!).error, /^LOCK: the store is locked by pid 1 \(tried 3 times; given up\)$/);
  assert.equal(claim(db), null, 'nothing is left to claim');
  db.close();
});
