import { createHash, randomBytes } from 'node:crypto';
import { type Db, nowIso } from './db.js';

// Users and their API keys. A key is "imp_" + 32 random bytes (base64url); the
// database keeps only its sha256 and its first characters (to tell keys apart in
// `imprint users list`).
//
// Why sha256 and not a slow password hash (bcrypt, scrypt, argon2): a slow hash
// exists to make guessing a low-entropy secret (a human's password) expensive
// once the hashes leak. These keys are 256 random bits: no dictionary exists, and
// even a trillion sha256 guesses a second would take ~10^57 years to find one, so
// slowing each guess down buys nothing, while it would cost every request. A
// plain hash also lets a key be looked up by its hash through the unique index,
// so no key is ever compared in a loop (no timing side channel on the key).

export const USER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const KEY_PREFIX = 'imp_';

export interface UserRow {
  id: number;
  name: string;
  created_at: string;
  revoked_at: string | null;
}

export interface AuthenticatedUser {
  userId: number;
  userName: string;
  keyId: number;
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function newKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** Creates a user and its first key; the key is returned once and never stored. */
export function addUser(db: Db, name: string): { user: UserRow; key: string } {
  if (!USER_NAME_PATTERN.test(name)) {
    throw new RangeError(`user name ${JSON.stringify(name.slice(0, 80))} is not valid: 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit`);
  }
  return db.transaction(() => {
    const existing = db.prepare('SELECT id, revoked_at FROM users WHERE name = ?').get(name) as { id: number; revoked_at: string | null } | undefined;
    if (existing !== undefined) {
      throw new RangeError(`user "${name}" already exists${existing.revoked_at === null ? '' : ' (revoked)'}; choose another name (a revoked user's adapter and history are kept)`);
    }
    const created = nowIso();
    const id = Number(db.prepare('INSERT INTO users (name, created_at) VALUES (?, ?)').run(name, created).lastInsertRowid);
    const key = newKey();
    db.prepare('INSERT INTO api_keys (user_id, key_hash, prefix, created_at) VALUES (?, ?, ?, ?)').run(id, hashKey(key), key.slice(0, 10), created);
    return { user: { id, name, created_at: created, revoked_at: null }, key };
  }).immediate();
}

/** Revokes a user and every key of theirs: from now on the keys authenticate nobody. Their data is kept. */
export function revokeUser(db: Db, name: string): { keys: number } {
  return db.transaction(() => {
    const user = db.prepare('SELECT id, revoked_at FROM users WHERE name = ?').get(name) as { id: number; revoked_at: string | null } | undefined;
    if (user === undefined) throw new RangeError(`no user named "${name.slice(0, 80)}" (imprint users list shows them)`);
    const at = nowIso();
    const keys = db.prepare('UPDATE api_keys SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL').run(at, user.id).changes;
    if (user.revoked_at === null) db.prepare('UPDATE users SET revoked_at = ? WHERE id = ?').run(at, user.id);
    return { keys };
  }).immediate();
}

export interface UserListing extends UserRow {
  keys: { prefix: string; created_at: string; revoked_at: string | null }[];
  completions: number;
  feedback: number;
  pendingJobs: number;
}

export function listUsers(db: Db): UserListing[] {
  const users = db.prepare('SELECT id, name, created_at, revoked_at FROM users ORDER BY id').all() as UserRow[];
  const keys = db.prepare('SELECT prefix, created_at, revoked_at FROM api_keys WHERE user_id = ? ORDER BY id');
  const count = (sql: string) => db.prepare(sql);
  const completions = count('SELECT count(*) AS n FROM completions WHERE user_id = ?');
  const feedback = count('SELECT count(*) AS n FROM feedback WHERE user_id = ?');
  const pending = count("SELECT count(*) AS n FROM learn_jobs WHERE user_id = ? AND state IN ('pending', 'running')");
  const n = (statement: ReturnType<Db['prepare']>, id: number) => (statement.get(id) as { n: number }).n;
  return users.map((u) => ({
    ...u, keys: keys.all(u.id) as UserListing['keys'], completions: n(completions, u.id), feedback: n(feedback, u.id), pendingJobs: n(pending, u.id),
  }));
}

/** The user a key belongs to, or null for an unknown, revoked or malformed key. */
export function authenticate(db: Db, key: string): AuthenticatedUser | null {
  if (!key.startsWith(KEY_PREFIX) || key.length > 100) return null;
  const row = db.prepare(
    `SELECT k.id AS keyId, u.id AS userId, u.name AS userName FROM api_keys k JOIN users u ON u.id = k.user_id
     WHERE k.key_hash = ? AND k.revoked_at IS NULL AND u.revoked_at IS NULL`,
  ).get(hashKey(key)) as AuthenticatedUser | undefined;
  return row ?? null;
}
