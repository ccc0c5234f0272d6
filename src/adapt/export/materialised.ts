import type { AdapterSet, NotMaterialised } from '../adapterSet.js';
import type { MaterialisedLayer } from '../materialise.js';
import { linearSites } from '../sites.js';

// What every exporter starts from: the set's linear adapters as one (B, A,
// scaling) per module, and a refusal for the residual-site kinds, which no
// weight change of a linear layer expresses in general (a representation edit
// adds a bias and reads the whole stream; a feature gain multiplies a nonlinear
// SAE activation), so writing them into a LoRA file would change what the
// adapter computes.

export class AdapterExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdapterExportError';
  }
}

export interface ResidualSitePolicy {
  /**
   * 'refuse' (default): a set with a representation edit or feature gain is not
   * exported. 'omit': only its linear adapters are written, and the report lists
   * what was left out, so the exported file computes less than the set does.
   */
  residualSites?: 'refuse' | 'omit';
}

export function materialiseForExport(set: AdapterSet, format: string, policy: ResidualSitePolicy): { layers: MaterialisedLayer[]; omitted: NotMaterialised[] } {
  const { layers, notMaterialised } = set.materialise();
  const mode = policy.residualSites ?? 'refuse';
  if (mode !== 'refuse' && mode !== 'omit') throw new AdapterExportError(`${format} export: residualSites must be 'refuse' or 'omit', got ${JSON.stringify(mode)}`);
  if (notMaterialised.length > 0 && mode === 'refuse') {
    const which = notMaterialised.map((n) => `${n.name} (${n.kind}): ${n.reason}`).join('; ');
    throw new AdapterExportError(
      `${format} export: the set has adapters that are not a low-rank weight change, so ${format} cannot express them exactly (in general they are not expressible at all): ${which}. ` +
      `Export a set without them, or pass residualSites: 'omit' to write only the linear adapters (the file then computes less than the set).`,
    );
  }
  if (layers.length === 0) throw new AdapterExportError(`${format} export: the set has no linear-layer adapters, so there is nothing to write`);
  // In the model's layer order, so that the file does not depend on the order of the set's config entries.
  const order = new Map(linearSites(set.model).map((s, i) => [s.name, i]));
  layers.sort((a, b) => order.get(a.module)! - order.get(b.module)!);
  return { layers, omitted: mode === 'omit' ? notMaterialised : [] };
}
