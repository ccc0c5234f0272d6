// Renders a local HTML file in Debian's headless Chromium (playwright-core) and saves a
// full-page PNG: how the benchmark report's screenshot in docs/ is made.
//   node scripts/screenshot-html.mjs runs/bench-quick/report.html docs/benchmark-quick.png [width] [selector] [max-height]
// With a CSS selector, only the first element it matches (e.g. the charts) is captured
// ('' for the whole page). With a max height, only the page's top that many pixels
// tall: the full suite's report is some 18,000 px long.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const [html, png, width = '1280', selector = '', maxHeight] = process.argv.slice(2);
if (html === undefined || png === undefined) {
  console.error('usage: node scripts/screenshot-html.mjs PAGE.html OUT.png [WIDTH] [SELECTOR] [MAX-HEIGHT]');
  process.exit(2);
}
if (maxHeight !== undefined && !(Number(maxHeight) > 0)) {
  console.error(`max height must be a number of pixels > 0, got '${maxHeight}'`);
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: Number(width), height: 900 } });
  await page.goto(pathToFileURL(resolve(html)).href);
  if (selector === '') {
    const { width: pageWidth, height: pageHeight } = await page.evaluate(() => ({ width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight }));
    const height = maxHeight === undefined ? pageHeight : Math.min(pageHeight, Number(maxHeight));
    await page.screenshot({ path: png, fullPage: true, clip: { x: 0, y: 0, width: pageWidth, height } });
  } else {
    await page.locator(selector).first().screenshot({ path: png });
  }
  console.log(`wrote ${png}`);
} finally {
  await browser.close();
}
