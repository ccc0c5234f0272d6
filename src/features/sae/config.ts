// One plain-data config per SAE, in the spirit of SAELens: what the SAE computes
// (architecture, sizes, k) and where in which model it reads (hook, model).

export type SaeArchitecture = 'topk' | 'jumprelu' | 'relu';

/**
 * How the input is rescaled before encoding (and the reconstruction scaled back):
 * - 'none';
 * - 'constant_norm_rescale': each row scaled to norm sqrt(dIn) (SAELens);
 * - 'layer_norm': each row centred and divided by its (unbiased) standard deviation + 1e-5 (SAELens).
 * SAELens' 'expected_average_only_in' uses a dataset-wide constant; the loaders fold
 * that constant into the weights, so it never reaches a config.
 */
export type SaeNormalization = 'none' | 'constant_norm_rescale' | 'layer_norm';

export interface SaeConfig {
  architecture: SaeArchitecture;
  /** Width of the activations the SAE reads (the model's hidden size at the hook). */
  dIn: number;
  /** Number of latents. */
  dSae: number;
  /** Active latents per row; required for 'topk'. */
  k?: number;
  /** Where the SAE reads, e.g. 'blocks.3.post' (SAELens names like 'blocks.3.hook_resid_post' are accepted too). */
  hookName: string;
  modelName?: string;
  normalizeActivations?: SaeNormalization;
  /**
   * Subtract b_dec from the input before encoding (default true, as in Gao et al.
   * and SAELens). Gemma Scope SAEs encode the raw input: false.
   */
  applyBDecToInput?: boolean;
}

export const saeArchitectures: readonly SaeArchitecture[] = ['topk', 'jumprelu', 'relu'];
export const saeNormalizations: readonly SaeNormalization[] = ['none', 'constant_norm_rescale', 'layer_norm'];

/** Throws a RangeError naming the first field that is wrong; returns the config with defaults filled in. */
export function validateSaeConfig(config: SaeConfig, where = 'SaeConfig'): Required<Omit<SaeConfig, 'k' | 'modelName'>> & SaeConfig {
  const fail = (detail: string): never => { throw new RangeError(`${where}: ${detail}`); };
  if (!saeArchitectures.includes(config.architecture)) {
    fail(`architecture '${String(config.architecture)}' is not supported; expected one of ${saeArchitectures.map((a) => `'${a}'`).join(', ')}`);
  }
  for (const field of ['dIn', 'dSae'] as const) {
    const v = config[field];
    if (!Number.isSafeInteger(v) || v < 1) fail(`${field} must be a positive integer, got ${String(v)}`);
  }
  if (config.architecture === 'topk') {
    if (!Number.isSafeInteger(config.k) || config.k! < 1 || config.k! > config.dSae) {
      fail(`k must be an integer in [1, dSae=${config.dSae}] for a TopK SAE, got ${String(config.k)}`);
    }
  }
  if (typeof config.hookName !== 'string' || config.hookName.length === 0) fail('hookName must be a non-empty string (e.g. "blocks.3.post")');
  const normalizeActivations = config.normalizeActivations ?? 'none';
  if (!saeNormalizations.includes(normalizeActivations)) {
    fail(`normalizeActivations '${String(normalizeActivations)}' is not supported; expected one of ${saeNormalizations.map((a) => `'${a}'`).join(', ')}`);
  }
  const applyBDecToInput = config.applyBDecToInput ?? true;
  if (typeof applyBDecToInput !== 'boolean') fail(`applyBDecToInput must be a boolean, got ${String(applyBDecToInput)}`);
  return { ...config, normalizeActivations, applyBDecToInput };
}

const saeLensResidualName = /^blocks\.(\d+)\.hook_resid_(pre|post)$/;

/**
 * Our residual hook point for an SAE's hook name: 'blocks.3.post' stays as is;
 * TransformerLens/SAELens 'blocks.3.hook_resid_post' becomes 'blocks.3.post'.
 * Other SAELens hooks (MLP outputs, attention z) have no residual-stream hook here.
 */
export function residualHookPoint(hookName: string): string {
  const match = saeLensResidualName.exec(hookName);
  if (match !== null) return `blocks.${match[1]}.${match[2]}`;
  if (/^blocks\.\d+\.(pre|post)$/.test(hookName)) return hookName;
  throw new RangeError(`SAE hook '${hookName}' is not a residual-stream hook; expected blocks.<layer>.pre|post or blocks.<layer>.hook_resid_pre|post`);
}
