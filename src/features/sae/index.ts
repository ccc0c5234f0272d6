// Sparse autoencoders: the model of one SAE, its training (TopK), its metrics,
// and the SAELens and Gemma Scope file formats.
export { type SaeArchitecture, type SaeConfig, type SaeNormalization, residualHookPoint, saeArchitectures, validateSaeConfig } from './config.js';
export { SparseAutoencoder, normalizeRowsInPlace, type ResolvedSaeConfig, type SaeForward, type SaeWeights } from './sparseAutoencoder.js';
export { jumpRelu, relu } from './activationOps.js';
export { type ActivationData, activationBatcher } from './activationBatches.js';
export { auxKLoss, defaultAuxK } from './auxK.js';
export { DeadLatentTracker } from './deadLatents.js';
export { geometricMedian, rowMean, sumOfDistances, type GeometricMedianOptions } from './geometricMedian.js';
export { saeLearningRate, type SaeLrSchedule } from './schedule.js';
export { removeParallelGradient, trainTopKSae, type TopKTrainingOptions, type TopKTrainingProgress, type TopKTrainingResult } from './trainTopK.js';
export { saeMetrics, type SaeMetrics } from './metrics.js';
export { saeSpliceHook, splicedCrossEntropy, zeroAblationHook, type SplicedCrossEntropy, type SplicedCrossEntropyOptions } from './splicedCrossEntropy.js';
export { loadSaeLens, parseSaeLensConfig, saeLensConfigJson, saveSaeLens, SAE_LENS_CONFIG_FILE, SAE_LENS_WEIGHTS_FILE, type SaeLensLoadOptions } from './saeLens.js';
export { gemmaScopeFromArchive, loadGemmaScope, type GemmaScopeOptions } from './gemmaScope.js';
