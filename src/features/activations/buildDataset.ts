import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FloatDtype } from '../../io/safetensors.js';
import type { TextTokenizer } from '../../io/tokenizer.js';
import type { CausalLm } from '../../model/causalLm.js';
import { ProgressBar } from '../../ui/progressBar.js';
import { captureResidualRows, checkPoints } from './captureRows.js';
import {
  ACTIVATION_DATASET_FORMAT, ACTIVATION_DATASET_VERSION, type ActivationManifest, type ActivationModelInfo, type ActivationShardEntry,
  manifestExists, manifestPath, readManifest, shardFileName, writeManifest,
} from './manifest.js';
import { PendingShard } from './pendingShard.js';

// Runs a corpus through a model and stores the residual stream at chosen hook
// points in safetensors shards (layout in pendingShard.ts), streaming: texts are
// read from the iterable a batch at a time and at most one shard of rows is held
// in memory.
//
// Batches are fixed by text index (batch k holds texts k*batchSize ...
// (k+1)*batchSize - 1, empty texts included), and a resumed build re-runs the
// batch in which the previous build stopped, dropping the rows already stored.
// So every text is computed in the same batch as in an uninterrupted build, and
// a resumed dataset is byte-for-byte the dataset an uninterrupted build writes.

export interface BuildActivationDatasetOptions {
  model: CausalLm;
  tokenizer: TextTokenizer;
  /** The corpus; an array, a generator, or an async iterable (read once, in order). */
  texts: Iterable<string> | AsyncIterable<string>;
  /** Hook points to store, e.g. ["blocks.3.post"]. */
  points: readonly string[];
  outDir: string;
  rowsPerShard: number;
  /** Longer texts keep only their first maxTokensPerText tokens. */
  maxTokensPerText: number;
  /** Texts per forward pass. */
  batchSize: number;
  progress?: boolean;
  /** Continue the build recorded in outDir/manifest.json (a fresh build when there is none). */
  resume?: boolean;
  /** Recorded in the manifest; defaults to the model type. */
  modelName?: string;
  /** Storage format of the activations; F32 by default. */
  dtype?: FloatDtype;
  /** Passed to tokenizer.encode (true, the Hugging Face default, may add BOS). */
  addSpecialTokens?: boolean;
  /** Corpus size for the progress bar when texts is not an array. */
  totalTexts?: number;
  /** Called after each shard is written and listed in the manifest; throwing stops the build (resumable). */
  onShard?: (shard: ActivationShardEntry, manifest: ActivationManifest) => void | Promise<void>;
}

function checkCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`buildActivationDataset: ${name} must be a positive integer, got ${value}`);
}

function freshManifest(options: BuildActivationDatasetOptions, points: string[]): ActivationManifest {
  const { spec } = options.model;
  const model: ActivationModelInfo = {
    name: options.modelName ?? spec.modelType, modelType: spec.modelType, hiddenSize: spec.hiddenSize, layers: spec.layers, vocabSize: spec.vocabSize,
  };
  return {
    format: ACTIVATION_DATASET_FORMAT,
    version: ACTIVATION_DATASET_VERSION,
    model,
    points,
    d: spec.hiddenSize,
    dtype: options.dtype ?? 'F32',
    rowsPerShard: options.rowsPerShard,
    batchSize: options.batchSize,
    maxTokensPerText: options.maxTokensPerText,
    addSpecialTokens: options.addSpecialTokens ?? true,
    shards: [],
    rows: 0,
    nextText: 0,
    nextTextRow: 0,
    complete: false,
  };
}

/** A resumed build must be the build it continues: every setting that shapes the rows has to match. */
function checkResumable(stored: ActivationManifest, wanted: ActivationManifest, path: string): void {
  const fields: Array<[string, unknown, unknown]> = [
    ['points', stored.points.join(','), wanted.points.join(',')],
    ['d', stored.d, wanted.d],
    ['dtype', stored.dtype, wanted.dtype],
    ['rowsPerShard', stored.rowsPerShard, wanted.rowsPerShard],
    ['batchSize', stored.batchSize, wanted.batchSize],
    ['maxTokensPerText', stored.maxTokensPerText, wanted.maxTokensPerText],
    ['addSpecialTokens', stored.addSpecialTokens, wanted.addSpecialTokens],
    ['model', JSON.stringify(stored.model), JSON.stringify(wanted.model)],
  ];
  const differences = fields.filter(([, a, b]) => a !== b).map(([name, a, b]) => `${name} ${String(a)} (this call: ${String(b)})`);
  if (differences.length > 0) throw new Error(`buildActivationDataset: cannot resume ${path}, it was built with ${differences.join('; ')}`);
}

async function* numbered(texts: Iterable<string> | AsyncIterable<string>): AsyncGenerator<[number, string]> {
  let index = 0;
  for await (const text of texts) {
    if (typeof text !== 'string') throw new TypeError(`buildActivationDataset: text ${index} is ${typeof text}, expected a string`);
    yield [index++, text];
  }
}

export async function buildActivationDataset(options: BuildActivationDatasetOptions): Promise<ActivationManifest> {
  const { model, tokenizer, outDir, rowsPerShard, maxTokensPerText, batchSize } = options;
  checkCount('rowsPerShard', rowsPerShard);
  checkCount('maxTokensPerText', maxTokensPerText);
  checkCount('batchSize', batchSize);
  const points = checkPoints(options.points, model.spec.layers);
  const addSpecialTokens = options.addSpecialTokens ?? true;
  mkdirSync(outDir, { recursive: true });

  let manifest = freshManifest(options, points);
  if (manifestExists(outDir)) {
    if (options.resume !== true) {
      throw new Error(`buildActivationDataset: ${manifestPath(outDir)} already exists; pass resume: true to continue that build, or choose an empty outDir`);
    }
    const stored = readManifest(outDir);
    checkResumable(stored, manifest, manifestPath(outDir));
    if (stored.complete) return stored;
    manifest = stored;
  }

  const d = manifest.d;
  const pending = new PendingShard(points, d, rowsPerShard);
  const resumeText = manifest.nextText;
  const resumeRow = manifest.nextTextRow;
  const firstBatchText = Math.floor(resumeText / batchSize) * batchSize;
  const total = Array.isArray(options.texts) ? options.texts.length : options.totalTexts ?? Number.POSITIVE_INFINITY;
  const bar = options.progress === true ? new ProgressBar({ total, unit: 'tok' }, firstBatchText) : null;
  let tokensThisRun = 0;

  const writeShard = async (): Promise<void> => {
    const index = manifest.shards.length;
    const file = shardFileName(index);
    const lastText = pending.lastText;
    const lastPosition = pending.lastPosition;
    const { rows, firstText } = pending.write(join(outDir, file), manifest.dtype);
    const entry: ActivationShardEntry = { file, rows, firstText };
    manifest.shards.push(entry);
    manifest.rows += rows;
    manifest.nextText = lastText;
    manifest.nextTextRow = lastPosition + 1;
    writeManifest(outDir, manifest);
    await options.onShard?.(entry, manifest);
  };

  const runBatch = async (batch: Array<[number, string]>): Promise<void> => {
    const encoded = batch
      .map(([index, text]) => ({ index, tokens: tokenizer.encode(text, { addSpecialTokens }).slice(0, maxTokensPerText) }))
      .filter((t) => t.tokens.length > 0);
    const captured = encoded.length > 0 ? captureResidualRows(model, encoded.map((t) => t.tokens), points) : new Map<string, Float32Array>();
    let row = 0;
    for (const { index, tokens } of encoded) {
      for (let position = 0; position < tokens.length; position++, row++) {
        // Rows stored before the interruption are computed again (same batch) but not stored twice.
        if (index < resumeText || (index === resumeText && position < resumeRow)) continue;
        pending.append(captured, row, tokens[position], index, position);
        if (pending.full) await writeShard();
      }
      tokensThisRun += tokens.length;
    }
    bar?.update(batch[batch.length - 1][0] + 1, tokensThisRun, { shards: manifest.shards.length, rows: manifest.rows + pending.rows });
  };

  let batch: Array<[number, string]> = [];
  let seen = 0;
  for await (const item of numbered(options.texts)) {
    seen = item[0] + 1;
    if (item[0] < firstBatchText) continue;
    batch.push(item);
    if (batch.length === batchSize) {
      await runBatch(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await runBatch(batch);
  if (seen < resumeText) {
    throw new Error(`buildActivationDataset: the corpus has ${seen} texts, but the build being resumed had already stored rows of text ${resumeText}; is it the same corpus?`);
  }
  if (pending.rows > 0) await writeShard();
  manifest.nextText = seen;
  manifest.nextTextRow = 0;
  manifest.complete = true;
  writeManifest(outDir, manifest);
  bar?.finish();
  return manifest;
}
