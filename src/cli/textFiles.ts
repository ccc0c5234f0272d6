import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../io/atomicWrite.js';

// The files the feature commands pass between each other: JSONL text sets, one
// {"text": ...} object per line (what `world pairs` writes and `features find`
// reads, and what other tools can produce easily), and small JSON documents.

/** Reads the "text" field of every non-blank line; `flag` names the option in errors (e.g. "--pos"). */
export function readJsonlTexts(path: string, flag: string): string[] {
  if (!existsSync(path)) throw new RangeError(`${flag} ${path} does not exist; expected a JSONL file with one {"text": ...} per line`);
  const texts: string[] = [];
  readFileSync(path, 'utf8').split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      throw new RangeError(`${flag} ${path}: line ${i + 1} is not JSON (${(error as Error).message}); expected {"text": ...}`);
    }
    const text = (parsed as { text?: unknown } | null)?.text;
    if (typeof text !== 'string') throw new RangeError(`${flag} ${path}: line ${i + 1} has no string "text" field; expected {"text": ...}`);
    texts.push(text);
  });
  if (texts.length === 0) throw new RangeError(`${flag} ${path} holds no texts; expected a JSONL file with one {"text": ...} per line`);
  return texts;
}

export function writeJsonlTexts(path: string, texts: readonly string[]): void {
  writeTextFile(path, texts.map((text) => `${JSON.stringify({ text })}\n`).join(''));
}

/** Parses a JSON file, naming the flag and the file when it is missing or malformed. */
export function readJsonFile(path: string, flag: string, expected: string): unknown {
  if (!existsSync(path)) throw new RangeError(`${flag} ${path} does not exist; expected ${expected}`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new RangeError(`${flag} ${path} is not valid JSON (${(error as Error).message}); expected ${expected}`);
  }
}

/** Writes atomically, creating the parent directory, so a reader never sees half a file. */
export function writeTextFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, [new TextEncoder().encode(text)]);
}
