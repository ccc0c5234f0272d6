import type { Bundle, BundleFeature, Provenance } from './bundle.js';

// Short plain-text phrases about a bundle and its features, shared by the
// terminal listing and the HTML page so both say the same thing.

export function describeModel(bundle: Bundle): string {
  const m = bundle.model;
  return `${m.name} (${m.modelType}, hidden ${m.hiddenSize}, ${m.layers} layers)`;
}

export function describeSource(feature: BundleFeature): string {
  return feature.kind === 'vector' ? `vector "${feature.tensor}"` : `SAE ${feature.sae} latent ${feature.index}`;
}

export function describeAxis(feature: BundleFeature): string | null {
  if (feature.axis === undefined) return null;
  return feature.side === undefined ? `axis ${feature.axis}` : `axis ${feature.axis}, side ${feature.side}`;
}

export function describeProvenance(p: Provenance): string {
  const counts = p.counts === undefined ? '' : ` [${Object.entries(p.counts).map(([k, n]) => `${k} ${n}`).join(', ')}]`;
  return `${p.method}, ${p.created}: ${p.data}${counts}`;
}

export function describeSteering(feature: BundleFeature): string | null {
  const s = feature.steering;
  if (s === undefined) return null;
  const error = s.standardError === undefined ? '' : ` ± ${formatNumber(s.standardError)}`;
  const z = s.z === undefined ? '' : ` (z ${s.z.toFixed(2)})`;
  return `scale ${formatNumber(s.scale)} moves judge "${s.judge}" by ${s.margin >= 0 ? '+' : ''}${formatNumber(s.margin)}${error}${z}`;
}

export function formatNumber(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(3);
}
