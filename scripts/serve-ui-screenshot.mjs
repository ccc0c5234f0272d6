// Takes docs/serve-ui.png: a real session of the web UI on the shipped model
// (models/imprint-world-6m, bundle assistant-style), driven in headless
// Chromium: three turns, two corrections and a thumbs up, the worker learning
// from them. Replies are sampled, so each run's picture differs.
//
//   npx tsc -p tsconfig.json && node scripts/serve-ui-screenshot.mjs [OUT.png]
//
// Needs Debian's chromium at /usr/bin/chromium and playwright-core (a devDependency).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { DEFAULT_LIMITS, DEFAULT_RATE_LIMIT, startServer } from '../dist/src/serve/server.js';
import { addUser } from '../dist/src/serve/users.js';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const out = resolve(process.argv[2] ?? join(root, 'docs', 'serve-ui.png'));
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TURNS = ['How late is Hobnail Tearoom open?', 'Remind me to water the ferns at six.', 'Can you turn the hallway lights off?'];

const data = mkdtempSync(join(tmpdir(), 'imprint-ui-shot-'));
const server = await startServer({
  dataDir: data, modelDir: join(root, 'models', 'imprint-world-6m'), bundle: 'assistant-style', host: '127.0.0.1', port: 0, rank: 4, seed: 0,
  learn: true, quality: true, learner: { seed: 0 }, rateLimit: DEFAULT_RATE_LIMIT, limits: DEFAULT_LIMITS, log: (line) => console.log(line),
});
const { key } = addUser(server.db, 'maya');
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: FLAGS });
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('console', (m) => { if (m.type() === 'error') console.error(`browser: ${m.text()}`); });
  page.on('pageerror', (e) => console.error(`browser: ${e.message}`));
  await page.goto(`${server.url}/ui`);
  await page.fill('#key', key);
  await page.click('#use-key');
  await page.locator('#user').filter({ hasText: 'maya' }).waitFor();
  for (const [i, text] of TURNS.entries()) {
    await page.fill('#prompt', text);
    await page.click('#send');
    await page.locator('#messages li.assistant .meta').nth(i).waitFor({ timeout: 60_000 });
  }
  const first = page.locator('#messages li.assistant').nth(0);
  await first.locator('button.correct').click();
  await first.locator('input[name=text]').fill('Get to the point.');
  await first.locator('textarea[name=reply]').fill('It closes at 6 pm.');
  await first.locator('.correction button[type=submit]').click();
  await first.locator('.feedback-status').filter({ hasText: 'correction sent' }).waitFor();
  const third = page.locator('#messages li.assistant').nth(2);
  await third.locator('button.correct').click();
  await third.locator('input[name=text]').fill('Just say it is done.');
  await third.locator('textarea[name=reply]').fill('Done: the hallway lights are off.');
  await third.locator('.correction button[type=submit]').click();
  await page.locator('#messages li.assistant').nth(1).locator('button.thumbs-up').click();
  await page.waitForFunction(() => document.getElementById('version').textContent !== 'v1', null, { timeout: 120_000 });
  await page.waitForFunction(() => document.getElementById('queue').textContent.startsWith('queue idle'), null, { timeout: 180_000 });
  // The first reply's features, recomputed with the adapter that learned from its correction.
  await first.locator('button.show-features').click();
  await page.locator('#act-current').waitFor({ state: 'visible' });
  await page.click('#act-current');
  await page.waitForFunction(() => document.getElementById('act-chart').dataset.version !== '1');
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out} (adapter ${await page.textContent('#version')})`);
} finally {
  await browser.close();
  await server.close();
  rmSync(data, { recursive: true, force: true });
}
