import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadModel, type LoadedModel } from '../model/load.js';
import { shippedModelConfig } from '../pretrain/config.js';

// Resolves --model: a directory given on the command line, or the model shipped in
// the package's models/ folder (found relative to this file, not the working
// directory, so `npx imprint` works from anywhere).

export function shippedModelDir(): string {
  return fileURLToPath(new URL(`../../../models/${shippedModelConfig.name}`, import.meta.url));
}

export function loadModelArgument(dir: string | undefined, command: string): LoadedModel {
  const chosen = dir ?? shippedModelDir();
  if (!existsSync(chosen)) {
    throw new RangeError(dir === undefined
      ? `imprint ${command}: no --model given and the shipped model is missing at ${chosen}; pass --model DIR (a Hugging Face model directory) or rebuild it with imprint pretrain`
      : `imprint ${command}: --model ${dir} does not exist`);
  }
  return loadModel(chosen);
}

export function parseNumberFlag(name: string, raw: string | undefined, check: (n: number) => boolean, expected: string): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !check(value)) throw new RangeError(`--${name} must be ${expected}, got '${raw}'`);
  return value;
}
