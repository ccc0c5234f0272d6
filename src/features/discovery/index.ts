// Finding directions and features worth adapting along.
export { differenceOfMeans, firstPrincipalComponent, type ContrastiveDirection, type PrincipalComponentDirection, type PrincipalComponentOptions } from './contrastive.js';
export { projectionDiagnostics, type ProjectionDiagnostics } from './projectionDiagnostics.js';
export { meanActivations, type MeanActivationOptions } from './meanActivations.js';
export { rankFeaturesByDifference, type FeatureDifference, type DifferenceRankingOptions, type LatentEncoder } from './differentialRanking.js';
export { FiringCounts } from './firingCounts.js';
export { tfidfFeatures, type TfidfFeature, type TfidfOptions } from './tfidf.js';
