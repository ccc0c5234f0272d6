import { SafetensorsFile, encodeSafetensors } from '../../io/safetensors.js';
import { AdapterStoreError } from './errors.js';

// learner.safetensors: what a learner needs to continue training a version's
// adapter exactly where it stopped (its optimiser moments, step counts, replay
// buffer, random generators), published with the version when the committer
// gives it. The store does not know what a learner is: it keeps named float32
// tensors with their shapes (the moments, which are as large as the adapter)
// and one JSON object for the rest, and the learner (src/learn/learnerState.ts)
// decides what they mean. The JSON sits in the safetensors metadata so that the
// state is one file with one sha256, published and verified like the tensors.

export const LEARNER_FILE = 'learner.safetensors';
export const LEARNER_FILE_FORMAT = 'imprint.learner-state';

export interface StoredTensor {
  shape: number[];
  data: Float32Array;
}

export interface StoredLearnerState {
  tensors: Map<string, StoredTensor>;
  /** Everything that is not a large float32 tensor, as plain JSON. */
  meta: Record<string, unknown>;
}

/** The file's bytes as chunks; `what` names the caller for errors. */
export function encodeLearnerFile(state: StoredLearnerState, what: string): Uint8Array[] {
  if (!(state?.tensors instanceof Map) || typeof state.meta !== 'object' || state.meta === null || Array.isArray(state.meta)) {
    throw new RangeError(`${what}: the learner state must be { tensors: Map<name, { shape, data }>, meta: a JSON object }`);
  }
  const tensors = [...state.tensors].map(([name, t]) => {
    if (!(t?.data instanceof Float32Array)) throw new RangeError(`${what}: learner tensor ${name} must have a Float32Array data`);
    const size = Array.isArray(t.shape) ? t.shape.reduce((a, b) => a * b, 1) : Number.NaN;
    if (size !== t.data.length) throw new RangeError(`${what}: learner tensor ${name} has shape ${JSON.stringify(t.shape)} but ${t.data.length} values`);
    return { name, shape: t.shape, data: t.data };
  });
  let meta: string;
  try {
    meta = JSON.stringify(state.meta);
  } catch (error) {
    throw new RangeError(`${what}: the learner state's meta must be JSON-serialisable: ${(error as Error).message}`);
  }
  return encodeSafetensors(tensors, { format: LEARNER_FILE_FORMAT, meta });
}

/** Reads a learner file (already checked against its sha256). */
export function decodeLearnerFile(path: string): StoredLearnerState {
  const file = SafetensorsFile.open(path);
  try {
    if (file.metadata.format !== LEARNER_FILE_FORMAT) {
      throw new AdapterStoreError(path, `metadata.format: expected "${LEARNER_FILE_FORMAT}", got ${JSON.stringify(file.metadata.format ?? null)}`);
    }
    let meta: unknown;
    try {
      meta = JSON.parse(file.metadata.meta ?? '');
    } catch (error) {
      throw new AdapterStoreError(path, `metadata.meta is not valid JSON (${(error as Error).message}); expected the learner state's JSON object`);
    }
    if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) throw new AdapterStoreError(path, `metadata.meta: expected a JSON object, got ${JSON.stringify(meta).slice(0, 60)}`);
    const tensors = new Map<string, StoredTensor>();
    for (const [name, entry] of file.entries) tensors.set(name, { shape: [...entry.shape], data: file.readFloat32(name) });
    return { tensors, meta: meta as Record<string, unknown> };
  } finally {
    file.close();
  }
}
