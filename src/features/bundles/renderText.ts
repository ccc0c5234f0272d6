import type { Bundle } from './bundle.js';
import { describeAxis, describeModel, describeProvenance, describeSource, describeSteering, formatNumber } from './describeFeature.js';

// The terminal listing of a bundle (`imprint bundle show`). Top contexts are
// model text and may hold anything; control characters are shown escaped so
// they can neither break the layout nor send escape sequences to the terminal.

export interface RenderTextOptions {
  /** Top contexts shown per feature (default 5). */
  maxContexts?: number;
  /** Promoted tokens shown per feature (default 10). */
  maxTokens?: number;
}

export function renderBundleText(bundle: Bundle, options: RenderTextOptions = {}): string {
  const maxContexts = options.maxContexts ?? 5;
  const maxTokens = options.maxTokens ?? 10;
  const lines: string[] = [];
  lines.push(`bundle ${safe(bundle.name)}${bundle.description ? ` — ${safe(bundle.description)}` : ''}`);
  lines.push(`  model: ${safe(describeModel(bundle))}`);
  lines.push(`  hook:  ${bundle.hookPoint} (layer ${bundle.layer})`);
  lines.push(`  ${bundle.features.length} feature${bundle.features.length === 1 ? '' : 's'}`);
  bundle.features.forEach((feature, i) => {
    lines.push('');
    lines.push(`[${i + 1}] ${safe(feature.id)}: ${safe(feature.label)}`);
    const axis = describeAxis(feature);
    if (axis !== null) lines.push(`    ${safe(axis)}`);
    lines.push(`    source: ${safe(describeSource(feature))}`);
    lines.push(`    provenance: ${safe(describeProvenance(feature.provenance))}`);
    if (feature.provenance.command !== undefined) lines.push(`    command: ${safe(feature.provenance.command)}`);
    const steering = describeSteering(feature);
    if (steering !== null) lines.push(`    steering: ${safe(steering)}`);
    const contexts = feature.topContexts ?? [];
    if (contexts.length > 0) {
      lines.push(`    top contexts:`);
      for (const c of contexts.slice(0, maxContexts)) lines.push(`      ${formatNumber(c.activation).padStart(8)}  "${safe(c.text)}"`);
      if (contexts.length > maxContexts) lines.push(`      ... ${contexts.length - maxContexts} more`);
    }
    const tokens = feature.promotedTokens ?? [];
    if (tokens.length > 0) {
      const shown = tokens.slice(0, maxTokens).map((t) => `"${safe(t.token)}" ${formatNumber(t.logit)}`).join(', ');
      lines.push(`    promoted tokens: ${shown}${tokens.length > maxTokens ? `, ... ${tokens.length - maxTokens} more` : ''}`);
    }
  });
  return `${lines.join('\n')}\n`;
}

/** Escapes C0/C1 control characters and DEL; "\n" and "\t" keep their familiar spelling. */
export function terminalSafe(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

const safe = terminalSafe;
