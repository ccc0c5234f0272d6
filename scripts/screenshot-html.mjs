// Renders a local HTML file in Debian's headless Chromium (playwright-core) and saves a
// full-page PNG: how the benchmark report's screenshot in docs/ is made.
//   node scripts/screenshot-html.mjs runs/bench-quick/report.html docs/benchmark-quick.png [width] [selector]
// With a CSS selector, only the first element it matches (e.g. the charts) is captured.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const [html, png, width = '1280', selector] = process.argv.slice(2);
if (html === undefined || png === undefined) {
  console.error('usage: node scripts/screenshot-html.mjs PAGE.html OUT.png [WIDTH] [SELECTOR]');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: Number(width), height: 900 } });
  await page.goto(pathToFileURL(resolve(html)).href);
  if (selector === undefined) await page.screenshot({ path: png, fullPage: true });
  else await page.locator(selector).first().screenshot({ path: png });
  console.log(`wrote ${png}`);
} finally {
  await browser.close();
}
