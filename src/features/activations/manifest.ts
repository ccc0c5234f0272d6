import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomicWrite.js';
import type { FloatDtype } from '../../io/safetensors.js';

// The manifest is the dataset's single source of truth: a reader trusts only the
// shards it lists, and an interrupted build resumes from the position it records.
// It is rewritten atomically after every shard, so a crash at any moment leaves
// either the previous manifest or the new one, never a half-written file; a shard
// written but not yet listed is simply overwritten on resume.

export const ACTIVATION_DATASET_FORMAT = 'imprint-activations';
export const ACTIVATION_DATASET_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';

export interface ActivationShardEntry {
  /** File name inside the dataset directory: shard-00000.safetensors, ... */
  file: string;
  rows: number;
  /** Text index of the shard's first row; row text indices are stored relative to it. */
  firstText: number;
}

export interface ActivationModelInfo {
  name: string;
  modelType: string;
  hiddenSize: number;
  layers: number;
  vocabSize: number;
}

export interface ActivationManifest {
  format: typeof ACTIVATION_DATASET_FORMAT;
  version: typeof ACTIVATION_DATASET_VERSION;
  model: ActivationModelInfo;
  points: string[];
  /** Width of every stored row (the model's hidden size). */
  d: number;
  /** Storage format of the activation tensors (row metadata is always F32). */
  dtype: FloatDtype;
  rowsPerShard: number;
  batchSize: number;
  maxTokensPerText: number;
  addSpecialTokens: boolean;
  shards: ActivationShardEntry[];
  /** Rows over all listed shards. */
  rows: number;
  /**
   * Where the stored rows stop: every text before nextText is fully stored, and
   * so are the first nextTextRow rows (positions) of text nextText.
   */
  nextText: number;
  nextTextRow: number;
  /** True once the whole corpus went through; nextText is then the number of texts. */
  complete: boolean;
}

export function shardFileName(index: number): string {
  return `shard-${String(index).padStart(5, '0')}.safetensors`;
}

export function manifestPath(dir: string): string {
  return join(dir, MANIFEST_FILE);
}

export function writeManifest(dir: string, manifest: ActivationManifest): void {
  writeFileAtomic(manifestPath(dir), [new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`)]);
}

export function manifestExists(dir: string): boolean {
  return existsSync(manifestPath(dir));
}

export function readManifest(dir: string): ActivationManifest {
  const path = manifestPath(dir);
  if (!existsSync(path)) throw new Error(`${path}: not found; an activation dataset directory needs the manifest.json that buildActivationDataset writes`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path}: is not valid JSON (${(error as Error).message})`);
  }
  return checkManifest(raw, path);
}

function checkManifest(raw: unknown, path: string): ActivationManifest {
  const fail = (detail: string): never => { throw new Error(`${path}: ${detail}`); };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('must hold a JSON object');
  const m = raw as Record<string, unknown>;
  if (m.format !== ACTIVATION_DATASET_FORMAT) fail(`format is ${JSON.stringify(m.format)}, expected "${ACTIVATION_DATASET_FORMAT}"`);
  if (m.version !== ACTIVATION_DATASET_VERSION) fail(`version is ${JSON.stringify(m.version)}, expected ${ACTIVATION_DATASET_VERSION}`);
  const count = (name: string, min: number) => {
    const v = m[name];
    if (!Number.isSafeInteger(v) || (v as number) < min) fail(`${name} is ${JSON.stringify(v)}, expected an integer >= ${min}`);
  };
  for (const name of ['d', 'rowsPerShard', 'batchSize', 'maxTokensPerText']) count(name, 1);
  for (const name of ['rows', 'nextText', 'nextTextRow']) count(name, 0);
  if (!Array.isArray(m.points) || m.points.length === 0 || !m.points.every((p) => typeof p === 'string')) fail('points must be a non-empty list of hook point names');
  if (m.dtype !== 'F32' && m.dtype !== 'F16' && m.dtype !== 'BF16') fail(`dtype is ${JSON.stringify(m.dtype)}, expected F32, F16 or BF16`);
  if (typeof m.complete !== 'boolean' || typeof m.addSpecialTokens !== 'boolean') fail('complete and addSpecialTokens must be booleans');
  if (typeof m.model !== 'object' || m.model === null) fail('model must describe the model the activations came from');
  if (!Array.isArray(m.shards)) fail('shards must be a list');
  let rows = 0;
  (m.shards as unknown[]).forEach((s, i) => {
    const shard = s as Record<string, unknown>;
    if (typeof s !== 'object' || s === null || shard.file !== shardFileName(i) || !Number.isSafeInteger(shard.rows) || (shard.rows as number) < 1 || !Number.isSafeInteger(shard.firstText)) {
      fail(`shards[${i}] is ${JSON.stringify(s)}, expected { file: "${shardFileName(i)}", rows >= 1, firstText }`);
    }
    rows += shard.rows as number;
  });
  if (rows !== m.rows) fail(`rows is ${String(m.rows)} but the shards hold ${rows}`);
  return m as unknown as ActivationManifest;
}
