// Activation datasets: residual-stream rows of a corpus, stored in shards.
export { buildActivationDataset, type BuildActivationDatasetOptions } from './buildDataset.js';
export { ActivationDataset, type ShardRowInfo, type TokenWindow } from './dataset.js';
export { type ActivationManifest, type ActivationShardEntry, type ActivationModelInfo, readManifest, shardFileName, MANIFEST_FILE } from './manifest.js';
export { captureResidualRows } from './captureRows.js';
