import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomicWrite.js';
import { SafetensorsFile, writeSafetensors } from '../io/safetensors.js';
import type { AdamW, Tensor } from '../tensor/index.js';

// Training state on disk, crash-safe at any moment: the weights and optimiser
// moments of step N go to files named by N, each written atomically, and only then
// does state.json (also atomic) point at them. A kill at any point leaves
// state.json naming complete files of the last finished checkpoint.

export interface TrainingState<Extra> {
  step: number;
  weightsFile: string;
  optimiserFile: string;
  extra: Extra;
}

const encoder = new TextEncoder();

export function saveCheckpoint<Extra>(dir: string, step: number, params: ReadonlyMap<string, Tensor>, optimiser: AdamW, extra: Extra): void {
  mkdirSync(dir, { recursive: true });
  const tag = String(step).padStart(7, '0');
  const weightsFile = `weights-${tag}.safetensors`;
  const optimiserFile = `optimiser-${tag}.safetensors`;
  writeSafetensors(join(dir, weightsFile), [...params].map(([name, t]) => ({ name, shape: t.shape, data: t.data as Float32Array })));
  const moments = [...params].flatMap(([name, t]) => {
    const s = optimiser.state(t);
    return [{ name: `${name}.m`, shape: t.shape, data: s.m.data as Float32Array }, { name: `${name}.v`, shape: t.shape, data: s.v.data as Float32Array }];
  });
  writeSafetensors(join(dir, optimiserFile), moments, { step_count: String(optimiser.stepCount) });
  const state: TrainingState<Extra> = { step, weightsFile, optimiserFile, extra };
  writeFileAtomic(join(dir, 'state.json'), [encoder.encode(`${JSON.stringify(state)}\n`)]);
  // Older checkpoints are no longer referenced: remove them (after the switch, never before).
  for (const file of readdirSync(dir)) {
    if ((file.startsWith('weights-') || file.startsWith('optimiser-')) && file !== weightsFile && file !== optimiserFile) rmSync(join(dir, file), { force: true });
  }
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, 'state.json'));
}

/** Restores weights and optimiser moments in place; returns the saved state. */
export function loadCheckpoint<Extra>(dir: string, params: ReadonlyMap<string, Tensor>, optimiser: AdamW): TrainingState<Extra> {
  const statePath = join(dir, 'state.json');
  let state: TrainingState<Extra>;
  try {
    state = JSON.parse(readFileSync(statePath, 'utf8')) as TrainingState<Extra>;
  } catch (error) {
    throw new Error(`${statePath}: cannot read the checkpoint state (${(error as Error).message})`);
  }
  const weights = SafetensorsFile.open(join(dir, state.weightsFile));
  const moments = SafetensorsFile.open(join(dir, state.optimiserFile));
  try {
    for (const [name, t] of params) {
      if (!weights.has(name)) throw new Error(`${join(dir, state.weightsFile)}: missing ${name}; the checkpoint is for a different model`);
      const data = weights.readFloat32(name);
      if (data.length !== t.size) throw new Error(`${join(dir, state.weightsFile)}: ${name} has ${data.length} values, the model needs ${t.size}`);
      t.data.set(data);
      const s = optimiser.state(t);
      s.m.data.set(moments.readFloat32(`${name}.m`));
      s.v.data.set(moments.readFloat32(`${name}.v`));
    }
    optimiser.stepCount = Number(moments.metadata.step_count ?? state.step);
  } finally {
    weights.close();
    moments.close();
  }
  return state;
}
