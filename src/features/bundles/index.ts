// Bundles: named sets of features at one hook point, with labels and provenance.
export {
  BUNDLE_FORMAT, BUNDLE_VERSION, PROVENANCE_METHODS, BUNDLE_NAME_PATTERN, FEATURE_ID_PATTERN,
  bundleJsonPath, bundleVectorsFileName, checkBundleFitsModel, findFeature, modelFingerprint,
  type Bundle, type BundleFeature, type ModelFingerprint, type PromotedToken, type Provenance, type ProvenanceMethod,
  type SaeFeature, type SteeringValidation, type TopContext, type VectorFeature,
} from './bundle.js';
export { BundleFormatError, validateBundle } from './validate.js';
export { loadBundle, saveBundle, type LoadedBundle, type SavedBundle } from './store.js';
export { bundleDirections, directionRow, featureDirection, type DirectionMatrix, type SaeDirectionResolver } from './directions.js';
export { basisColumn, orthonormalBasis, type DroppedDirection, type OrthonormalBasis, type OrthonormalBasisOptions } from './orthonormalBasis.js';
export { renderBundleText, terminalSafe, type RenderTextOptions } from './renderText.js';
export { escapeHtml, renderBundleHtml } from './renderHtml.js';
export { DEFAULT_MIN_Z, escapeMarkdownCell, renderBundleCard, type RenderCardOptions } from './renderCard.js';
