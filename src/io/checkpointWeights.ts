// The weights of a Hugging Face checkpoint directory: either one
// model.safetensors, or shards listed by model.safetensors.index.json. Callers see
// one flat set of named tensors and never care which layout was on disk.

import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { basename, join, resolve, sep } from 'node:path';
import { writeFileAtomic } from './atomicWrite.js';
import { CheckpointFormatError } from './errors.js';
import { describeAvailable, SafetensorsFile, storedByteLength, validateTensorsToWrite, writeSafetensors, type TensorToWrite } from './safetensors.js';

export interface TensorSource {
  readonly names: readonly string[];
  has(name: string): boolean;
  shape(name: string): number[];
  dtype(name: string): string;
  /** A float32 copy of the tensor, whatever its stored float format. */
  read(name: string): Float32Array;
  close(): void;
}

export interface WriteCheckpointOptions {
  /** Split into shards when the stored bytes exceed this; one file when absent. */
  maxShardBytes?: number;
  /** Stored in every file; `format: 'pt'` is added unless given, since transformers refuses files without it. */
  metadata?: Record<string, string>;
}

const SINGLE_FILE = 'model.safetensors';
const INDEX_FILE = 'model.safetensors.index.json';
const PYTORCH_FILES = ['pytorch_model.bin', 'pytorch_model.bin.index.json'];
const SAVED_WEIGHTS_FILE = /^model(-\d{5}-of-\d{5})?\.safetensors$|^model\.safetensors\.index\.json$/;

export function openCheckpointWeights(dir: string): TensorSource {
  const singlePath = join(dir, SINGLE_FILE);
  // transformers prefers the single file when both exist; so do we.
  if (existsSync(singlePath)) {
    const file = SafetensorsFile.open(singlePath);
    return new CheckpointTensors(dir, [...file.entries.keys()].map((name) => [name, file]), [file]);
  }
  const indexPath = join(dir, INDEX_FILE);
  if (existsSync(indexPath)) return openSharded(dir, indexPath);
  throw new CheckpointFormatError(dir, missingWeightsDetail(dir));
}

function missingWeightsDetail(dir: string): string {
  if (!existsSync(dir)) return `checkpoint directory does not exist (looked for ${SINGLE_FILE} or ${INDEX_FILE} in it)`;
  const pytorch = PYTORCH_FILES.filter((name) => existsSync(join(dir, name)));
  const hint = pytorch.length > 0
    ? `; found ${pytorch.join(' and ')}, but PyTorch .bin checkpoints are not supported: convert them to safetensors first`
    : '';
  return `no weights found: looked for ${SINGLE_FILE} and ${INDEX_FILE}${hint}`;
}

function openSharded(dir: string, indexPath: string): TensorSource {
  const weightMap = readWeightMap(indexPath);
  const shards = new Map<string, SafetensorsFile>();
  try {
    for (const shardName of new Set(weightMap.values())) {
      const shardPath = shardPathInside(dir, shardName, indexPath);
      if (!existsSync(shardPath)) {
        throw new CheckpointFormatError(indexPath, `shard '${shardName}' is listed in weight_map but ${shardPath} does not exist`);
      }
      shards.set(shardName, SafetensorsFile.open(shardPath));
    }
    // Headers are already in memory, so checking every shard now costs nothing and
    // turns a broken save into an error at open rather than deep inside a load.
    const holder = new Map<string, string>();
    for (const [shardName, shard] of shards) {
      for (const name of shard.entries.keys()) {
        const other = holder.get(name);
        if (other !== undefined) {
          throw new CheckpointFormatError(indexPath, `tensor '${name}' is present in two shards, '${other}' and '${shardName}'`);
        }
        holder.set(name, shardName);
      }
    }
    const located: Array<[string, SafetensorsFile]> = [];
    for (const [name, shardName] of weightMap) {
      const shard = shards.get(shardName) as SafetensorsFile;
      if (!shard.has(name)) {
        throw new CheckpointFormatError(indexPath, `weight_map puts tensor '${name}' in '${shardName}', but that shard has no such tensor`);
      }
      located.push([name, shard]);
    }
    return new CheckpointTensors(dir, located, [...shards.values()]);
  } catch (error) {
    for (const shard of shards.values()) shard.close();
    throw error;
  }
}

function readWeightMap(indexPath: string): Map<string, string> {
  let index: unknown;
  try {
    index = JSON.parse(readFileSync(indexPath, 'utf8'));
  } catch (error) {
    throw new CheckpointFormatError(indexPath, `index is not valid JSON (${(error as Error).message})`);
  }
  const weightMap = isObject(index) ? (index as Record<string, unknown>).weight_map : undefined;
  if (!isObject(weightMap)) {
    throw new CheckpointFormatError(indexPath, 'index must be an object with a "weight_map" object mapping tensor names to shard files');
  }
  const result = new Map<string, string>();
  for (const [name, shard] of Object.entries(weightMap as Record<string, unknown>)) {
    if (typeof shard !== 'string' || shard.length === 0) {
      throw new CheckpointFormatError(indexPath, `weight_map entry for tensor '${name}' must be a shard file name, got ${JSON.stringify(shard)}`);
    }
    result.set(name, shard);
  }
  return result;
}

// An index is data from outside; it must not make us open files elsewhere.
function shardPathInside(dir: string, shardName: string, indexPath: string): string {
  const root = resolve(dir);
  const path = resolve(root, shardName);
  if (!path.startsWith(root + sep)) {
    throw new CheckpointFormatError(indexPath, `shard '${shardName}' points outside the checkpoint directory`);
  }
  return path;
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class CheckpointTensors implements TensorSource {
  readonly names: readonly string[];
  private readonly fileOf: ReadonlyMap<string, SafetensorsFile>;

  constructor(private readonly dir: string, located: Array<[string, SafetensorsFile]>, private readonly files: SafetensorsFile[]) {
    this.fileOf = new Map(located);
    this.names = located.map(([name]) => name);
  }

  has(name: string): boolean {
    return this.fileOf.has(name);
  }

  shape(name: string): number[] {
    return [...this.entry(name).shape];
  }

  dtype(name: string): string {
    return this.entry(name).dtype;
  }

  read(name: string): Float32Array {
    this.entry(name);
    return (this.fileOf.get(name) as SafetensorsFile).readFloat32(name);
  }

  close(): void {
    for (const file of this.files) file.close();
  }

  private entry(name: string) {
    const file = this.fileOf.get(name);
    if (file === undefined) throw new CheckpointFormatError(this.dir, `checkpoint has no tensor named '${name}'; ${describeAvailable(this.names)}`);
    return file.entries.get(name)!;
  }
}

/** Writes the weights as Hugging Face does and returns the paths written. */
export function writeCheckpointWeights(dir: string, tensors: TensorToWrite[], options: WriteCheckpointOptions = {}): string[] {
  const { maxShardBytes } = options;
  if (maxShardBytes !== undefined && !(Number.isSafeInteger(maxShardBytes) && maxShardBytes > 0)) {
    throw new RangeError(`writeCheckpointWeights: maxShardBytes must be a positive integer, got ${maxShardBytes}`);
  }
  // Shards are encoded one by one; checking every tensor first means a bad one
  // (or a name repeated across shards) fails before any file is replaced.
  validateTensorsToWrite(tensors);
  const metadata = { format: 'pt', ...options.metadata };
  const totalBytes = tensors.reduce((sum, t) => sum + storedByteLength(t), 0);
  mkdirSync(dir, { recursive: true });

  const written: string[] = [];
  if (maxShardBytes === undefined || totalBytes <= maxShardBytes) {
    const path = join(dir, SINGLE_FILE);
    writeSafetensors(path, tensors, metadata);
    written.push(path);
  } else {
    const shards = packShards(tensors, maxShardBytes);
    const weightMap: Record<string, string> = Object.create(null) as Record<string, string>;
    shards.forEach((shard, i) => {
      const fileName = `model-${pad5(i + 1)}-of-${pad5(shards.length)}.safetensors`;
      const path = join(dir, fileName);
      writeSafetensors(path, shard, metadata);
      written.push(path);
      for (const t of shard) weightMap[t.name] = fileName;
    });
    // The index goes last, so it never names a shard that is not on disk yet.
    const indexPath = join(dir, INDEX_FILE);
    const index = { metadata: { total_size: totalBytes }, weight_map: weightMap };
    writeFileAtomic(indexPath, [new TextEncoder().encode(`${JSON.stringify(index, null, 2)}\n`)]);
    written.push(indexPath);
  }
  removeStaleWeights(dir, new Set(written.map((p) => basename(p))));
  return written;
}

// Greedy in the given order, as Hugging Face does: a tensor larger than the limit
// gets a shard of its own rather than being split.
function packShards(tensors: TensorToWrite[], maxShardBytes: number): TensorToWrite[][] {
  const shards: TensorToWrite[][] = [];
  let current: TensorToWrite[] = [];
  let currentBytes = 0;
  for (const tensor of tensors) {
    const bytes = storedByteLength(tensor);
    if (current.length > 0 && currentBytes + bytes > maxShardBytes) {
      shards.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(tensor);
    currentBytes += bytes;
  }
  if (current.length > 0) shards.push(current);
  return shards;
}

function removeStaleWeights(dir: string, keep: ReadonlySet<string>): void {
  for (const name of readdirSync(dir)) {
    if (SAVED_WEIGHTS_FILE.test(name) && !keep.has(name)) unlinkSync(join(dir, name));
  }
}

function pad5(n: number): string {
  return String(n).padStart(5, '0');
}
