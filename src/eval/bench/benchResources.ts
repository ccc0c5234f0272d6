import { join } from 'node:path';
import { loadBundle } from '../../features/bundles/index.js';
import type { TextTokenizer } from '../../io/tokenizer.js';
import { type ChatEncoding, type QualityDetector, loadBundleFeatureSpace, loadOrBuildQualityDetector, worldChatEncoding } from '../../learn/index.js';
import type { FeatureSpace } from '../../adapt/index.js';
import type { CausalLm } from '../../model/causalLm.js';
import { type FlopCounter, processFlopCounter } from '../../tensor/index.js';
import { loadModel } from '../../model/load.js';
import type { BenchMethod } from './methods/method.js';
import { methodsNamed } from './methods/registry.js';

// What a benchmark process needs before it can run a cell: the model, its chat
// encoding, the two domains' feature spaces, and the chosen methods. Loaded the
// same way by the suite's own process and by each worker process (--jobs), so a
// cell's numbers do not depend on which process ran it.

export interface BenchBundles {
  /** Path of the home domain's bundle (assistant-style). */
  home: string;
  /** Path of the coding domain's bundle (coding-roles). */
  coding: string;
}

export interface BenchResources {
  model: CausalLm;
  tokenizer: TextTokenizer;
  encoding: ChatEncoding;
  spaces: { home: FeatureSpace; coding: FeatureSpace };
  methods: BenchMethod[];
  /** Counts what every kernel of this process computes; cells read it around each update. */
  flops: FlopCounter;
}

export function loadBenchResources(modelDir: string, bundles: BenchBundles, methodNames: readonly string[]): BenchResources {
  // Installed before the model loads, so every product the methods run is counted.
  const flops = processFlopCounter();
  const loaded = loadModel(modelDir);
  if (loaded.tokenizer === null) throw new RangeError(`${modelDir} has no tokenizer.json, which the benchmark's agents need`);
  const { model, tokenizer } = loaded;
  const spaces = { home: loadBundleFeatureSpace(bundles.home, model), coding: loadBundleFeatureSpace(bundles.coding, model) };
  const steeringScales = new Map<string, number>();
  for (const path of [bundles.home, bundles.coding]) {
    for (const f of loadBundle(path).bundle.features) if (f.steering !== undefined) steeringScales.set(f.id, f.steering.scale);
  }
  const methods = methodsNamed({ loadModelCopy: () => loadModel(modelDir).model, steeringScales }, methodNames);
  return { model, tokenizer, encoding: worldChatEncoding(tokenizer), spaces, methods, flops };
}

/**
 * The learner's garbage detectors of both domains, cached in the run's folder:
 * built by the suite's process before any cell runs, then only read (workers
 * find them there), so every process gates with the same detector.
 */
export function benchQualityDetectors(outDir: string, resources: BenchResources): { home: QualityDetector; coding: QualityDetector } {
  const { model, tokenizer, spaces } = resources;
  return {
    home: loadOrBuildQualityDetector(join(outDir, 'quality-home.json'), model, tokenizer, spaces.home.hookPoint),
    coding: loadOrBuildQualityDetector(join(outDir, 'quality-coding.json'), model, tokenizer, spaces.coding.hookPoint),
  };
}
