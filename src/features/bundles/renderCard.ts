import type { Bundle, BundleFeature } from './bundle.js';
import { codeBlock } from '../../ui/markdown.js';
import { describeModel, formatNumber } from './describeFeature.js';

// A bundle's card, NAME.md beside NAME.bundle.json: what the bundle is, how each
// feature was found, and the causal check behind it, in Markdown generated from
// the bundle itself (`imprint bundle validate --write` writes it), so the card
// cannot drift from the figures it reports.

/** The z a confirmation run needs to pass when nothing else is said. */
export const DEFAULT_MIN_Z = 2;

export interface RenderCardOptions {
  /** The command that validated the bundle, as typed. */
  validateCommand: string;
  /** Text of the script that built the bundle, shown verbatim. */
  buildScript?: string;
  /** The z a feature's confirmation run needed to pass (default DEFAULT_MIN_Z). */
  minZ?: number;
  /** Seed of the scale-selection runs (the confirmation seed is stored per feature). */
  selectionSeed?: number;
  /** Features checked and removed because they failed (with their steering records). */
  dropped?: readonly BundleFeature[];
}

type Verdict = 'pass' | 'FAIL' | 'no z recorded' | 'not checked' | 'no axis/side';

function verdict(feature: BundleFeature, minZ: number): Verdict {
  if (feature.axis === undefined || feature.side === undefined) return 'no axis/side';
  if (feature.steering === undefined) return 'not checked';
  if (feature.steering.z === undefined) return 'no z recorded';
  return feature.steering.z >= minZ ? 'pass' : 'FAIL';
}

/** Table cells: a "|" would end the cell and a newline the row. */
export function escapeMarkdownCell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\s*[\r\n]+\s*/g, ' ');
}

function percent(rate: number): string {
  return `${(rate * 100).toFixed(1)}%`;
}

function points(x: number, signed: boolean): string {
  const text = (x * 100).toFixed(1);
  return signed && x >= 0 ? `+${text}` : text;
}

function listOf(values: readonly number[]): string {
  return values.map(formatNumber).join(', ');
}

/** The value every record that has one agrees on, else undefined (older records lack these fields). */
function shared<T>(values: readonly (T | undefined)[], key: (v: T) => string = String): T | undefined {
  const present = values.filter((v): v is T => v !== undefined);
  if (present.length === 0) return undefined;
  const first = key(present[0]);
  return present.every((v) => key(v) === first) ? present[0] : undefined;
}

function protocolText(bundle: Bundle, minZ: number, selectionSeed: number | undefined): string {
  const records = bundle.features.flatMap((f) => (f.steering === undefined ? [] : [f.steering]));
  const scales = shared(records.map((s) => s.selectedFrom), (v) => v.join(','));
  const prompts = shared(records.map((s) => s.prompts));
  const seed = shared(records.map((s) => s.seed));
  const count = prompts === undefined ? '' : `${prompts} `;
  const confirmationSeed = seed === undefined ? '' : ` (seed ${seed})`;
  const run = scales !== undefined && scales.length === 1
    ? `Each feature was steered at the one scale given (${listOf(scales)}) on ${count}unstated world prompts${confirmationSeed}; with no scale selected, that run is reported as is.`
    : `Each feature was steered at every scale in ${scales === undefined ? 'the list given' : `{${listOf(scales)}}`} on ${count}unstated world prompts`
      + `${selectionSeed === undefined ? '' : ` (seed ${selectionSeed})`} and the scale with the largest margin was selected;`
      + ` it was then run again at that scale on ${count}fresh prompts${confirmationSeed}, and only this confirmation run is reported.`;
  return [
    run,
    'The margin is the change, in percentage points, in the share of replies the matching judge assigns to the feature\'s side (steered minus unsteered, on the same prompts and sampling seeds).',
    'A steered reply counts for the feature only when it is fluent: the unsteered model\'s mean loss on it, given its prompt, is within the fluency limit (the 95th percentile of the unsteered replies\' losses plus 1 nat/token, unless set); garbage that happens to land on a judge\'s side is a miss. The fluent column is the share of steered replies within the limit.',
    `SE is the standard error of that difference of two proportions; a feature passes when z = margin / SE is at least ${formatNumber(minZ)}.`,
  ].join(' ');
}

function tableRow(feature: BundleFeature, minZ: number): string {
  const s = feature.steering;
  const dash = '—';
  const cells = [
    `\`${feature.id}\` ${feature.label}`,
    feature.axis === undefined ? dash : `${feature.axis}=${feature.side ?? '?'}`,
    `${feature.provenance.method}: ${feature.provenance.data}`,
    s === undefined ? dash : formatNumber(s.scale),
    s?.baseline === undefined || s.steered === undefined ? dash : `${percent(s.baseline)} → ${percent(s.steered)}`,
    s === undefined ? dash : `${points(s.margin, true)}${s.standardError === undefined ? '' : ` ± ${points(s.standardError, false)}`}`,
    s?.z === undefined ? dash : s.z.toFixed(2),
    s?.fluent === undefined ? dash : percent(s.fluent),
    verdict(feature, minZ),
  ];
  return `| ${cells.map(escapeMarkdownCell).join(' | ')} |`;
}

/** The bundle's card in Markdown. Pure: the same bundle and options give the same text. */
export function renderBundleCard(bundle: Bundle, options: RenderCardOptions): string {
  const minZ = options.minZ ?? DEFAULT_MIN_Z;
  const verdicts = bundle.features.map((f) => verdict(f, minZ));
  const judgeable = verdicts.filter((v) => v !== 'no axis/side').length;
  const passing = verdicts.filter((v) => v === 'pass').length;
  const unjudgeable = bundle.features.length - judgeable;
  const lines = [
    `# Bundle \`${bundle.name}\``,
    '',
    ...(bundle.description.trim() === '' ? [] : [bundle.description.trim(), '']),
    `- Model: ${describeModel(bundle)}`,
    `- Hook point: \`${bundle.hookPoint}\` (layer ${bundle.layer})`,
    `- Features: ${bundle.features.length}`,
    `- Steering check: ${passing} of ${judgeable} feature${judgeable === 1 ? '' : 's'} with an axis and side pass (z ≥ ${formatNumber(minZ)})${unjudgeable === 0 ? '' : `; ${unjudgeable} ha${unjudgeable === 1 ? 's' : 've'} no axis/side for a judge to check`}`,
    '',
    '## Steering check',
    '',
    protocolText(bundle, minZ, options.selectionSeed),
    '',
    '| feature | axis=side | found by | scale | baseline → steered | margin ± SE (points) | z | fluent | pass |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...bundle.features.map((f) => tableRow(f, minZ)),
    '',
    ...(options.dropped === undefined || options.dropped.length === 0 ? [] : [
      '## Checked and dropped',
      '',
      'These candidates were checked the same way, failed, and were removed from the bundle:',
      '',
      '| feature | axis=side | found by | scale | baseline → steered | margin ± SE (points) | z | fluent | pass |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...options.dropped.map((f) => tableRow(f, minZ)),
      '',
    ]),
    '## Built with',
    '',
    'Validated (and this card written) with:',
    '',
    ...codeBlock('sh', options.validateCommand),
    '',
    ...(options.buildScript === undefined ? [] : ['Built by this script:', '', ...codeBlock('sh', options.buildScript), '']),
    `\`imprint bundle show ${bundle.name} --html FILE\` shows each feature's top contexts and promoted tokens.`,
    '',
  ];
  return lines.join('\n');
}
