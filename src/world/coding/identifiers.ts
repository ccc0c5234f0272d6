import type { Naming } from '../types.js';

// Task code is written once, with multi-word names in snake_case; the naming axis
// is applied by rewriting those names. Single-word names (items, text) and member
// names after a dot are the same in both styles, so they carry no naming signal.

const snakeIdentifier = /(?<![.\w])[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b/g;

/** `sum_list` -> `sumList`. */
export function snakeToCamel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

/** Rewrites every multi-word snake_case name in `source` into the requested naming style. */
export function applyNaming(source: string, naming: Naming): string {
  return naming === 'snake' ? source : source.replace(snakeIdentifier, snakeToCamel);
}

/** The multi-word names in canonical (snake_case) source, for checks that every shown line is judgeable. */
export function multiWordNames(source: string): string[] {
  return source.match(snakeIdentifier) ?? [];
}
