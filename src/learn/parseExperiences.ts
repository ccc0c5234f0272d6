import { readFileSync } from 'node:fs';
import type { Experience } from './experience.js';
import { type ExperienceLimits, checkExperience } from './validateExperience.js';

// Reads an interactions file (JSONL, schema in experience.ts). A bad line is
// reported with its line number and the reason, and skipped; every good line is
// kept. Nothing in the file's content makes this throw: not invalid JSON, not a
// huge line, not binary garbage. Only an unreadable file does.

export interface ParsedExperience {
  /** 1-based line number in the file. */
  line: number;
  experience: Experience;
}

export interface ExperienceLineError {
  line: number;
  reason: string;
}

export interface ParsedExperiences {
  experiences: ParsedExperience[];
  errors: ExperienceLineError[];
}

export interface ParseExperiencesOptions extends ExperienceLimits {
  /** Longest line accepted, in characters (default 100 000); longer lines are not parsed at all. */
  maxLineLength?: number;
}

export function parseExperiencesJsonl(text: string, options: ParseExperiencesOptions = {}): ParsedExperiences {
  const maxLine = options.maxLineLength ?? 100_000;
  const experiences: ParsedExperience[] = [];
  const errors: ExperienceLineError[] = [];
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let start = 0;
  let line = 0;
  while (start <= body.length) {
    let end = body.indexOf('\n', start);
    if (end < 0) end = body.length;
    line++;
    // Measure before slicing: a multi-megabyte line is rejected without copying or parsing it.
    let length = end - start;
    if (length > 0 && body.charCodeAt(end - 1) === 13) length--;
    if (length > maxLine) {
      errors.push({ line, reason: `the line is ${length} characters long, over the limit of ${maxLine}; not parsed` });
    } else {
      const raw = body.slice(start, start + length);
      if (raw.trim() !== '') {
        let value: unknown;
        let parsed = true;
        try {
          value = JSON.parse(raw);
        } catch (error) {
          parsed = false;
          errors.push({ line, reason: `not valid JSON: ${(error as Error).message}` });
        }
        if (parsed) {
          const check = checkExperience(value, options);
          if (check.ok) experiences.push({ line, experience: check.experience });
          else errors.push({ line, reason: check.reason });
        }
      }
    }
    if (end === body.length) break;
    start = end + 1;
  }
  return { experiences, errors };
}

/** Reads and parses a JSONL file; throws only when the file cannot be read. */
export function readExperiencesFile(path: string, options: ParseExperiencesOptions = {}): ParsedExperiences {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`interactions file ${path}: cannot read it: ${(error as Error).message}`);
  }
  return parseExperiencesJsonl(text, options);
}

/** "line 3: reaction.up must be true or false, got the string \"yes\"", one per error. */
export function describeLineErrors(path: string, errors: readonly ExperienceLineError[]): string[] {
  return errors.map((e) => `${path}:${e.line}: ${e.reason}; line skipped`);
}
