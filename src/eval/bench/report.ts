import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { escapeHtml } from '../../features/bundles/index.js';
import { writeFileAtomic } from '../../io/atomicWrite.js';
import { barChartSvg } from '../../plot/barChart.js';
import { shortNumber } from '../../plot/chartParts.js';
import { type Series, lineChartSvg } from '../../plot/lineChart.js';
import { type ScatterPoint, scatterChartSvg } from '../../plot/scatterChart.js';
import type { BenchSuiteConfig } from './benchSuite.js';
import { type Estimate, type MethodScenarioSummary, garbageDrift, isTie } from './summary.js';
import { TIE_MARGIN, chooseRates } from './tuning.js';

// The benchmark's report, from its summary (summary.json's content): report.md
// with one table per scenario and the garbage-drift table, and report.html with
// the same tables and the charts (learning curves, learning versus forgetting,
// garbage drift, cost). Both come from one table model, so they never disagree.
//
// Ranking is only claimed where the data supports it: per scenario the best
// final score and the least forgetting are bold, and every method whose 95%
// interval overlaps the best's is marked "(tie)" (summary.ts's isTie).
// Every string that comes from the data (method names, scenario names, reasons)
// is escaped for the format it lands in.

export interface BenchReportInput {
  suite: string;
  config: BenchSuiteConfig;
  summary: MethodScenarioSummary[];
  /** While a run is under way: cells finished so far of those the run will make. */
  progress?: { cells: number; of: number };
}

/** The line a partial report opens with, or null when every cell is in. */
function partialLine(input: BenchReportInput): string | null {
  const p = input.progress;
  if (p === undefined || p.cells >= p.of) return null;
  return `Partial: ${p.cells} of ${p.of} cells finished so far. Intervals and ranks cover the seeds finished per cell; rerun the same command to go on.`;
}

const DASH = '–';

// ---------------------------------------------------------------- numbers

/** Three significant figures, e-notation when large or tiny. */
const compact = (x: number): string => shortNumber(x);
/** Shifts and drifts carry their sign, so "+0.02" cannot be misread as a level. */
const signed = (x: number): string => {
  // The base model measured twice sums in another order: a shift of 1e-16 is rounding, not a change.
  if (Math.abs(x) < 1e-12) return '0';
  return x > 0 ? `+${compact(x)}` : compact(x);
};

function scientific(x: number): string {
  const [mantissa, exponent] = x.toExponential(2).split('e');
  return `${Number(mantissa)}e${Number(exponent)}`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${compact(value)} ${units[unit]}`;
}

/** "mean ± half-width", the half-width omitted when there is none (one seed), and "(k/n seeds)" when some seeds had no value. */
function estimateText(e: Estimate, seeds: number, format: (x: number) => string = compact): string {
  // Identical values averaged in floating point leave a spread of ~1e-17: rounding noise, not a measured one.
  // A summary read back from summary.json has null where JSON could not hold NaN (one seed: no interval).
  const raw = typeof e.ci95 === 'number' ? e.ci95 : Number.NaN;
  const ci = raw <= 1e-9 * Math.abs(e.mean) ? 0 : raw;
  const interval = Number.isFinite(ci) ? ` ± ${compact(ci)}` : '';
  const coverage = e.n < seeds ? ` (${e.n}/${seeds} seeds)` : '';
  return `${format(e.mean)}${interval}${coverage}`;
}

const percent = (rate: number): string => `${Math.round(rate * 100)}%`;
const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

// ---------------------------------------------------------------- the table model

type Mark = 'best' | 'tie';

interface Cell {
  text: string;
  mark?: Mark;
}

interface Table {
  columns: string[];
  rows: Cell[][];
}

interface Column {
  header: string;
  cell: (row: MethodScenarioSummary) => Cell;
  /** Columns that say nothing for any row of a scenario (BWT outside sequential) are left out. */
  shown?: (rows: readonly MethodScenarioSummary[]) => boolean;
}

/** Per row, 'best' for the best estimate and 'tie' for every other one whose interval overlaps it. */
function rankMarks(rows: readonly MethodScenarioSummary[], pick: (r: MethodScenarioSummary) => Estimate | null, better: 'higher' | 'lower'): Map<MethodScenarioSummary, Mark> {
  const marks = new Map<MethodScenarioSummary, Mark>();
  const known = rows.filter((r) => r.status === 'ok' && pick(r) !== null && Number.isFinite(pick(r)!.mean));
  if (known.length === 0) return marks;
  const sign = better === 'higher' ? 1 : -1;
  const best = known.reduce((a, b) => (sign * pick(b)!.mean > sign * pick(a)!.mean ? b : a));
  for (const r of known) {
    if (r === best) marks.set(r, 'best');
    else if (isTie(pick(best)!, pick(r)!)) marks.set(r, 'tie');
  }
  return marks;
}

function estimateCell(row: MethodScenarioSummary, e: Estimate | null, options: { format?: (x: number) => string; none?: string; marks?: Map<MethodScenarioSummary, Mark> } = {}): Cell {
  if (row.status !== 'ok') return { text: DASH };
  if (e === null) return { text: options.none ?? DASH };
  const mark = options.marks?.get(row);
  return { text: estimateText(e, row.seeds, options.format), ...(mark === undefined ? {} : { mark }) };
}

function costCell(row: MethodScenarioSummary, value: (cost: NonNullable<MethodScenarioSummary['cost']>) => number | null, format: (x: number) => string): Cell {
  const x = row.cost === null ? null : value(row.cost);
  return { text: x === null || !Number.isFinite(x) ? DASH : format(x) };
}

function scenarioColumns(rows: readonly MethodScenarioSummary[]): Column[] {
  const bestScore = rankMarks(rows, (r) => r.scoreAfter, 'higher');
  const leastForgetting = rankMarks(rows, (r) => r.generalLossShift, 'lower');
  const any = (pick: (r: MethodScenarioSummary) => unknown) => (rs: readonly MethodScenarioSummary[]) => rs.some((r) => pick(r) !== null);
  return [
    { header: 'method', cell: (r) => ({ text: r.method }) },
    {
      header: 'final score',
      cell: (r) => (r.status !== 'ok'
        ? { text: `n/a (${r.reason ?? 'unavailable'})` }
        : estimateCell(r, r.scoreAfter, { marks: bestScore, none: 'n/a (the judges could score no reply)' })),
    },
    { header: 'score with memory', cell: (r) => estimateCell(r, r.scoreAfterWithMemory), shown: any((r) => r.scoreAfterWithMemory) },
    { header: 'score before', cell: (r) => estimateCell(r, r.scoreBefore) },
    { header: 'interactions to 90%', cell: (r) => estimateCell(r, r.interactionsTo90, { none: 'never' }) },
    { header: 'general-text loss shift', cell: (r) => estimateCell(r, r.generalLossShift, { format: signed, marks: leastForgetting }) },
    { header: 'fact-QA shift', cell: (r) => estimateCell(r, r.factQaShift, { format: signed }) },
    { header: 'BWT', cell: (r) => estimateCell(r, r.backwardTransfer, { format: signed }), shown: any((r) => r.backwardTransfer) },
    { header: 'update ms', cell: (r) => costCell(r, (c) => c.updateMs, compact) },
    { header: 'FLOPs/update', cell: (r) => costCell(r, (c) => c.flopsPerUpdate, scientific) },
    { header: 'bytes/user', cell: (r) => costCell(r, (c) => c.bytesPerUser, formatBytes) },
    { header: 'extra prompt tokens', cell: (r) => costCell(r, (c) => c.extraPromptTokens, compact) },
    { header: 'slowdown', cell: (r) => costCell(r, (c) => c.slowdown, (x) => `${compact(x)}×`) },
  ];
}

function scenarioTable(rows: readonly MethodScenarioSummary[]): Table {
  const columns = scenarioColumns(rows).filter((c) => c.shown === undefined || c.shown(rows));
  return { columns: columns.map((c) => c.header), rows: rows.map((r) => columns.map((c) => c.cell(r))) };
}

type Drift = ReturnType<typeof garbageDrift>[number];

function driftTable(drift: readonly Drift[]): Table {
  const rates = [...new Set(drift.map((d) => d.rate))].sort((a, b) => a - b);
  const methods = [...new Set(drift.map((d) => d.method))];
  const cell = (x: number | null | undefined): Cell => ({ text: x === null || x === undefined ? DASH : signed(x) });
  return {
    columns: ['method', ...rates.flatMap((rate) => [`${percent(rate)}: score drift`, `${percent(rate)}: loss drift`])],
    rows: methods.map((method) => [
      { text: method },
      ...rates.flatMap((rate) => {
        const d = drift.find((x) => x.method === method && x.rate === rate);
        return [cell(d?.scoreDrift), cell(d?.lossDrift)];
      }),
    ]),
  };
}

/**
 * One row per method across the scenarios, for a first look (and the README):
 * final score on home and coding, forgetting on home, score drift at the highest
 * garbage rate, BWT in sequence, update time on home. Best and ties marked per
 * column as in the scenario tables; a scenario that was not run has no column.
 */
function glanceTable(summary: readonly MethodScenarioSummary[]): Table | null {
  const methods = methodsInOrder(summary);
  const rowsOf = (scenario: string) => summary.filter((s) => s.scenario === scenario);
  const find = (method: string, scenario: string) => summary.find((s) => s.method === method && s.scenario === scenario) ?? null;
  const drift = garbageDrift(summary);
  const worstRate = drift.length === 0 ? null : Math.max(...drift.map((d) => d.rate));
  const columns: { header: string; cell: (method: string) => Cell }[] = [{ header: 'method', cell: (method) => ({ text: method }) }];
  if (summary.some((s) => s.learningRate !== undefined)) {
    columns.push({ header: 'learning rate', cell: (method) => { const rate = summary.find((s) => s.method === method && s.learningRate !== undefined)?.learningRate; return { text: rate === undefined ? DASH : compact(rate) }; } });
  }
  const estimateColumn = (header: string, scenario: string, pick: (r: MethodScenarioSummary) => Estimate | null, better: 'higher' | 'lower', format?: (x: number) => string) => {
    const rows = rowsOf(scenario);
    if (!rows.some((r) => r.status === 'ok' && pick(r) !== null)) return;
    const marks = rankMarks(rows, pick, better);
    columns.push({
      header,
      cell: (method) => {
        const row = find(method, scenario);
        if (row === null) return { text: DASH };
        if (row.status !== 'ok') return { text: row.status === 'failed' ? 'failed' : 'n/a' };
        return estimateCell(row, pick(row), { marks, ...(format === undefined ? {} : { format }) });
      },
    });
  };
  estimateColumn('home: final score', 'home', (r) => r.scoreAfter, 'higher');
  // Memory methods: the score with their notes in the prompt beside the one without (the column ranks the latter, as the issue measures).
  const withMemory = (scenario: string) => (column: (typeof columns)[number]) => ({
    ...column,
    cell: (method: string) => {
      const cell = column.cell(method);
      const row = find(method, scenario);
      return row?.status === 'ok' && row.scoreAfterWithMemory !== null ? { ...cell, text: `${cell.text}; ${compact(row.scoreAfterWithMemory.mean)} with its notes` } : cell;
    },
  });
  if (columns.length > 1) columns[columns.length - 1] = withMemory('home')(columns[columns.length - 1]);
  const before = columns.length;
  estimateColumn('coding: final score', 'coding', (r) => r.scoreAfter, 'higher');
  if (columns.length > before) columns[columns.length - 1] = withMemory('coding')(columns[columns.length - 1]);
  estimateColumn('home: general-text loss shift', 'home', (r) => r.generalLossShift, 'lower', signed);
  estimateColumn('home: fact-QA shift', 'home', (r) => r.factQaShift, 'higher', signed);
  if (worstRate !== null) {
    columns.push({
      header: `score drift at ${percent(worstRate)} garbage`,
      cell: (method) => {
        const d = drift.find((x) => x.method === method && x.rate === worstRate);
        return { text: d?.scoreDrift === null || d?.scoreDrift === undefined ? DASH : signed(d.scoreDrift) };
      },
    });
  }
  estimateColumn('sequential: BWT', 'sequential', (r) => r.backwardTransfer, 'higher', signed);
  if (rowsOf('home').some((r) => r.cost?.updateMs != null)) {
    columns.push({ header: 'home: update ms', cell: (method) => { const row = find(method, 'home'); return row === null ? { text: DASH } : costCell(row, (c) => c.updateMs, compact); } });
  }
  if (columns.length === 1) return null;
  return { columns: columns.map((c) => c.header), rows: methods.map((m) => columns.map((c) => c.cell(m))) };
}

/** The tuning suite's choice of learning rate per method (tuning.ts), or null when no method ran at two rates. */
function ratesTable(summary: readonly MethodScenarioSummary[]): Table | null {
  const choices = chooseRates(summary);
  if (choices.length === 0) return null;
  const rates = [...new Set(choices.flatMap((c) => c.candidates.map((x) => x.rate)))].sort((a, b) => a - b);
  return {
    columns: ['method', 'chosen rate', 'why', ...rates.map((r) => `at ${compact(r)}: score / loss shift`)],
    rows: choices.map((choice) => [
      { text: choice.method },
      { text: choice.chosen === null ? DASH : compact(choice.chosen), mark: 'best' as const },
      { text: choice.reason },
      ...rates.map((rate) => {
        const c = choice.candidates.find((x) => x.rate === rate);
        return { text: c === undefined ? DASH : `${c.score === null ? DASH : compact(c.score)} / ${c.lossShift === null ? DASH : signed(c.lossShift)}` };
      }),
    ]),
  };
}

const RATES_NOTE = `Each learning method's rate: the highest final score averaged over the scenarios every rate of it ran; rates within ${TIE_MARGIN} of it are tied, and the tie goes to the least general-text loss shift. These are the rates of methods/tunedRates.ts.`;

// ---------------------------------------------------------------- what the report says around the tables

function scenariosInOrder(summary: readonly MethodScenarioSummary[]): string[] {
  return [...new Set(summary.map((s) => s.scenario))];
}

function methodsInOrder(summary: readonly MethodScenarioSummary[]): string[] {
  return [...new Set(summary.map((s) => s.method))];
}

function setupLine(input: BenchReportInput): string {
  const { config } = input;
  const z = config.sizes;
  const sizes: string[] = [];
  if (config.scenarios.includes('home')) sizes.push(plural(z.homeUsers, 'home user'));
  if (config.scenarios.includes('coding')) sizes.push(plural(z.codingEnvironments, 'coding environment'));
  if (config.scenarios.includes('adversarial')) sizes.push(`${plural(z.adversarialUsers, 'adversarial user')} at garbage rates ${z.garbageRates.map(percent).join(', ')}`);
  if (config.scenarios.includes('sequential')) sizes.push(`${plural(z.sequentialEnvironments, 'sequential environment')} of ${z.sequentialInteractions} interactions each`);
  const s = config.settings;
  return [
    `suite ${input.suite}`,
    `${plural(config.seeds.length, 'seed')} (${config.seeds.join(', ')})`,
    plural(methodsInOrder(input.summary).length, 'method'),
    `sizes: ${sizes.join('; ')}`,
    `${z.interactions} interactions per agent, measured every ${z.evaluateEvery}`,
    `${s.heldOut} held-out requests per agent, replies up to ${s.replyTokens} tokens at temperature ${s.temperature}`,
    `forgetting on ${config.generalPassages} general-text passages and ${s.facts} fact questions`,
  ].join(' · ');
}

const HOW_TO_READ = [
  'Each figure is the mean over seeds ± the half-width of its 95% interval (Student\'s t over seeds; none with one seed), with "(k/n seeds)" when only k seeds had a value.',
  'Bold: the best final score (highest) and the least forgetting (lowest general-text loss shift) in each scenario; "(tie)": that method\'s interval overlaps the best one\'s, so the data cannot rank them.',
  'Final score: the judges\' mean confidence that replies to held-out requests have the agent\'s wanted values, without memory in the prompt (memory methods also get a score with it).',
  'Interactions to 90%: until the mean score first reaches 90% of the best final score any method reached on that seed.',
  'Loss shift: general-text loss after minus the base model\'s (nats/token). Fact-QA shift: accuracy after minus the base model\'s.',
  'BWT (sequential): mean over earlier environments of their score at the end minus their score right after their own block.',
  'Slowdown: scoring time with the method over the base model\'s. Garbage drift: final score (and loss shift) at each garbage rate minus the clean stream\'s (adversarial-0), means only.',
];

function describeScenario(name: string): string {
  if (name === 'home') return 'home users with hidden style preferences, one adapter (or memory) each';
  if (name === 'coding') return 'coding environments that each need a role and a syntax style';
  if (name === 'sequential') return 'coding environments one after another on one shared state (forgetting measured as backward transfer)';
  const adversarial = /^adversarial-(\d+)$/.exec(name);
  if (adversarial !== null) return adversarial[1] === '0' ? 'the adversarial users on a clean stream: the reference garbage drift is measured from' : `home users with ${adversarial[1]}% of interactions replaced by garbage`;
  return '';
}

/** The scenario the one-per-method charts (Pareto, cost) are drawn on: home, else the first with a result. */
function referenceScenario(summary: readonly MethodScenarioSummary[]): string | null {
  const withResult = scenariosInOrder(summary).filter((s) => summary.some((r) => r.scenario === s && r.status === 'ok'));
  return withResult.includes('home') ? 'home' : (withResult[0] ?? null);
}

// ---------------------------------------------------------------- Markdown

/** Backslash-escapes what would end a table cell or become markup (CommonMark lets any ASCII punctuation be escaped). */
function markdownText(text: string): string {
  return text.replace(/[\\|<>*_`[\]]/g, (c) => `\\${c}`).replace(/\s*[\r\n]+\s*/g, ' ');
}

function markdownCell(cell: Cell): string {
  const text = markdownText(cell.text);
  if (cell.mark === 'best') return `**${text}**`;
  return cell.mark === 'tie' ? `${text} (tie)` : text;
}

function markdownTable(table: Table): string[] {
  return [
    `| ${table.columns.map(markdownText).join(' | ')} |`,
    `| ${table.columns.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...table.rows.map((row) => `| ${row.map(markdownCell).join(' | ')} |`),
  ];
}

export function benchMarkdown(input: BenchReportInput): string {
  const lines = [`# Continual-learning benchmark: ${markdownText(input.suite)}`, '', markdownText(setupLine(input)), '', ...HOW_TO_READ.map(markdownText).map((l) => `- ${l}`), ''];
  const partial = partialLine(input);
  if (partial !== null) lines.splice(2, 0, `**${markdownText(partial)}**`, '');
  const glance = glanceTable(input.summary);
  if (glance !== null) lines.push('## At a glance', '', ...markdownTable(glance), '');
  const rates = ratesTable(input.summary);
  if (rates !== null) lines.push('## Learning rates', '', markdownText(RATES_NOTE), '', ...markdownTable(rates), '');
  for (const scenario of scenariosInOrder(input.summary)) {
    lines.push(`## ${markdownText(scenario)}`, '');
    const description = describeScenario(scenario);
    if (description !== '') lines.push(markdownText(description), '');
    lines.push(...markdownTable(scenarioTable(input.summary.filter((s) => s.scenario === scenario))), '');
  }
  lines.push('## Garbage drift', '');
  const drift = garbageDrift(input.summary);
  if (drift.length === 0) lines.push('No adversarial scenario with a clean (adversarial-0) reference was run.', '');
  else lines.push(...markdownTable(driftTable(drift)), '');
  lines.push('Charts (learning curves, learning versus forgetting, garbage drift, cost): report.html.', '');
  return lines.join('\n');
}

// ---------------------------------------------------------------- HTML

const STYLE = `
body { font: 15px/1.45 system-ui, sans-serif; max-width: 80rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h1 { margin-bottom: 0.2rem; } .meta { color: #555; margin: 0.2rem 0; } ul.read { color: #555; font-size: 0.9rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { padding: 0.2rem 0.6rem; border-bottom: 1px solid #e4e4e4; vertical-align: top; }
th { text-align: right; font-weight: 600; } th:first-child, td:first-child { text-align: left; }
td { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; } td.na { white-space: normal; color: #777; text-align: left; }
.tie { color: #777; } figure { margin: 1rem 0 2rem; } figure svg { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9rem; max-width: 50rem; } p.note { color: #777; }
`;

function htmlCell(cell: Cell): string {
  const text = escapeHtml(cell.text);
  const body = cell.mark === 'best' ? `<strong>${text}</strong>` : cell.mark === 'tie' ? `${text} <span class="tie">(tie)</span>` : text;
  return cell.text.startsWith('n/a') ? `<td class="na">${body}</td>` : `<td>${body}</td>`;
}

function htmlTable(table: Table): string {
  return [
    '<table>',
    `<thead><tr>${table.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    ...table.rows.map((row) => `<tr>${row.map(htmlCell).join('')}</tr>`),
    '</tbody>',
    '</table>',
  ].join('\n');
}

type ChartKind = 'learning-curves' | 'pareto' | 'garbage-drift' | 'cost-ms' | 'cost-bytes';

/** A chart in its figure; without an SVG (nothing to draw) the figure holds a note instead, so it is still there to find. */
function figure(kind: ChartKind, svg: string | null, caption: string, scenario?: string): string {
  const attrs = `data-chart="${kind}"${scenario === undefined ? '' : ` data-scenario="${escapeHtml(scenario)}"`}`;
  const body = svg ?? '<p class="note">No data to draw.</p>';
  return `<figure ${attrs}>\n${body.trimEnd()}\n<figcaption>${escapeHtml(caption)}</figcaption>\n</figure>`;
}

// tab20's colours: ten strong ones, then their light partners in the same order,
// so a method keeps its colour on every chart and its with-memory line is its light partner.
const METHOD_COLOURS = [
  '#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
  '#aec7e8', '#ff9896', '#98df8a', '#ffbb78', '#c5b0d5', '#c49c94', '#f7b6d2', '#c7c7c7', '#dbdb8d', '#9edae5',
];

function colourFor(methods: readonly string[], method: string, light = false): string {
  const i = methods.indexOf(method);
  return METHOD_COLOURS[(i + (light ? 10 : 0)) % METHOD_COLOURS.length];
}

const hasFinitePoint = (series: readonly Series[]) => series.some((s) => s.points.some(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));

/** The legend sits inside the plot, 16px a line: tall enough for every series. */
const chartHeight = (seriesCount: number) => Math.max(420, 110 + 16 * seriesCount);

const withMemoryName = (method: string) => `${method} (notes in prompt)`;

function learningCurvesFigure(summary: readonly MethodScenarioSummary[], scenario: string, methods: readonly string[]): string {
  const rows = summary.filter((s) => s.scenario === scenario && s.status === 'ok');
  const series: Series[] = [];
  for (const r of rows) {
    series.push({ name: r.method, colour: colourFor(methods, r.method), points: r.curve.map((p) => [p.interactions, p.score] as [number, number]) });
    const withMemory = r.curve.filter((p) => p.scoreWithMemory !== undefined);
    if (withMemory.length > 0) series.push({ name: withMemoryName(r.method), colour: colourFor(methods, r.method, true), points: withMemory.map((p) => [p.interactions, p.scoreWithMemory!] as [number, number]) });
  }
  const svg = hasFinitePoint(series)
    ? lineChartSvg(series, { title: `Learning curves: ${scenario}`, xLabel: 'interactions per agent', yLabel: 'judge score (mean over agents and seeds)', height: chartHeight(series.length) })
    : null;
  const caption = `Learning curves on ${scenario}: the judges' mean score over agents and seeds after each number of interactions per agent, one line per method, without memory in the prompt; "(notes in prompt)" lines are memory methods scored with their notes in the prompt.`;
  return figure('learning-curves', svg, caption, scenario);
}

function familyOf(method: string): string {
  if (method.startsWith('fc-')) return 'FC-LoRA';
  if (method.startsWith('lora-')) return 'LoRA';
  return 'baseline';
}

function paretoFigure(summary: readonly MethodScenarioSummary[], reference: string | null): string {
  const rows = summary.filter((s) => s.scenario === reference);
  const points: ScatterPoint[] = rows.map((r) => {
    // A memory method is used with its notes in the prompt; that is the adaptation to set against its forgetting.
    const score = r.scoreAfterWithMemory ?? r.scoreAfter;
    return {
      label: r.scoreAfterWithMemory !== null ? withMemoryName(r.method) : r.method,
      x: r.generalLossShift?.mean ?? Number.NaN, y: score?.mean ?? Number.NaN,
      xError: r.generalLossShift?.ci95, yError: score?.ci95, group: familyOf(r.method),
    };
  });
  const svg = reference === null ? null : scatterChartSvg(points, {
    title: `Learning versus forgetting: ${reference}`, xLabel: 'general-text loss shift (nats/token; lower: less forgetting)', yLabel: 'final judge score (higher: better adapted)',
    // Twenty methods' labels need the room.
    width: 900, height: 560,
  });
  const caption = `Learning versus forgetting on ${reference ?? 'no scenario'}, one point per method: the general-text loss shift at the end against the final judge score, means over seeds with 95% intervals as error bars (cut at the frame: the axes span the points, not their intervals). A method far off in x from the rest is an arrow at the frame's edge, labelled with its value. Filled points are Pareto-optimal (no other method has both a lower loss shift and a higher score); hollow ones are dominated. Memory methods are placed at their score with the notes in the prompt.`;
  return figure('pareto', svg, caption);
}

function garbageDriftFigure(summary: readonly MethodScenarioSummary[], methods: readonly string[]): string {
  const drift = garbageDrift(summary);
  const series: Series[] = [...new Set(drift.map((d) => d.method))].map((method) => ({
    name: method, colour: colourFor(methods, method),
    // The clean stream is the reference: 0 drift at rate 0 by definition, drawn so each line starts from it.
    points: [[0, 0] as [number, number], ...drift.filter((d) => d.method === method && d.scoreDrift !== null).sort((a, b) => a.rate - b.rate).map((d) => [d.rate * 100, d.scoreDrift!] as [number, number])],
  }));
  const svg = hasFinitePoint(series) ? lineChartSvg(series, { title: 'Garbage drift', xLabel: 'garbage rate (% of interactions)', yLabel: 'final score minus the clean stream\'s', height: chartHeight(series.length) }) : null;
  const caption = 'Garbage drift: per method, the final judge score at each garbage rate minus its score on the clean stream (adversarial-0), so every line starts at 0; below 0, garbage undid learning.';
  return figure('garbage-drift', svg, caption);
}

function costFigures(summary: readonly MethodScenarioSummary[], reference: string | null, methods: readonly string[]): string[] {
  const rows = summary.filter((s) => s.scenario === reference);
  const ms = rows.map((r) => ({ label: r.method, value: r.cost?.updateMs ?? Number.NaN, colour: colourFor(methods, r.method) }));
  const bytes = rows.map((r) => ({ label: r.method, value: r.cost?.bytesPerUser ?? Number.NaN, colour: colourFor(methods, r.method) }));
  const where = reference ?? 'no scenario';
  return [
    figure('cost-ms', reference === null ? null : barChartSvg(ms, { title: `Update time: ${reference}`, yLabel: 'median wall time of one update (ms)' }),
      `Update cost on ${where}: the median wall time of one update per method (mean over seeds). Methods that never updated have no bar.`),
    figure('cost-bytes', reference === null ? null : barChartSvg(bytes, { title: `Storage per user: ${reference}`, yLabel: 'bytes stored per user', logScale: true, logBase: 32, formatValue: formatBytes }),
      `Storage on ${where}: the bytes each method keeps per user (adapter tensors, notes, memory weights, a weight copy), on a log scale; a method that stores nothing has no bar.`),
  ];
}

export function benchHtml(input: BenchReportInput): string {
  const { summary } = input;
  const methods = methodsInOrder(summary);
  const reference = referenceScenario(summary);
  const e = escapeHtml;
  const parts = [
    '<!DOCTYPE html>', '<html lang="en">', '<head>', '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>benchmark ${e(input.suite)}</title>`, `<style>${STYLE}</style>`, '</head>', '<body>',
    `<h1>Continual-learning benchmark: ${e(input.suite)}</h1>`,
    `<p class="meta">${e(setupLine(input))}</p>`,
    ...(partialLine(input) === null ? [] : [`<p class="partial"><strong>${e(partialLine(input)!)}</strong></p>`]),
    `<ul class="read">${HOW_TO_READ.map((l) => `<li>${e(l)}</li>`).join('')}</ul>`,
  ];
  const glance = glanceTable(summary);
  if (glance !== null) parts.push('<h2>At a glance</h2>', htmlTable(glance));
  const rates = ratesTable(summary);
  if (rates !== null) parts.push('<h2>Learning rates</h2>', `<p class="meta">${e(RATES_NOTE)}</p>`, htmlTable(rates));
  parts.push('<h2>Learning versus forgetting</h2>', paretoFigure(summary, reference));
  for (const scenario of scenariosInOrder(summary)) {
    parts.push(`<section class="scenario" data-scenario="${e(scenario)}">`, `<h2>${e(scenario)}</h2>`);
    const description = describeScenario(scenario);
    if (description !== '') parts.push(`<p class="meta">${e(description)}</p>`);
    parts.push(htmlTable(scenarioTable(summary.filter((s) => s.scenario === scenario))), learningCurvesFigure(summary, scenario, methods), '</section>');
  }
  parts.push('<h2>Garbage drift</h2>');
  const drift = garbageDrift(summary);
  parts.push(drift.length === 0 ? '<p class="note">No adversarial scenario with a clean (adversarial-0) reference was run.</p>' : htmlTable(driftTable(drift)));
  parts.push(garbageDriftFigure(summary, methods));
  parts.push('<h2>Cost</h2>', ...costFigures(summary, reference, methods));
  parts.push('</body>', '</html>', '');
  return parts.join('\n');
}

// ---------------------------------------------------------------- files

/** Writes report.md and report.html into `outDir` (each atomically: a reader never sees half a report) and returns their absolute paths. */
export function writeBenchReport(outDir: string, input: BenchReportInput): { markdown: string; html: string } {
  mkdirSync(outDir, { recursive: true });
  const paths = { markdown: join(outDir, 'report.md'), html: join(outDir, 'report.html') };
  writeFileAtomic(paths.markdown, [Buffer.from(benchMarkdown(input), 'utf8')]);
  writeFileAtomic(paths.html, [Buffer.from(benchHtml(input), 'utf8')]);
  return { markdown: resolve(paths.markdown), html: resolve(paths.html) };
}
