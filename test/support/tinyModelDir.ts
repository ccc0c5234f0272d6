import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Bundle, modelFingerprint, saveBundle } from '../../src/features/bundles/index.js';
import { tinyConfig } from '../../src/pretrain/config.js';
import { pretrain, writePretrainOutputs } from '../../src/pretrain/trainer.js';

// A tiny model directory for the command-line and server tests: 3 pretraining
// steps of the tiny config (a model too weak to learn a style, but one whose
// replies and learner steps take milliseconds), its tokenizer, and bundles of
// fixed vector features in its bundles/ folder.

export interface TinyBundle {
  name: string;
  hookPoint: `blocks.${number}.${'pre' | 'post'}`;
  /** Feature ids (default direct, casual, warm); each gets a fixed direction of its own. */
  features?: string[];
}

const LABELS: Record<string, string> = { direct: 'direct answers', casual: 'casual tone', warm: 'warm acknowledgement' };

/** A fixed direction per id: the three named ones as the tests have always used, others from a hash of the id. */
function direction(id: string, d: number): Float32Array {
  if (id === 'direct') return Float32Array.from({ length: d }, (_, i) => Math.cos(i));
  if (id === 'casual') return Float32Array.from({ length: d }, (_, i) => Math.sin(1.3 * i));
  if (id === 'warm') return Float32Array.from({ length: d }, (_, i) => (i % 3 === 0 ? 1 : -0.5));
  let h = 7;
  for (const c of id) h = (h * 31 + c.charCodeAt(0)) % 9973;
  return Float32Array.from({ length: d }, (_, i) => Math.cos((h + 1) * 0.37 * (i + 1)));
}

export const TINY_STYLE: TinyBundle = { name: 'tiny-style', hookPoint: 'blocks.1.post' };

/** Pretrains the tiny model under `scratch`, writes it to `scratch/model` with the bundles, and returns that directory. */
export function makeTinyModelDir(scratch: string, bundles: readonly TinyBundle[] = [TINY_STYLE]): string {
  const result = pretrain({ ...tinyConfig, steps: 3, evalEvery: 3 }, { runDir: join(scratch, 'run'), resume: false });
  const modelDir = join(scratch, 'model');
  writePretrainOutputs(result, modelDir);
  const spec = result.model.spec;
  mkdirSync(join(modelDir, 'bundles'));
  for (const b of bundles) {
    const ids = b.features ?? ['direct', 'casual', 'warm'];
    const bundle: Bundle = {
      format: 'imprint.bundle', version: 1, name: b.name, description: 'test', model: modelFingerprint('tiny', spec), hookPoint: b.hookPoint,
      layer: Number(b.hookPoint.split('.')[1]),
      features: ids.map((id) => ({ kind: 'vector' as const, id, label: LABELS[id] ?? `feature ${id}`, tensor: id, provenance: { method: 'manual' as const, data: 'test vector', created: '2026-11-29' } })),
    };
    saveBundle(join(modelDir, 'bundles'), bundle, new Map(ids.map((id) => [id, direction(id, spec.hiddenSize)])));
  }
  return modelDir;
}
