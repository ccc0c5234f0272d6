import type { Bundle, BundleFeature } from './bundle.js';
import { describeAxis, describeModel, describeProvenance, describeSource, describeSteering, formatNumber } from './describeFeature.js';

// A bundle as one standalone HTML page (no scripts, no external files), to read
// or share. Every string from the bundle goes through escapeHtml: labels and
// top contexts are model or user text and must never become markup.

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `
body { font: 15px/1.45 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h1 { margin-bottom: 0.2rem; } .meta { color: #555; margin: 0.1rem 0; }
section.feature { border: 1px solid #ddd; border-radius: 6px; padding: 0.6rem 1rem; margin: 1rem 0; }
section.feature h2 { font-size: 1.1rem; margin: 0.2rem 0; } code { background: #f4f4f4; padding: 0 0.2rem; }
.axis { display: inline-block; background: #eef3ff; border-radius: 4px; padding: 0 0.4rem; font-size: 0.9rem; }
table { border-collapse: collapse; margin: 0.3rem 0; } td { padding: 0.1rem 0.6rem 0.1rem 0; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; color: #555; } .context { white-space: pre-wrap; font-family: ui-monospace, monospace; }
.token { display: inline-block; font-family: ui-monospace, monospace; background: #f6f6f6; border-radius: 3px; padding: 0 0.3rem; margin: 0 0.2rem 0.2rem 0; white-space: pre; }
`;

export function renderBundleHtml(bundle: Bundle): string {
  const e = escapeHtml;
  const parts: string[] = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>bundle ${e(bundle.name)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>bundle ${e(bundle.name)}</h1>`,
  ];
  if (bundle.description) parts.push(`<p>${e(bundle.description)}</p>`);
  parts.push(`<p class="meta">model: ${e(describeModel(bundle))}</p>`);
  parts.push(`<p class="meta">hook point: <code>${e(bundle.hookPoint)}</code> (layer ${bundle.layer}) · ${bundle.features.length} feature${bundle.features.length === 1 ? '' : 's'}</p>`);
  bundle.features.forEach((feature, i) => parts.push(renderFeature(feature, i)));
  parts.push('</body>', '</html>', '');
  return parts.join('\n');
}

function renderFeature(feature: BundleFeature, i: number): string {
  const e = escapeHtml;
  const out: string[] = [`<section class="feature" id="feature-${e(feature.id)}">`];
  out.push(`<h2>${i + 1}. ${e(feature.label)} <code>${e(feature.id)}</code></h2>`);
  const axis = describeAxis(feature);
  if (axis !== null) out.push(`<p><span class="axis">${e(axis)}</span></p>`);
  out.push(`<p class="meta">source: ${e(describeSource(feature))}</p>`);
  out.push(`<p class="meta">provenance: ${e(describeProvenance(feature.provenance))}</p>`);
  if (feature.provenance.command !== undefined) out.push(`<p class="meta">command: <code>${e(feature.provenance.command)}</code></p>`);
  const steering = describeSteering(feature);
  if (steering !== null) out.push(`<p class="meta">steering: ${e(steering)}</p>`);
  const contexts = feature.topContexts ?? [];
  if (contexts.length > 0) {
    out.push('<h3>top contexts</h3>', '<table>');
    for (const c of contexts) out.push(`<tr><td class="num">${e(formatNumber(c.activation))}</td><td class="context">${e(c.text)}</td></tr>`);
    out.push('</table>');
  }
  const tokens = feature.promotedTokens ?? [];
  if (tokens.length > 0) {
    out.push('<h3>promoted tokens</h3>', '<p>');
    out.push(tokens.map((t) => `<span class="token" title="logit ${e(formatNumber(t.logit))}">${e(t.token)}</span>`).join(''));
    out.push('</p>');
  }
  out.push('</section>');
  return out.join('\n');
}
