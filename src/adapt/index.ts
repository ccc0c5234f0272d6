// Adapters: LoRA and the feature-constrained kinds, grouped in adapter sets that
// many users can hold on one loaded base model.
export { AdapterSet, type Materialised, type NotMaterialised } from './adapterSet.js';
export {
  ADAPTER_KINDS, validateAdapterSetConfig,
  type AdapterKind, type AdapterSetConfig, type AdapterSpec, type FeatureGainSpec, type LoraSpec, type ReadConstrainedSpec,
  type RepresentationEditSpec, type ResidualAdapterSpec, type WriteConstrainedSpec,
} from './config.js';
export { buildAdapters, type AdapterParts, type ResidualSiteAdapter } from './build.js';
export { DEFAULT_RANK, defaultAdapterConfig, kindDescription, type AdapterChoice } from './defaultConfig.js';
export {
  featureSpaceFromBundle, featureSpaceFromDirections, featureSubspace,
  type DirectionsInput, type FeatureEncoder, type FeatureGeometry, type FeatureSpace, type FeatureSpaceOptions,
} from './featureSpace.js';
export { featureActivations } from './featureActivations.js';
export { FeatureGain, createFeatureGain } from './featureGain.js';
export { LinearAdapter, type Factor, type LinearAdapterKind, type Projection } from './linearAdapter.js';
export { createLora, loraProjection, scalingFor, type LoraOptions, type LowRankOptions } from './lora.js';
export { materialiseLinear, type MaterialisedLayer } from './materialise.js';
export { type MergeRecord } from './merge.js';
export { normReport, type AdapterNorm, type AdapterNormReport } from './normReport.js';
export { createReadConstrained, readDirections, type ReadConstrainedOptions, type ReadDirections } from './readConstrained.js';
export { RepresentationEdit, createRepresentationEdit } from './representationEdit.js';
export { linearSites, streamPosition, type InputNorm, type LinearRole, type LinearSite } from './sites.js';
export { AdapterSpaceError, featureProbe, layersWritingBefore, mapReadDirections, readMap, writeBasis, type ReadMap } from './spaces.js';
export {
  ADAPTER_STATE_FORMAT, ADAPTER_STATE_VERSION,
  type AdapterSetState, type AdapterStateConfig, type DecodeOptions, type LinearAdapterState, type ResidualSiteState,
} from './state.js';
export { describeTargets, selectTargets, type TargetSpec } from './targets.js';
export { createWriteConstrained, type WriteConstrainedOptions } from './writeConstrained.js';
export * from './store/index.js';
export * from './export/index.js';
