import type { LoraOptions } from './lora.js';
import type { ReadConstrainedOptions } from './readConstrained.js';
import type { TargetSpec } from './targets.js';
import type { WriteConstrainedOptions } from './writeConstrained.js';

// An adapter set's configuration: plain JSON data, like PEFT's adapter_config.
// One entry per kind and target; the set expands each over the layers its
// target selects. `projectGradients` is accepted on every kind; what it projects
// is documented per kind (a no-op where the kind is constrained already).

export interface ResidualAdapterSpec {
  /** 1 or 2: a small unconstrained LoRA, to measure what the constraint costs. */
  rank: number;
  alpha?: number;
  rsLora?: boolean;
  dropout?: number;
  /** Where it goes. Default for write/read: the same layers; required for reft/gain. */
  target?: TargetSpec;
}

interface Common {
  /** Project each update onto the bundle's subspace (see each kind). */
  projectGradients?: boolean;
  residual?: ResidualAdapterSpec;
}

export interface LoraSpec extends LoraOptions { kind: 'lora'; target: TargetSpec; projectGradients?: boolean }
export interface WriteConstrainedSpec extends WriteConstrainedOptions, Common { kind: 'write'; target: TargetSpec }
export interface ReadConstrainedSpec extends ReadConstrainedOptions, Common { kind: 'read'; target: TargetSpec }
export interface RepresentationEditSpec extends Common { kind: 'reft' }
export interface FeatureGainSpec extends Common { kind: 'gain' }

export type AdapterSpec = LoraSpec | WriteConstrainedSpec | ReadConstrainedSpec | RepresentationEditSpec | FeatureGainSpec;
export type AdapterKind = AdapterSpec['kind'];
export const ADAPTER_KINDS: readonly AdapterKind[] = ['lora', 'write', 'read', 'reft', 'gain'];

export interface AdapterSetConfig {
  /** Seeds every initialisation and dropout mask (default 0). */
  seed?: number;
  adapters: AdapterSpec[];
}

/** Checks a config (e.g. parsed JSON), naming the first wrong field; returns it unchanged. */
export function validateAdapterSetConfig(config: unknown): AdapterSetConfig {
  const fail = (where: string, detail: string): never => { throw new RangeError(`adapter config: ${where}: ${detail}`); };
  if (typeof config !== 'object' || config === null) fail('config', 'must be an object with an "adapters" list');
  const c = config as Record<string, unknown>;
  if (c.seed !== undefined && !Number.isSafeInteger(c.seed)) fail('seed', `must be an integer, got ${JSON.stringify(c.seed)}`);
  if (!Array.isArray(c.adapters) || c.adapters.length === 0) fail('adapters', 'must be a non-empty list');
  (c.adapters as unknown[]).forEach((entry, i) => {
    const where = `adapters[${i}]`;
    if (typeof entry !== 'object' || entry === null) fail(where, 'must be an object');
    const a = entry as Record<string, unknown>;
    if (!ADAPTER_KINDS.includes(a.kind as AdapterKind)) fail(`${where}.kind`, `must be one of ${ADAPTER_KINDS.join(', ')}, got ${JSON.stringify(a.kind)}`);
    const positiveInteger = (field: string, max = Infinity) => {
      const v = a[field];
      if (!Number.isSafeInteger(v) || (v as number) < 1 || (v as number) > max) fail(`${where}.${field}`, `must be an integer in [1, ${max}], got ${JSON.stringify(v)}`);
    };
    const scaling = (obj: Record<string, unknown>, at: string) => {
      if (obj.alpha !== undefined && !(typeof obj.alpha === 'number' && Number.isFinite(obj.alpha) && obj.alpha > 0)) fail(`${at}.alpha`, `must be a positive number, got ${JSON.stringify(obj.alpha)}`);
      if (obj.rsLora !== undefined && typeof obj.rsLora !== 'boolean') fail(`${at}.rsLora`, 'must be true or false');
      if (obj.dropout !== undefined && !(typeof obj.dropout === 'number' && obj.dropout >= 0 && obj.dropout < 1)) fail(`${at}.dropout`, `must be in [0, 1), got ${JSON.stringify(obj.dropout)}`);
    };
    if (a.projectGradients !== undefined && typeof a.projectGradients !== 'boolean') fail(`${where}.projectGradients`, 'must be true or false');
    if (a.kind === 'lora' || a.kind === 'write') positiveInteger('rank');
    if (a.kind === 'lora' || a.kind === 'write' || a.kind === 'read') {
      if (typeof a.target !== 'object' || a.target === null) fail(`${where}.target`, 'must be { modules: [...] | "regex" | "all-linear", layers?: [...] }');
      scaling(a, where);
    } else if (a.target !== undefined) {
      fail(`${where}.target`, `a '${String(a.kind)}' adapter sits at the bundle's hook point, not on linear layers`);
    }
    if (a.kind === 'read' && a.read !== undefined && !['basis', 'features', 'encoder'].includes(a.read as string)) fail(`${where}.read`, `must be 'basis', 'features' or 'encoder', got ${JSON.stringify(a.read)}`);
    if (a.residual !== undefined) {
      if (a.kind === 'lora') fail(`${where}.residual`, 'a plain LoRA is unconstrained already; the residual adapter goes beside an FC kind');
      const r = a.residual as Record<string, unknown>;
      if (typeof r !== 'object' || r === null) fail(`${where}.residual`, 'must be an object { rank: 1 | 2, ... }');
      if (r.rank !== 1 && r.rank !== 2) fail(`${where}.residual.rank`, `must be 1 or 2 (a small unconstrained adapter), got ${JSON.stringify(r.rank)}`);
      scaling(r, `${where}.residual`);
      if ((a.kind === 'reft' || a.kind === 'gain') && (typeof r.target !== 'object' || r.target === null)) {
        fail(`${where}.residual.target`, `a '${String(a.kind)}' adapter has no linear layers of its own, so its residual adapter needs a target`);
      }
    }
  });
  return config as AdapterSetConfig;
}
