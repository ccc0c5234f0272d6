import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DB_FILE, openDatabase } from '../serve/db.js';
import { addUser, listUsers, revokeUser } from '../serve/users.js';
import { defaultDataDir } from './serve.js';

// `imprint users add|list|revoke`: the server's users and API keys, in the data
// directory's database (the server may be running: SQLite's WAL lets both write).

const help = `usage: imprint users add NAME | list | revoke NAME [--data DIR] [--json]

  add NAME      creates a user and prints their API key (shown once; only its hash is stored)
  list          users, their key prefixes, and counts of completions, feedback and queued jobs
  revoke NAME   revokes the user and all their keys (their adapter and history are kept)

  --data DIR    the server's data directory (default: $IMPRINT_HOME/serve or ~/.imprint/serve)
  --json        machine-readable output`;

export function runUsers(args: string[]): number {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true, strict: true,
    options: { data: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help || positionals.length === 0) {
    console.log(help);
    return positionals.length === 0 && !values.help ? 2 : 0;
  }
  const [action, ...rest] = positionals;
  const expect = (n: number, usage: string) => {
    if (rest.length !== n) throw new RangeError(`imprint users ${action}: expected ${usage}, got ${rest.length} argument${rest.length === 1 ? '' : 's'}`);
  };
  const db = openDatabase(join(values.data ?? defaultDataDir(), DB_FILE));
  try {
    switch (action) {
      case 'add': {
        expect(1, 'one user NAME');
        const { user, key } = addUser(db, rest[0]);
        if (values.json) console.log(JSON.stringify({ user: user.name, id: user.id, key }));
        else console.log(`added user ${user.name}; API key (shown once, keep it secret):\n${key}`);
        return 0;
      }
      case 'list': {
        expect(0, 'no arguments');
        const users = listUsers(db);
        if (values.json) console.log(JSON.stringify(users));
        else if (users.length === 0) console.log('no users yet (imprint users add NAME)');
        else {
          for (const u of users) {
            const keys = u.keys.map((k) => `${k.prefix}...${k.revoked_at === null ? '' : ' (revoked)'}`).join(', ');
            console.log(`${u.name}${u.revoked_at === null ? '' : ' [revoked]'}  keys: ${keys}  completions: ${u.completions}  feedback: ${u.feedback}  queued: ${u.pendingJobs}`);
          }
        }
        return 0;
      }
      case 'revoke': {
        expect(1, 'one user NAME');
        const { keys } = revokeUser(db, rest[0]);
        if (values.json) console.log(JSON.stringify({ user: rest[0], revokedKeys: keys }));
        else console.log(`revoked user ${rest[0]} (${keys} key${keys === 1 ? '' : 's'}); their adapter and history are kept`);
        return 0;
      }
      default:
        throw new RangeError(`imprint users: unknown action '${action}'; expected add, list or revoke`);
    }
  } finally {
    db.close();
  }
}
