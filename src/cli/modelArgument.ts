import { existsSync } from 'node:fs';
import { loadModel, type LoadedModel } from '../model/load.js';

// Resolves --model. Until the project ships its own model (the embedded-default
// issue), a directory must be given.

export function loadModelArgument(dir: string | undefined, command: string): LoadedModel {
  if (dir === undefined) {
    throw new RangeError(`imprint ${command}: --model DIR is required (a Hugging Face model directory with config.json and model.safetensors)`);
  }
  if (!existsSync(dir)) throw new RangeError(`imprint ${command}: --model ${dir} does not exist`);
  return loadModel(dir);
}

export function parseNumberFlag(name: string, raw: string | undefined, check: (n: number) => boolean, expected: string): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !check(value)) throw new RangeError(`--${name} must be ${expected}, got '${raw}'`);
  return value;
}
