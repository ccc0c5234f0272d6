import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../../io/atomicWrite.js';
import { SafetensorsFile, encodeSafetensors } from '../../io/safetensors.js';
import { type Bundle, bundleJsonPath, bundleVectorsFileName } from './bundle.js';
import { BundleFormatError, validateBundle } from './validate.js';

// Saving and loading a bundle: `<name>.bundle.json` plus, when it has vector
// features, `<name>.bundle.safetensors`. Each file is written atomically; the
// vectors go first and the JSON records their SHA-256, so a reader either sees
// a consistent pair or is told the save was interrupted (never a silent mix of
// old JSON and new vectors).

export interface LoadedBundle {
  bundle: Bundle;
  /** Vector features' tensors by tensor name, each of the model's hidden size. */
  vectors: Map<string, Float32Array>;
  /** The JSON file it was read from. */
  path: string;
}

export interface SavedBundle {
  jsonPath: string;
  /** Null when the bundle has only SAE features. */
  vectorsPath: string | null;
  /** The bundle as written, with its `vectors` record. */
  bundle: Bundle;
}

export function saveBundle(dir: string, bundle: Bundle, vectors: ReadonlyMap<string, Float32Array>): SavedBundle {
  // Validate the bundle as it will be read back, before anything touches the disk.
  const { vectors: _stale, ...withoutVectors } = bundle;
  const checked = validateBundle(JSON.parse(JSON.stringify(withoutVectors)), `bundle "${bundle.name}"`);
  const source = `bundle "${checked.name}"`;
  const wanted = checked.features.flatMap((f) => (f.kind === 'vector' ? [f] : []));
  const referenced = new Set(wanted.map((f) => f.tensor));
  for (const name of vectors.keys()) {
    if (!referenced.has(name)) throw new BundleFormatError(source, `vector "${name}" is not used by any feature (vector features use: ${[...referenced].join(', ') || 'none'})`);
  }
  const tensors = wanted.map((feature) => {
    const data = vectors.get(feature.tensor);
    if (data === undefined) throw new BundleFormatError(source, `feature "${feature.id}" needs vector "${feature.tensor}", which was not given`);
    checkVector(source, `vector "${feature.tensor}" of feature "${feature.id}"`, data, checked.model.hiddenSize);
    return { name: feature.tensor, shape: [data.length], data };
  });

  mkdirSync(dir, { recursive: true });
  const jsonPath = bundleJsonPath(dir, checked.name);
  let vectorsPath: string | null = null;
  if (tensors.length > 0) {
    const file = bundleVectorsFileName(checked.name);
    vectorsPath = join(dir, file);
    const chunks = encodeSafetensors(tensors, { bundle: checked.name, format: checked.format });
    const hash = createHash('sha256');
    for (const chunk of chunks) hash.update(chunk);
    checked.vectors = { file, sha256: hash.digest('hex') };
    writeFileAtomic(vectorsPath, chunks);
  }
  writeFileAtomic(jsonPath, [new TextEncoder().encode(`${JSON.stringify(checked, null, 2)}\n`)]);
  return { jsonPath, vectorsPath, bundle: checked };
}

export function loadBundle(path: string): LoadedBundle {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new BundleFormatError(path, `cannot read the bundle: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new BundleFormatError(path, `not valid JSON: ${(error as Error).message}`);
  }
  const bundle = validateBundle(json, path);
  const vectors = new Map<string, Float32Array>();
  const wanted = bundle.features.flatMap((f) => (f.kind === 'vector' ? [f] : []));
  if (wanted.length === 0) return { bundle, vectors, path };

  if (bundle.vectors === undefined) {
    throw new BundleFormatError(path, `features ${wanted.map((f) => f.id).join(', ')} are vectors, but the bundle names no vectors file (expected "vectors": { "file": "${bundleVectorsFileName(bundle.name)}", "sha256": ... })`);
  }
  const vectorsPath = join(dirname(path), bundle.vectors.file);
  let bytes: Buffer;
  try {
    bytes = readFileSync(vectorsPath);
  } catch (error) {
    throw new BundleFormatError(path, `cannot read its vectors file ${basename(vectorsPath)}: ${(error as Error).message}`);
  }
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== bundle.vectors.sha256) {
    throw new BundleFormatError(path, `vectors file ${basename(vectorsPath)} has SHA-256 ${actual}, but the bundle records ${bundle.vectors.sha256}: the file was replaced or a save was interrupted; save the bundle again`);
  }
  const file = SafetensorsFile.open(vectorsPath);
  try {
    for (const feature of wanted) {
      const what = `vector "${feature.tensor}" of feature "${feature.id}"`;
      if (!file.has(feature.tensor)) {
        throw new BundleFormatError(path, `${what} is missing from ${basename(vectorsPath)} (it has: ${[...file.entries.keys()].join(', ') || 'no tensors'})`);
      }
      const shape = file.entries.get(feature.tensor)!.shape;
      if (shape.length !== 1) throw new BundleFormatError(path, `${what} has shape [${shape.join(', ')}], expected [${bundle.model.hiddenSize}]`);
      const data = file.readFloat32(feature.tensor);
      checkVector(path, what, data, bundle.model.hiddenSize);
      vectors.set(feature.tensor, data);
    }
  } finally {
    file.close();
  }
  return { bundle, vectors, path };
}

function checkVector(source: string, what: string, data: Float32Array, hiddenSize: number): void {
  if (!(data instanceof Float32Array)) throw new BundleFormatError(source, `${what} must be a Float32Array`);
  if (data.length !== hiddenSize) throw new BundleFormatError(source, `${what} has ${data.length} entries, but the model's hidden size is ${hiddenSize}`);
  let squared = 0;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new BundleFormatError(source, `${what} has a non-finite entry ${data[i]} at index ${i}`);
    squared += data[i] * data[i];
  }
  if (squared === 0) throw new BundleFormatError(source, `${what} is all zeros, which is no direction`);
}
