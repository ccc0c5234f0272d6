import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { writeBenchReport } from '../src/eval/bench/report.js';
import type { CellResult } from '../src/eval/bench/runCell.js';
import { QUICK_SUITE } from '../src/eval/bench/suites.js';
import { summarise } from '../src/eval/bench/summary.js';
import { CHROMIUM, CHROMIUM_FLAGS, browserOrSkip } from './support/chromium.js';

// The benchmark's HTML report in a real browser (Debian's chromium through
// playwright-core): it renders, without console errors, and each of its charts
// has data marks on screen. Skipped where chromium or playwright-core is absent
// (CI installs both).

function cell(method: string, scenario: string, seed: number, scores: number[], loss: number, transfer?: (number | null)[][]): CellResult {
  return {
    method, scenario, seed, status: 'ok',
    agents: [{ id: 'a', wants: {}, curve: scores.map((score, i) => ({ interactions: i * 2, score, ...(method === 'memory' ? { scoreWithMemory: score + 0.2 } : {}) })), garbageInteractions: 0 }],
    ...(transfer === undefined ? {} : { transfer }),
    generalLoss: { base: 3, after: 3 + loss }, factQa: { base: 0.5, after: 0.5 },
    cost: { updateMsMedian: method === 'none' ? null : 100 + seed, flopsPerUpdate: 1e9, updates: 2, interactions: 4, bytesPerUser: method === 'none' ? 0 : 4096 * seed, extraPromptTokens: method === 'memory' ? 30 : 0, slowdown: 1 },
    wallMs: 1,
  };
}

const { pw, skip } = await browserOrSkip();

test('the HTML report renders in headless Chromium and every chart has data on screen', { skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-report-browser-'));
  const cells: CellResult[] = [];
  for (const seed of [1, 2]) {
    for (const [method, shift] of [['none', 0], ['memory', 0], ['fc-write', 0.01], ['lora-r8', 0.03]] as const) {
      cells.push(cell(method, 'home', seed, [0.3, 0.5 + 0.05 * seed, 0.7], shift));
      cells.push(cell(method, 'adversarial-0', seed, [0.3, 0.6], shift));
      cells.push(cell(method, 'adversarial-30', seed, [0.3, 0.5], shift * 2));
      cells.push(cell(method, 'sequential', seed, [0.3, 0.6], shift, [[0.6, null], [0.5, 0.7]]));
    }
  }
  const { html } = writeBenchReport(dir, { suite: 'quick', config: QUICK_SUITE, summary: summarise(cells) });
  const browser = await pw!.chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pathToFileURL(html).href);
    assert.deepEqual(errors, []);
    for (const chart of ['learning-curves', 'pareto', 'garbage-drift', 'cost-ms', 'cost-bytes']) {
      const figure = page.locator(`figure[data-chart="${chart}"]`).first();
      assert.equal(await figure.count(), 1, `figure ${chart}`);
      const box = await figure.locator('svg').first().boundingBox();
      assert.ok(box !== null && box.width > 100 && box.height > 100, `${chart} is laid out on screen: ${JSON.stringify(box)}`);
      const marks = await figure.locator('svg path, svg circle, svg rect.bar').count();
      assert.ok(marks > 0, `${chart} has data marks`);
    }
    assert.ok((await page.locator('table tr').count()) > 8, 'the tables rendered with rows');
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
