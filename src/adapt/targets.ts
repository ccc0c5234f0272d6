import type { LinearSite } from './sites.js';

// Which linear layers an adapter goes on, chosen as PEFT's LoraConfig chooses:
// - `modules` as a list: a layer matches an entry when its name equals the entry
//   or ends with "." + entry ("o_proj", "mlp.down_proj", a full name);
// - `modules` as a single string: a regular expression that must match the whole
//   name (PEFT's re.fullmatch), or "all-linear" for every linear layer of the
//   blocks (the head is never a target);
// - `layers`: only these block indices (PEFT's layers_to_transform).
// Stricter than PEFT in one way: every list entry must match some layer, so a
// typo ("oproj") fails instead of silently adapting fewer layers.

export interface TargetSpec {
  modules: readonly string[] | string;
  layers?: readonly number[];
}

export function describeTargets(target: TargetSpec): string {
  const modules = typeof target.modules === 'string' ? `/${target.modules}/` : `[${target.modules.join(', ')}]`;
  return target.layers === undefined ? modules : `${modules} in layers [${target.layers.join(', ')}]`;
}

export function selectTargets(sites: readonly LinearSite[], target: TargetSpec, layerCount: number): LinearSite[] {
  const { modules, layers } = target;
  if (layers !== undefined) {
    if (!Array.isArray(layers) || layers.length === 0) throw new RangeError(`target layers must be a non-empty list of layer indices, got ${JSON.stringify(layers)}`);
    for (const l of layers) {
      if (!Number.isInteger(l) || l < 0 || l >= layerCount) throw new RangeError(`target layer ${l} does not exist; the model has layers 0..${layerCount - 1}`);
    }
  }
  const inLayers = layers === undefined ? sites : sites.filter((s) => layers.includes(s.layer));
  const where = layers === undefined ? '' : ` in layers [${layers.join(', ')}]`;
  let chosen: LinearSite[];
  if (typeof modules === 'string') {
    if (modules === 'all-linear') {
      chosen = [...inLayers];
    } else {
      let pattern: RegExp;
      try {
        pattern = new RegExp(`^(?:${modules})$`);
      } catch (error) {
        throw new RangeError(`target modules "${modules}" is not a valid regular expression: ${(error as Error).message}`);
      }
      chosen = inLayers.filter((s) => pattern.test(s.name));
      if (chosen.length === 0) throw new RangeError(`target modules /${modules}/ matches no linear layer${where}; ${available(sites)}`);
    }
  } else {
    if (!Array.isArray(modules) || modules.length === 0) throw new RangeError(`target modules must be a non-empty list of module names or a regular expression string, got ${JSON.stringify(modules)}`);
    for (const entry of modules) {
      if (typeof entry !== 'string' || entry.length === 0) throw new RangeError(`target module entries must be non-empty strings, got ${JSON.stringify(entry)}`);
      if (!inLayers.some((s) => matchesSuffix(s.name, entry))) {
        throw new RangeError(`target module "${entry}" matches no linear layer${where}; ${available(sites)}`);
      }
    }
    chosen = inLayers.filter((s) => modules.some((entry) => matchesSuffix(s.name, entry)));
  }
  if (chosen.length === 0) throw new RangeError(`targets ${describeTargets(target)} select no linear layer; ${available(sites)}`);
  return chosen;
}

function matchesSuffix(name: string, entry: string): boolean {
  return name === entry || name.endsWith(`.${entry}`);
}

/** "the linear layers are q_proj, k_proj, ... (full names like model.layers.0.self_attn.q_proj)". */
function available(sites: readonly LinearSite[]): string {
  const shortNames = [...new Set(sites.map((s) => s.name.split('.').slice(-2).join('.')))];
  return `the model's linear layers are ${shortNames.join(', ')} in layers 0..${Math.max(...sites.map((s) => s.layer))} (full names like ${sites[0]?.name ?? 'none'})`;
}
