// Steering: adding a bundle's feature directions to the residual stream, in
// process (hooks) or in llama.cpp (control vectors).
export { parseSteerSpec, parseSteerSpecs, type SteerSpec } from './steerSpec.js';
export { steeringVectorFor, type FeatureScale } from './steeringVector.js';
export { steeringHooksFor, type SteeringHookOptions } from './steeringHooks.js';
export {
  CONTROL_VECTOR_ARCHITECTURE, bundleToControlVector, controlVectorLayerFor, exportControlVectorGguf,
  type ControlVectorExport, type ExportedControlVector,
} from './controlVector.js';
