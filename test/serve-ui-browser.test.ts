import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_LIMITS, startServer } from '../src/serve/server.js';
import { addUser } from '../src/serve/users.js';
import { TINY_BUNDLE, makeTinyServeModel } from './support/serveModel.js';
import { CHROMIUM, CHROMIUM_FLAGS, browserOrSkip } from './support/chromium.js';

// The web UI end to end in a real browser (Debian's chromium through
// playwright-core), against an in-process server on a tiny model: enter a key,
// hold a conversation, give feedback, watch the adapter version advance as the
// worker learns and the drift chart's data change, roll back from the history,
// all without a console error. Skipped where chromium or playwright-core is
// absent, unless IMPRINT_REQUIRE_CHROMIUM=1 (CI), where that fails instead.

const { pw, skip } = await browserOrSkip();

test('the web UI: chat, feedback, the adapter learning, drift changing, rollback', { skip, timeout: 300_000 }, async () => {
  const scratch = mkdtempSync(join(tmpdir(), 'imprint-serve-ui-browser-'));
  const server = await startServer({
    dataDir: join(scratch, 'data'), modelDir: makeTinyServeModel(scratch), bundle: TINY_BUNDLE, host: '127.0.0.1', port: 0, rank: 2, seed: 0, learn: true, quality: false,
    learner: { seed: 0 }, rateLimit: { perMinute: 600, burst: 100 }, limits: { ...DEFAULT_LIMITS, maxTokensLimit: 32, defaultMaxTokens: 8 },
  });
  const { key } = addUser(server.db, 'maya');
  const browser = await pw!.chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}/ui`);
    await page.waitForLoadState('networkidle');
    assert.deepEqual(errors, [], 'the page and its assets (favicon included) load without a key');

    // A wrong key is refused with the server's message and nothing else happens.
    await page.fill('#key', 'imp_wrong');
    await page.click('#use-key');
    await page.locator('#error').filter({ hasText: 'not accepted' }).waitFor();
    assert.equal(await page.isHidden('#who'), true);
    // The browser logs the refused request itself; nothing else went wrong.
    assert.ok(errors.length > 0 && errors.every((e) => /status of 401/.test(e)), errors.join('\n'));
    errors.length = 0;

    await page.fill('#key', key);
    await page.click('#use-key');
    await page.locator('#user').filter({ hasText: 'maya' }).waitFor();
    assert.equal(await page.textContent('#version'), 'v1');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('imprint.apiKey')), key);
    const driftBefore = await page.getAttribute('#drift-chart', 'data-signature');

    // Two turns of a conversation: each reply streams in with its adapter version.
    for (const [i, text] of ['Remind me to water the ferns.', 'And the basil?'].entries()) {
      await page.fill('#prompt', text);
      await page.click('#send');
      await page.locator('#messages li.assistant .meta').nth(i).waitFor();
    }
    assert.equal(await page.locator('#messages li.user').count(), 2);
    assert.match((await page.locator('#messages li.assistant .meta').nth(1).textContent())!, /^adapter v1 · chatcmpl-/);
    // The activations panel shows the latest reply: one row of bars per feature.
    await page.locator('#act-chart rect.bar').first().waitFor();
    assert.equal(await page.locator('#act-chart text.label').count(), 3);
    assert.ok((await page.locator('#act-tokens span').count()) > 0);

    // Feedback: a thumbs up on the first reply, a correction on the second.
    await page.locator('#messages li.assistant').nth(0).locator('button.thumbs-up').click();
    await page.locator('#messages li.assistant').nth(0).locator('.feedback-status').filter({ hasText: 'thumbs up sent' }).waitFor();
    const second = page.locator('#messages li.assistant').nth(1);
    await second.locator('button.correct').click();
    await second.locator('input[name=text]').fill('Get to the point.');
    await second.locator('textarea[name=reply]').fill('Basil: water it tonight.');
    await second.locator('.correction button[type=submit]').click();
    await second.locator('.feedback-status').filter({ hasText: 'correction sent' }).waitFor();

    // The worker learns; the page polls and shows the new version, its drift and its curve point.
    await page.waitForFunction(() => document.getElementById('version')!.textContent !== 'v1', null, { timeout: 90_000 });
    await page.waitForFunction((before) => document.getElementById('drift-chart')!.dataset.signature !== before, driftBefore, { timeout: 90_000 });
    await page.waitForFunction(() => document.getElementById('queue')!.textContent!.startsWith('queue idle'), null, { timeout: 90_000 });
    const learned = Number((await page.textContent('#version'))!.slice(1));
    assert.ok(learned > 1);
    assert.ok(Number(await page.getAttribute('#drift-chart', 'data-versions')) >= 2);
    assert.ok((await page.locator('#drift-chart circle').count()) > 3);
    assert.ok(Number(await page.getAttribute('#curve-chart', 'data-updates')) >= 1);
    assert.ok((await page.locator('#curve-chart circle.loss').count()) >= 1);
    assert.equal(await page.locator('#history tbody tr').count(), learned);
    assert.equal(await page.getAttribute('#history tbody tr.current', 'data-version'), String(learned));

    // Roll back to the untrained version from the history: a new version, a copy of v1.
    await page.locator('#history button.rollback[data-version="1"]').click();
    await page.waitForFunction((v) => document.getElementById('version')!.textContent === `v${v + 1}`, learned, { timeout: 10_000 });
    await page.locator('#history tbody tr.current td').nth(1).filter({ hasText: 'rollback to v1' }).waitFor();
    const adapter = await (await fetch(`${server.url}/v1/adapter`, { headers: { authorization: `Bearer ${key}` } })).json() as { current_version: number };
    assert.equal(adapter.current_version, learned + 1);

    await page.screenshot({ path: join(scratch, 'ui.png') });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await server.close();
    rmSync(scratch, { recursive: true, force: true });
  }
});
