import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

// The server's SQLite database: users and their keys, completions, feedback,
// each user's profile (stated preferences, the teacher's context) and the
// learning queue. One file in the data directory, opened by the HTTP thread and
// by the learner's worker thread, each with its own connection.
//
// WAL mode lets the worker write (claim and finish jobs) while the HTTP thread
// reads and writes, without either blocking the other for long, and makes every
// committed transaction survive a kill -9 (the WAL is appended before the commit
// returns). synchronous=FULL also fsyncs the WAL on every commit, so what the
// server acknowledged survives a power cut too; one fsync per write request is
// cheap next to generating a reply.

export type Db = Database.Database;

export const DB_FILE = 'imprint.sqlite';

/** Schema versions, applied in order; PRAGMA user_version records the last one applied. */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE users (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
  );
  CREATE TABLE api_keys (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    key_hash    TEXT NOT NULL UNIQUE,
    prefix      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
  );
  CREATE TABLE completions (
    id                TEXT PRIMARY KEY,
    user_id           INTEGER NOT NULL REFERENCES users(id),
    created_at        TEXT NOT NULL,
    model             TEXT NOT NULL,
    adapter_version   INTEGER,
    messages_json     TEXT NOT NULL,
    reply             TEXT NOT NULL,
    finish_reason     TEXT NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    -- 1 once an experience was queued for it (feedback, or reaction none when the next message came).
    experienced       INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX completions_by_user ON completions(user_id, created_at);
  CREATE TABLE feedback (
    id              TEXT PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id),
    completion_id   TEXT NOT NULL REFERENCES completions(id),
    created_at      TEXT NOT NULL,
    reaction        TEXT NOT NULL,
    text            TEXT,
    corrected_reply TEXT
  );
  CREATE INDEX feedback_by_completion ON feedback(completion_id);
  CREATE TABLE profile_notes (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    kind        TEXT NOT NULL CHECK (kind IN ('preference', 'note')),
    text        TEXT NOT NULL,
    created_at  TEXT NOT NULL
  );
  CREATE INDEX profile_by_user ON profile_notes(user_id, id);
  CREATE TABLE learn_jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         INTEGER NOT NULL REFERENCES users(id),
    completion_id   TEXT NOT NULL REFERENCES completions(id),
    feedback_id     TEXT REFERENCES feedback(id),
    experience_json TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    finished_at     TEXT,
    result_json     TEXT
  );
  CREATE INDEX learn_jobs_by_state ON learn_jobs(state, id);
  CREATE INDEX learn_jobs_by_user ON learn_jobs(user_id, id);
  `,
];

export function openDatabase(path: string): Db {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  // The worker and the HTTP thread write the same file; a writer waits for the other instead of failing.
  db.pragma('busy_timeout = 10000');
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  const applied = db.pragma('user_version', { simple: true }) as number;
  if (applied > MIGRATIONS.length) {
    throw new RangeError(`database ${db.name} has schema version ${applied}, newer than this build knows (${MIGRATIONS.length}); use a newer imprint`);
  }
  for (let v = applied; v < MIGRATIONS.length; v++) {
    // Each migration and its version number commit together: a crash leaves the old schema or the new one.
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}

export function nowIso(): string {
  return new Date().toISOString();
}
