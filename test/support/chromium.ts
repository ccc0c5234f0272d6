import { existsSync } from 'node:fs';

// Debian's chromium driven by playwright-core, for the browser tests: how to
// launch it on these machines (never a downloaded browser), and whether a test
// can run. Where chromium or playwright-core is absent the tests skip, unless
// IMPRINT_REQUIRE_CHROMIUM=1 (CI installs both), where that is an error.

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

type Playwright = typeof import('playwright-core');

async function loadPlaywright(): Promise<Playwright | null> {
  try {
    return await import('playwright-core');
  } catch {
    return null;
  }
}

/** playwright-core when a browser test can run, and otherwise the reason to skip it. */
export async function browserOrSkip(): Promise<{ pw: Playwright; skip: false } | { pw: null; skip: string }> {
  const pw = await loadPlaywright();
  const missing = pw === null ? 'playwright-core is not installed' : !existsSync(CHROMIUM) ? `${CHROMIUM} is not installed (apt-get install chromium)` : null;
  if (missing !== null && process.env.IMPRINT_REQUIRE_CHROMIUM === '1') throw new Error(`IMPRINT_REQUIRE_CHROMIUM is set but ${missing}`);
  return missing === null ? { pw: pw!, skip: false } : { pw: null, skip: missing };
}
