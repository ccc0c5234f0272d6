import type { CausalLm } from '../model/causalLm.js';
import { type AdapterSetConfig, type AdapterSpec, type ResidualAdapterSpec, validateAdapterSetConfig } from './config.js';
import { type FeatureGain, createFeatureGain } from './featureGain.js';
import type { FeatureSpace } from './featureSpace.js';
import type { LinearAdapter } from './linearAdapter.js';
import { createLora, loraProjection } from './lora.js';
import { seedFor } from './matrices.js';
import { createReadConstrained } from './readConstrained.js';
import { type RepresentationEdit, createRepresentationEdit } from './representationEdit.js';
import { type LinearSite, linearSites } from './sites.js';
import { selectTargets } from './targets.js';
import { createWriteConstrained } from './writeConstrained.js';

// Turns a configuration into adapters: each entry's target is expanded over the
// model's linear layers, each adapter gets a name and a seed derived from it.

export type ResidualSiteAdapter = RepresentationEdit | FeatureGain;

export interface AdapterParts {
  linear: LinearAdapter[];
  residualSites: ResidualSiteAdapter[];
}

const KIND_TAG = { lora: 'lora', write: 'fc_write', read: 'fc_read' } as const;

export function buildAdapters(model: CausalLm, config: AdapterSetConfig, features: FeatureSpace | null): AdapterParts {
  validateAdapterSetConfig(config);
  const layers = model.spec.layers;
  const sites = linearSites(model);
  const seed = config.seed ?? 0;
  const linear: LinearAdapter[] = [];
  const residualSites: ResidualSiteAdapter[] = [];
  const names = new Set<string>();
  const claim = (name: string, spec: AdapterSpec) => {
    if (names.has(name)) throw new RangeError(`adapter config: ${name} is created twice (a second '${spec.kind}' entry targets the same place); merge the entries`);
    names.add(name);
    return name;
  };
  const needFeatures = (spec: AdapterSpec): FeatureSpace => {
    if (features === null) throw new RangeError(`adapter config: a '${spec.kind}' adapter${spec.kind === 'lora' ? ' with projectGradients' : ''} needs a bundle's features; build the set with a FeatureSpace (featureSpaceFromBundle)`);
    if (features.width !== model.spec.hiddenSize) throw new RangeError(`bundle "${features.name}" has directions of width ${features.width}, the model's hidden size is ${model.spec.hiddenSize}`);
    return features;
  };
  const addResidual = (spec: AdapterSpec, residual: ResidualAdapterSpec, defaultSites: LinearSite[] | null) => {
    const targets = residual.target !== undefined ? selectTargets(sites, residual.target, layers) : defaultSites!;
    for (const site of targets) {
      const name = claim(`${site.name}.residual`, spec);
      linear.push(createLora(site, residual, { name, seed: seedFor(seed, name), role: 'residual' }));
    }
  };

  for (const spec of config.adapters) {
    switch (spec.kind) {
      case 'lora': {
        const space = spec.projectGradients === true ? needFeatures(spec) : null;
        for (const site of selectTargets(sites, spec.target, layers)) {
          const name = claim(`${site.name}.${KIND_TAG.lora}`, spec);
          const projection = space === null ? null : loraProjection(site, space, layers);
          linear.push(createLora(site, spec, { name, seed: seedFor(seed, name), role: 'main' }, projection));
        }
        break;
      }
      case 'write': case 'read': {
        const space = needFeatures(spec);
        const targets = selectTargets(sites, spec.target, layers);
        for (const site of targets) {
          const name = claim(`${site.name}.${KIND_TAG[spec.kind]}`, spec);
          const context = { name, seed: seedFor(seed, name), role: 'main' as const };
          linear.push(spec.kind === 'write'
            ? createWriteConstrained(site, space, layers, spec, context)
            : createReadConstrained(site, space, layers, spec, context));
        }
        if (spec.residual !== undefined) addResidual(spec, spec.residual, targets);
        break;
      }
      case 'reft': case 'gain': {
        const space = needFeatures(spec);
        const name = claim(`${space.hookPoint}.${spec.kind}`, spec);
        residualSites.push(spec.kind === 'reft'
          ? createRepresentationEdit(space, layers, name, spec.projectGradients === true)
          : createFeatureGain(space, layers, name));
        if (spec.residual !== undefined) addResidual(spec, spec.residual, null);
        break;
      }
    }
  }
  return { linear, residualSites };
}
