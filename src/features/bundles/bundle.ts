import { join } from 'node:path';
import type { HookPointName } from '../../model/hooks.js';
import type { ModelSpec } from '../../model/spec.js';

// A bundle: a named set of features (directions in the residual stream at one
// hook point) that an application cares about, with where each came from. It is
// plain data in a JSON file `<name>.bundle.json`; explicit vectors live beside it
// in `<name>.bundle.safetensors`, one 1-D tensor of hidden size per vector feature.

export const BUNDLE_FORMAT = 'imprint.bundle';
export const BUNDLE_VERSION = 1;

/** How a feature's direction was found. */
export type ProvenanceMethod = 'contrastive-diff-means' | 'contrastive-pca' | 'sae-differential' | 'tfidf' | 'manual';
export const PROVENANCE_METHODS: readonly ProvenanceMethod[] = ['contrastive-diff-means', 'contrastive-pca', 'sae-differential', 'tfidf', 'manual'];

export interface Provenance {
  method: ProvenanceMethod;
  /** What the direction was computed from, in words: which examples or texts, how chosen. */
  data: string;
  /** Example counts behind it, e.g. { positive: 40, negative: 40 }. */
  counts?: Record<string, number>;
  /** ISO 8601 date or date-time. */
  created: string;
  /** The imprint command that produced it, so it can be rerun. */
  command?: string;
}

/**
 * The result of checking that steering along the feature moves a judge's score.
 * Written by `imprint bundle validate --write`: the scale is selected on one seed
 * and every figure here is from a confirmation run at that scale on fresh prompts.
 * Only scale, margin and judge are required, so older bundles still load.
 */
export interface SteeringValidation {
  scale: number;
  /** Judge score with steering minus without (positive: it moves the intended way). */
  margin: number;
  /** Which judge scored it, e.g. "formality". */
  judge: string;
  /** Share of unsteered replies the judge assigns to the feature's side, in [0, 1]. */
  baseline?: number;
  /** The same share with the feature added at `scale`. */
  steered?: number;
  /** Standard error of the margin (difference of two independent proportions). */
  standardError?: number;
  /** margin / standardError. */
  z?: number;
  /** Prompts in the confirmation run. */
  prompts?: number;
  /** Seed of the confirmation run's prompts and sampling. */
  seed?: number;
  /** The scales tried when selecting `scale`. */
  selectedFrom?: number[];
  /** Share of the confirmation's steered replies within the fluency limit (only fluent replies count for the feature). */
  fluent?: number;
  /** The fluency limit: the largest mean loss (nats/token, under the unsteered model) of a reply that counts. */
  fluencyLimit?: number;
}

export interface TopContext {
  text: string;
  activation: number;
}

export interface PromotedToken {
  token: string;
  /** Logit the decoder direction adds to the token through the unembedding. */
  logit: number;
}

interface FeatureCommon {
  /** Unique within the bundle; used by steering specs and as the stable key. */
  id: string;
  label: string;
  provenance: Provenance;
  /** A style axis the feature moves along (e.g. "formality") and which end it points to ("casual"). */
  axis?: string;
  side?: string;
  steering?: SteeringValidation;
  topContexts?: TopContext[];
  promotedTokens?: PromotedToken[];
}

/** A decoder direction of a sparse autoencoder trained at the bundle's hook point. */
export interface SaeFeature extends FeatureCommon {
  kind: 'sae';
  /** Path or registered name of the SAE. */
  sae: string;
  /** Latent index in that SAE. */
  index: number;
}

/** An explicit vector stored in the bundle's safetensors file under `tensor`. */
export interface VectorFeature extends FeatureCommon {
  kind: 'vector';
  tensor: string;
}

export type BundleFeature = SaeFeature | VectorFeature;

/** Enough of a model to refuse applying a bundle to one it was not made for. */
export interface ModelFingerprint {
  name: string;
  modelType: string;
  hiddenSize: number;
  layers: number;
}

export interface Bundle {
  format: typeof BUNDLE_FORMAT;
  version: typeof BUNDLE_VERSION;
  name: string;
  description: string;
  model: ModelFingerprint;
  hookPoint: HookPointName;
  /** The hook point's layer, repeated for readers that do not parse hook names. */
  layer: number;
  features: BundleFeature[];
  /**
   * The vectors file (beside the JSON) and the SHA-256 of its bytes, written by
   * saveBundle. The hash ties the two files together: two renames cannot be one
   * atomic step, so a save interrupted between them is detected on load.
   */
  vectors?: { file: string; sha256: string };
}

/** Bundle names become file names and the first part of a steering spec, so they stay plain. */
export const BUNDLE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Feature ids are referenced from specs ("bundle:id=scale") and command lines. */
export const FEATURE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function bundleJsonPath(dir: string, name: string): string {
  return join(dir, `${name}.bundle.json`);
}

export function bundleVectorsFileName(name: string): string {
  return `${name}.bundle.safetensors`;
}

export function modelFingerprint(name: string, spec: ModelSpec): ModelFingerprint {
  return { name, modelType: spec.modelType, hiddenSize: spec.hiddenSize, layers: spec.layers };
}

/** Throws unless the model has the bundle's hidden size, depth and type. The name is not compared: a copy or rename is the same model. */
export function checkBundleFitsModel(bundle: Bundle, spec: ModelSpec): void {
  const want = bundle.model;
  const problems: string[] = [];
  if (spec.hiddenSize !== want.hiddenSize) problems.push(`hidden size ${spec.hiddenSize} (bundle expects ${want.hiddenSize})`);
  if (spec.layers !== want.layers) problems.push(`${spec.layers} layers (bundle expects ${want.layers})`);
  if (spec.modelType !== want.modelType) problems.push(`model_type ${spec.modelType} (bundle expects ${want.modelType})`);
  if (problems.length > 0) {
    throw new RangeError(`bundle "${bundle.name}" was made for ${want.name} (${want.modelType}, hidden ${want.hiddenSize}, ${want.layers} layers), but this model has ${problems.join(', ')}`);
  }
}

/**
 * Finds a feature by id, else by label (case-insensitive). A label shared by
 * several features is ambiguous and must be given as an id.
 */
export function findFeature(bundle: Bundle, idOrLabel: string): BundleFeature {
  const byId = bundle.features.find((f) => f.id === idOrLabel);
  if (byId !== undefined) return byId;
  const wanted = idOrLabel.toLowerCase();
  const byLabel = bundle.features.filter((f) => f.label.toLowerCase() === wanted);
  if (byLabel.length === 1) return byLabel[0];
  if (byLabel.length > 1) {
    throw new RangeError(`bundle "${bundle.name}": label "${idOrLabel}" is shared by features ${byLabel.map((f) => f.id).join(', ')}; name one by id`);
  }
  const known = bundle.features.map((f) => `${f.id} ("${f.label}")`).join(', ');
  throw new RangeError(`bundle "${bundle.name}" has no feature with id or label "${idOrLabel}"; it has ${known}`);
}
