import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_LIMITS, type RunningServer, startServer } from '../src/serve/server.js';
import { UI_SCRIPT } from '../src/serve/ui/app.js';
import { addUser } from '../src/serve/users.js';
import { TINY_BUNDLE, makeTinyServeModel } from './support/serveModel.js';

// The web UI's server side, in process on a tiny model: the page and its assets
// are public and carry no data, and the two JSON endpoints the UI draws from
// (GET /v1/adapter/features: per-version drift and the learning curve;
// GET /v1/chat/completions/:id/features: a reply's feature activations) have
// the documented shape, validate their input, and show a caller only their own
// adapter and completions.

let scratch: string;
let server: RunningServer;
let alice: string;
let bob: string;
const MODEL = 'model';

interface Answer { status: number; body: any; headers: Headers; text: string }
async function api(method: string, path: string, key: string | null, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${server.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await response.text();
  let parsed: unknown = null;
  try { parsed = JSON.parse(text); } catch { /* the page, a script */ }
  return { status: response.status, body: parsed, headers: response.headers, text };
}
const chat = async (key: string, content: string) => {
  const answer = await api('POST', '/v1/chat/completions', key, { model: MODEL, messages: [{ role: 'user', content }], max_tokens: 6, seed: 1 });
  assert.equal(answer.status, 200, answer.text);
  return answer.body;
};
async function waitForJobs(key: string, timeoutMs = 120_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const q = (await api('GET', '/v1/adapter', key)).body.queue;
    if (q.pending === 0 && q.running === 0) return;
    if (Date.now() > until) throw new Error(`jobs still queued after ${timeoutMs} ms: ${JSON.stringify(q)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'imprint-serve-ui-'));
  const modelDir = makeTinyServeModel(scratch);
  server = await startServer({
    dataDir: join(scratch, 'data'), modelDir, bundle: TINY_BUNDLE, host: '127.0.0.1', port: 0, rank: 2, seed: 0, learn: true, quality: false,
    learner: { seed: 0 }, rateLimit: { perMinute: 6000, burst: 1000 }, limits: { ...DEFAULT_LIMITS, maxTokensLimit: 32, defaultMaxTokens: 8 },
  });
  alice = addUser(server.db, 'alice').key;
  bob = addUser(server.db, 'bob').key;
});
after(async () => {
  await server?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('the web UI page and assets', () => {
  test('are served without a key, with a strict content security policy, and the script parses', async () => {
    const page = await api('GET', '/ui', null);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type')!, /^text\/html/);
    assert.match(page.text, /<script type="module" src="\/ui\/app.js"><\/script>/);
    assert.match(page.headers.get('content-security-policy')!, /script-src 'self'/);
    for (const [path, type] of [['/ui/app.js', /^text\/javascript/], ['/ui/style.css', /^text\/css/], ['/ui/favicon.svg', /^image\/svg\+xml/]] as const) {
      const asset = await api('GET', path, null);
      assert.equal(asset.status, 200, path);
      assert.match(asset.headers.get('content-type')!, type);
      assert.equal(asset.headers.get('x-content-type-options'), 'nosniff');
    }
    assert.doesNotThrow(() => new Script(UI_SCRIPT, { filename: 'app.js' }));
    // Data never enters the page as markup.
    assert.doesNotMatch(UI_SCRIPT, /innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });

  test('being public does not open the API: the new routes and unknown /ui paths still need a key', async () => {
    for (const path of ['/v1/adapter/features', '/v1/chat/completions/chatcmpl-x/features', '/ui/secret']) {
      const answer = await api('GET', path, null);
      assert.equal(answer.status, 401, path);
      assert.equal(answer.body.error.type, 'authentication_error');
    }
  });
});

describe('GET /v1/adapter/features', () => {
  test('lists the bundle features and, per version, the norms along them; each trained update is a learning-curve point', async () => {
    const fresh = (await api('GET', '/v1/adapter/features', alice)).body;
    assert.equal(fresh.object, 'adapter.features');
    assert.equal(fresh.user, 'alice');
    assert.equal(fresh.bundle, TINY_BUNDLE);
    assert.equal(fresh.hook_point, 'blocks.1.post');
    assert.deepEqual(fresh.features.map((f: any) => f.id), ['direct', 'casual', 'warm']);
    assert.equal(fresh.features[0].label, 'direct answers');
    assert.equal(fresh.versions.length, 1);
    const initial = fresh.versions[0];
    assert.equal(initial.made_by, 'initial');
    assert.equal(initial.norms_from, 'measured');
    assert.deepEqual(Object.keys(initial.by_feature).sort(), ['casual', 'direct', 'warm']);
    for (const v of Object.values(initial.by_feature)) assert.equal(v, 0, 'the untrained adapter writes nothing');
    assert.deepEqual(fresh.updates, []);

    const reply = await chat(alice, 'Remind me to water the ferns.');
    const fb = await api('POST', '/v1/feedback', alice, { completion_id: reply.id, reaction: 'correction', text: 'Be direct.', corrected_reply: 'Done: ferns, 6 pm.' });
    assert.equal(fb.status, 202, fb.text);
    await waitForJobs(alice);
    const after = (await api('GET', '/v1/adapter/features', alice)).body;
    assert.ok(after.versions.length >= 2, JSON.stringify(after.versions));
    const trained = after.versions[after.versions.length - 1];
    assert.equal(trained.current, true);
    assert.equal(trained.made_by, 'correction');
    assert.equal(trained.norms_from, 'recorded');
    assert.ok(Object.values(trained.by_feature as Record<string, number>).some((v) => v > 0), JSON.stringify(trained));
    assert.equal(after.updates.length, after.versions.length - 1);
    const point = after.updates[after.updates.length - 1];
    assert.equal(point.version, trained.version);
    assert.equal(point.reaction, 'correction');
    assert.equal(typeof point.loss, 'number');
    assert.ok(point.gate_weight > 0 && point.gate_weight <= 1);
    assert.equal(typeof point.terms, 'object');

    const back = await api('POST', '/v1/adapter/rollback', alice, { version: 1 });
    assert.equal(back.status, 200, back.text);
    const rolled = (await api('GET', '/v1/adapter/features', alice)).body;
    const copy = rolled.versions[rolled.versions.length - 1];
    assert.equal(copy.made_by, 'rollback');
    assert.equal(copy.rollback_of, 1);
    assert.equal(copy.norms_from, 'rollback source');
    assert.deepEqual(copy.by_feature, initial.by_feature);
    assert.equal(rolled.updates.length, after.updates.length, 'a rollback is not a learning-curve point');
  });

  test('shows each caller only their own adapter, and refuses unknown query parameters', async () => {
    const mine = (await api('GET', '/v1/adapter/features', bob)).body;
    assert.equal(mine.user, 'bob');
    assert.equal(mine.versions.length, 1, 'alice\'s updates are not in bob\'s history');
    assert.deepEqual(mine.updates, []);
    const extra = await api('GET', '/v1/adapter/features?user=alice', bob);
    assert.equal(extra.status, 400);
    assert.equal(extra.body.error.param, 'user');
  });
});

describe('GET /v1/chat/completions/:id/features', () => {
  test('gives each feature\'s activation on every reply token, with the adapter and without', async () => {
    const reply = await chat(alice, 'How late is the tearoom open?');
    const answer = await api('GET', `/v1/chat/completions/${reply.id}/features`, alice);
    assert.equal(answer.status, 200, answer.text);
    const a = answer.body;
    assert.equal(a.object, 'chat.completion.features');
    assert.equal(a.completion_id, reply.id);
    assert.equal(a.adapter_version, reply.imprint.adapter_version);
    assert.equal(a.reply_version, reply.imprint.adapter_version);
    assert.equal(a.hook_point, 'blocks.1.post');
    assert.ok(a.tokens.length > 0 && a.tokens.every((t: unknown) => typeof t === 'string'));
    assert.deepEqual(a.features.map((f: any) => f.id), ['direct', 'casual', 'warm']);
    for (const f of a.features) {
      assert.equal(f.activations.length, a.tokens.length);
      assert.equal(f.base_activations.length, a.tokens.length);
      assert.ok(f.activations.every(Number.isFinite));
      assert.ok(Math.abs(f.mean - f.activations.reduce((s: number, v: number) => s + v, 0) / f.activations.length) < 1e-9);
      // The reply came from alice's rolled-back, untrained adapter (the test above), which writes nothing.
      assert.deepEqual(f.activations, f.base_activations);
    }
  });

  test('an adapter version that moved the features gives different activations from the base', async () => {
    const reply = await chat(alice, 'Set a timer for ten minutes.');
    const fb = await api('POST', '/v1/feedback', alice, { completion_id: reply.id, reaction: 'correction', text: 'Shorter.', corrected_reply: 'Timer set.' });
    assert.equal(fb.status, 202);
    await waitForJobs(alice);
    const current = (await api('GET', '/v1/adapter', alice)).body.current_version;
    assert.ok(current > reply.imprint.adapter_version);
    const atReply = (await api('GET', `/v1/chat/completions/${reply.id}/features`, alice)).body;
    const now = (await api('GET', `/v1/chat/completions/${reply.id}/features?version=${current}`, alice)).body;
    assert.equal(now.adapter_version, current);
    assert.equal(now.reply_version, reply.imprint.adapter_version);
    assert.deepEqual(now.tokens, atReply.tokens);
    const moved = now.features.some((f: any) => f.activations.some((v: number, t: number) => Math.abs(v - f.base_activations[t]) > 1e-9));
    assert.ok(moved, 'the trained adapter changes the stream at the hook point');
    assert.notDeepEqual(now.features.map((f: any) => f.activations), atReply.features.map((f: any) => f.activations));
  });

  test('another user\'s completion, an unknown version and a bad query are refused, naming the input', async () => {
    const reply = await chat(alice, 'What is on my list today?');
    const theirs = await api('GET', `/v1/chat/completions/${reply.id}/features`, bob);
    assert.equal(theirs.status, 404);
    assert.equal(theirs.body.error.param, 'id');
    const missing = await api('GET', `/v1/chat/completions/${reply.id}/features?version=999`, alice);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.param, 'version');
    assert.match(missing.body.error.message, /no version 999/);
    // Bob's own versions do not reach alice's completion either.
    const bobVersion = (await api('GET', '/v1/adapter', bob)).body.current_version;
    assert.equal((await api('GET', `/v1/chat/completions/${reply.id}/features?version=${bobVersion}`, bob)).status, 404);
    const bad = await api('GET', `/v1/chat/completions/${reply.id}/features?version=latest`, alice);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.param, 'version');
  });
});
