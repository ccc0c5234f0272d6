import type { TensorSource } from '../io/checkpointWeights.js';
import { transpose2d } from './load.js';
import type { CausalLm } from './causalLm.js';
import { parameterSpecs } from './weightLayout.js';

// An in-memory model seen as a checkpoint: HF names and on-disk orientation, so
// exporters (GGUF, PEFT later) take a loaded model and a directory on disk alike.

export function modelTensorSource(model: CausalLm): TensorSource {
  const specs = new Map(parameterSpecs(model.spec).map((p) => [p.name, p]));
  const lookup = (name: string) => {
    const p = specs.get(name);
    if (p === undefined) throw new RangeError(`modelTensorSource: no tensor named ${name}`);
    return p;
  };
  return {
    names: [...specs.keys()],
    has: (name) => specs.has(name),
    shape: (name) => {
      const p = lookup(name);
      return p.storedTransposed ? [p.shape[1], p.shape[0]] : [...p.shape];
    },
    dtype: () => 'F32',
    read: (name) => {
      const p = lookup(name);
      const data = model.params.get(name)!.data as Float32Array;
      return p.storedTransposed ? transpose2d(data, p.shape[0], p.shape[1]) : Float32Array.from(data);
    },
    close: () => undefined,
  };
}
