import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Bundle, modelFingerprint, saveBundle } from '../../src/features/bundles/index.js';
import { tinyConfig } from '../../src/pretrain/config.js';
import { pretrain, writePretrainOutputs } from '../../src/pretrain/trainer.js';

// A tiny model directory (3 pretraining steps) with a 3-direction bundle at
// blocks.1.post, for the server's tests: replies and learner steps take
// milliseconds, so a test can run the whole server.

export const TINY_BUNDLE = 'tiny-style';

export function makeTinyServeModel(scratch: string): string {
  const result = pretrain({ ...tinyConfig, steps: 3, evalEvery: 3 }, { runDir: join(scratch, 'run'), resume: false });
  const modelDir = join(scratch, 'model');
  writePretrainOutputs(result, modelDir);
  const spec = result.model.spec;
  const d = spec.hiddenSize;
  const feature = (id: string, label: string) => ({ kind: 'vector' as const, id, label, tensor: id, provenance: { method: 'manual' as const, data: 'test vector', created: '2026-11-29' } });
  const bundle: Bundle = {
    format: 'imprint.bundle', version: 1, name: TINY_BUNDLE, description: 'test', model: modelFingerprint('tiny', spec), hookPoint: 'blocks.1.post', layer: 1,
    features: [feature('direct', 'direct answers'), feature('casual', 'casual tone'), feature('warm', 'warm acknowledgement')],
  };
  const vectors = new Map([
    ['direct', Float32Array.from({ length: d }, (_, i) => Math.cos(i))],
    ['casual', Float32Array.from({ length: d }, (_, i) => Math.sin(1.3 * i))],
    ['warm', Float32Array.from({ length: d }, (_, i) => (i % 3 === 0 ? 1 : -0.5))],
  ]);
  mkdirSync(join(modelDir, 'bundles'));
  saveBundle(join(modelDir, 'bundles'), bundle, vectors);
  return modelDir;
}
