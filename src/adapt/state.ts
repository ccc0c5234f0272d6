import type { SparseAutoencoder } from '../features/sae/index.js';
import type { CausalLm } from '../model/causalLm.js';
import type { HookPointName } from '../model/hooks.js';
import { Tensor } from '../tensor/index.js';
import type { AdapterParts, ResidualSiteAdapter } from './build.js';
import type { AdapterSetConfig } from './config.js';
import { FeatureGain } from './featureGain.js';
import { type FeatureEncoder, type FeatureGeometry, featureSpaceFromDirections } from './featureSpace.js';
import { LinearAdapter, type LinearAdapterKind } from './linearAdapter.js';
import { RepresentationEdit } from './representationEdit.js';
import { linearSites } from './sites.js';

// An adapter set as plain data: a JSON-able config and named float32 tensors,
// for the adapter store to write. Fixed matrices (U, E', the projection bases)
// are saved with the trained ones, so a loaded set computes exactly what was
// saved even if the bundle file changes later; only a feature gain over SAE
// features needs its SAE again (TopK picks among all of the SAE's latents).

export const ADAPTER_STATE_FORMAT = 'imprint.adapters';
export const ADAPTER_STATE_VERSION = 1;

export interface TensorEntry { name: string; shape: number[] }

export interface LinearAdapterState {
  name: string;
  kind: LinearAdapterKind;
  role: 'main' | 'residual';
  module: string;
  scaling: number;
  dropout: number;
  seed: number;
  factors: Array<TensorEntry & { factor: string; trainable: boolean }>;
  projection: (TensorEntry & { side: 'in' | 'out'; rank: number }) | null;
}

export type EncoderState = { kind: 'sae'; sae: string; index: number } | { kind: 'projection' };

export interface ResidualSiteState {
  name: string;
  kind: 'reft' | 'gain';
  point: HookPointName;
  ids: string[];
  projectGradients: boolean;
  tensors: Array<TensorEntry & { role: string }>;
  /** Feature gain only. */
  encoders?: EncoderState[];
}

export interface AdapterStateConfig {
  format: typeof ADAPTER_STATE_FORMAT;
  version: typeof ADAPTER_STATE_VERSION;
  model: { modelType: string; hiddenSize: number; layers: number };
  /** The configuration the set was built from. */
  spec: AdapterSetConfig;
  /** The bundle's geometry; its directions are the tensor "features.directions". */
  features: { name: string; hookPoint: HookPointName; width: number; ids: string[] } | null;
  linear: LinearAdapterState[];
  residualSites: ResidualSiteState[];
}

export interface AdapterSetState {
  config: AdapterStateConfig;
  tensors: Map<string, Float32Array>;
}

const FEATURE_DIRECTIONS = 'features.directions';

export function encodeState(model: CausalLm, spec: AdapterSetConfig, features: FeatureGeometry | null, parts: AdapterParts): AdapterSetState {
  const tensors = new Map<string, Float32Array>();
  const put = (name: string, values: ArrayLike<number>, shape: readonly number[]): TensorEntry => {
    if (tensors.has(name)) throw new Error(`toState: tensor name ${name} is used twice`);
    tensors.set(name, Float32Array.from(values));
    return { name, shape: [...shape] };
  };
  if (features !== null) put(FEATURE_DIRECTIONS, features.directions, [features.ids.length, features.width]);
  const linear = parts.linear.map((a): LinearAdapterState => ({
    name: a.name, kind: a.kind, role: a.role, module: a.site.name, scaling: a.scaling, dropout: a.dropout, seed: a.seed,
    factors: a.factors.map((f) => ({ ...put(`${a.name}.${f.name}`, f.tensor.toArray(), f.tensor.shape), factor: f.name, trainable: f.trainable })),
    projection: a.projection === null ? null : {
      ...put(`${a.name}.projection`, a.projection.q, [a.projection.q.length / a.projection.rank, a.projection.rank]),
      side: a.projection.side, rank: a.projection.rank,
    },
  }));
  const residualSites = parts.residualSites.map((a): ResidualSiteState => ({
    name: a.name, kind: a.kind, point: a.point, ids: [...a.ids],
    projectGradients: a.kind === 'reft' ? a.projectGradientsOn : false,
    tensors: a.tensors().map((t) => ({ ...put(`${a.name}.${t.name}`, t.tensor.toArray(), t.tensor.shape), role: t.name })),
    ...(a.kind === 'gain' ? { encoders: a.encoders.map((e): EncoderState => e.kind === 'sae' ? { kind: 'sae', sae: e.saeName, index: e.index } : { kind: 'projection' }) } : {}),
  }));
  return {
    config: {
      format: ADAPTER_STATE_FORMAT, version: ADAPTER_STATE_VERSION,
      model: { modelType: model.spec.modelType, hiddenSize: model.spec.hiddenSize, layers: model.spec.layers },
      spec: JSON.parse(JSON.stringify(spec)) as AdapterSetConfig,
      features: features === null ? null : { name: features.name, hookPoint: features.hookPoint, width: features.width, ids: [...features.ids] },
      linear, residualSites,
    },
    tensors,
  };
}

export interface DecodeOptions {
  /** Loads an SAE by the name a feature gain recorded. */
  sae?: (name: string) => SparseAutoencoder;
}

export function decodeState(model: CausalLm, state: AdapterSetState, options: DecodeOptions = {}): { spec: AdapterSetConfig; features: FeatureGeometry | null; parts: AdapterParts } {
  const { config, tensors } = state;
  const fail = (detail: string): never => { throw new RangeError(`adapter state: ${detail}`); };
  if (config?.format !== ADAPTER_STATE_FORMAT) fail(`format is ${JSON.stringify(config?.format)}, expected "${ADAPTER_STATE_FORMAT}"`);
  if (config.version !== ADAPTER_STATE_VERSION) fail(`version ${String(config.version)} is not supported (this build reads version ${ADAPTER_STATE_VERSION})`);
  const { spec } = model;
  const want = config.model;
  if (want.modelType !== spec.modelType || want.hiddenSize !== spec.hiddenSize || want.layers !== spec.layers) {
    fail(`it was made for a ${want.modelType} model with hidden size ${want.hiddenSize} and ${want.layers} layers; this is a ${spec.modelType} model with hidden size ${spec.hiddenSize} and ${spec.layers} layers`);
  }
  const take = (entry: TensorEntry): Tensor => {
    const values = tensors.get(entry.name);
    if (values === undefined) fail(`tensor ${entry.name} is missing (it has ${tensors.size} tensors)`);
    const size = entry.shape.reduce((a, b) => a * b, 1);
    if (values!.length !== size) fail(`tensor ${entry.name} has ${values!.length} values, its shape [${entry.shape.join(', ')}] needs ${size}`);
    return Tensor.fromArray(values!, entry.shape);
  };
  let features: FeatureGeometry | null = null;
  if (config.features !== null) {
    const f = config.features;
    const directions = take({ name: FEATURE_DIRECTIONS, shape: [f.ids.length, f.width] });
    features = featureSpaceFromDirections({ name: f.name, hookPoint: f.hookPoint, width: f.width, ids: f.ids, directions: Float32Array.from(directions.data) });
  }
  const sites = new Map(linearSites(model).map((s) => [s.name, s]));
  const linear = config.linear.map((a) => {
    const site = sites.get(a.module);
    if (site === undefined) fail(`adapter ${a.name} is on ${a.module}, which this model does not have`);
    return new LinearAdapter({
      name: a.name, kind: a.kind, role: a.role, site: site!, scaling: a.scaling, dropout: a.dropout, seed: a.seed,
      factors: a.factors.map((f) => ({ name: f.factor, tensor: take(f), trainable: f.trainable })),
      projection: a.projection === null ? null : { side: a.projection.side, rank: a.projection.rank, q: Float64Array.from(tensors.get(a.projection.name) ?? fail(`tensor ${a.projection.name} is missing`)) },
    });
  });
  const residualSites = config.residualSites.map((a): ResidualSiteAdapter => {
    const byRole = new Map(a.tensors.map((t) => [t.role, take(t)]));
    const get = (role: string) => byRole.get(role) ?? fail(`adapter ${a.name} has no tensor ${role}`);
    if (a.kind === 'reft') return new RepresentationEdit(a.name, a.point, a.ids, get('U'), get('D'), get('b'), a.projectGradients);
    const encoders = (a.encoders ?? fail(`feature gain ${a.name} has no encoders`)).map((e): FeatureEncoder => {
      if (e.kind === 'projection') return e;
      if (options.sae === undefined) fail(`feature gain ${a.name} reads latents of SAE "${e.sae}": pass an SAE loader (options.sae)`);
      const sae = options.sae!(e.sae);
      if (!(e.index >= 0 && e.index < sae.dSae)) fail(`feature gain ${a.name} reads latent ${e.index} of SAE "${e.sae}", which has ${sae.dSae}`);
      return { kind: 'sae', saeName: e.sae, sae, index: e.index };
    });
    return new FeatureGain(a.name, a.point, a.ids, encoders, get('directions'), get('W'), get('g'), get('beta'));
  });
  return { spec: config.spec, features, parts: { linear, residualSites } };
}
