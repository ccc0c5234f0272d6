import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BenchSuiteConfig } from '../src/eval/bench/benchSuite.js';
import { type BenchReportInput, benchHtml, benchMarkdown, writeBenchReport } from '../src/eval/bench/report.js';
import type { CellResult, CurvePoint } from '../src/eval/bench/runCell.js';
import { summarise } from '../src/eval/bench/summary.js';
import { barChartSvg } from '../src/plot/barChart.js';
import { onScaleRange, paretoOptimal, placeLabels, scatterChartSvg } from '../src/plot/scatterChart.js';

// The benchmark report on cells built by hand and passed through summarise, so
// every figure in the tables can be worked out on paper. Three seeds, one agent
// per cell (two in sequential), checkpoints at 0, 10 and 20 interactions.
//
// home, final scores per seed (spread ±d around the mean gives a 95% half-width
// of 4.303·d/√3 = 2.484·d):
//   fc-write  0.70 0.72 0.74 → 0.72 ± 0.0497   best
//   lora-r8   0.64 0.66 0.68 → 0.66 ± 0.0497   |0.72−0.66| ≤ 0.0994: tie
//   memory    0.30 ×3       → 0.3 ± 0          not a tie
// home, general-text loss shifts:
//   memory    0 ×3               → 0 ± 0           least forgetting
//   fc-write  0.01 0.02 0.03     → +0.02 ± 0.0248  0.02 ≤ 0 + 0.0248: tie
//   lora-r8   0.05 0.06 0.07     → +0.06 ± 0.0248  not a tie
// Pareto on home (x = loss shift, y = final score; memory with its notes):
//   memory (0, 0.55) and fc-write (0.02, 0.72) optimal; lora-r8 (0.06, 0.66) dominated by fc-write.
// Adversarial: every seed alike (intervals 0, so only equal means would tie);
//   lora-r8 0.7 → 0.5 at 30% garbage, loss shift 0.06 → 0.1; fc-write 0.65 → 0.6; memory unchanged.
// Sequential: fc-write unavailable; lora-r8 scores 0.6 on the first environment after
//   its block and 0.5 at the end: BWT −0.1.

const seeds = [1, 2, 3];

interface CellSpec {
  curves: CurvePoint[][];
  loss?: number;
  qa?: number;
  transfer?: (number | null)[][];
  cost?: Partial<NonNullable<CellResult['cost']>>;
}

function cell(method: string, scenario: string, seed: number, spec: CellSpec): CellResult {
  return {
    method, scenario, seed, status: 'ok',
    agents: spec.curves.map((curve, i) => ({ id: `agent-${i}`, wants: {}, curve, garbageInteractions: 0 })),
    ...(spec.transfer === undefined ? {} : { transfer: spec.transfer }),
    generalLoss: { base: 3, after: 3 + (spec.loss ?? 0) },
    factQa: { base: 0.5, after: spec.qa ?? 0.5 },
    cost: { updateMsMedian: null, flopsPerUpdate: null, updates: 0, interactions: 20, bytesPerUser: 0, extraPromptTokens: 0, slowdown: 1, ...spec.cost },
    wallMs: 1,
  };
}

function unavailable(method: string, scenario: string, seed: number, reason: string): CellResult {
  return { method, scenario, seed, status: 'unavailable', reason, agents: [], generalLoss: null, factQa: null, cost: null, wallMs: 0 };
}

const memoryCost = { bytesPerUser: 2048, extraPromptTokens: 35.5, slowdown: 1 };
const loraCost = { updateMsMedian: 123.4, flopsPerUpdate: 1.5e9, updates: 20, bytesPerUser: 1_572_864, slowdown: 1.0432 };
const fcCost = { updateMsMedian: 45.6, flopsPerUpdate: 3.21e8, updates: 20, bytesPerUser: 65_536, slowdown: 1.01 };

const points = (scores: number[], withMemory?: number[]): CurvePoint[] =>
  scores.map((score, i) => ({ interactions: i * 10, score, ...(withMemory === undefined ? {} : { scoreWithMemory: withMemory[i] }) }));

function cellsFor(seed: number): CellResult[] {
  const k = seed - 1;
  const cells: CellResult[] = [
    cell('memory', 'home', seed, { curves: [points([0.3, 0.3, 0.3], [0.3, 0.45, 0.54 + 0.01 * k])], cost: memoryCost }),
    cell('lora-r8', 'home', seed, { curves: [points([0.3, 0.5, 0.64 + 0.02 * k])], loss: 0.05 + 0.01 * k, qa: 0.4, cost: loraCost }),
    cell('fc-write', 'home', seed, { curves: [points([0.3, [0.65, 0.5, 0.5][k], 0.7 + 0.02 * k])], loss: 0.01 + 0.01 * k, cost: fcCost }),
  ];
  const adversarial = (scenario: string, lora: number, loraLoss: number, fc: number) => [
    cell('memory', scenario, seed, { curves: [points([0.3, 0.3, 0.3], [0.3, 0.4, 0.5])], cost: memoryCost }),
    cell('lora-r8', scenario, seed, { curves: [points([0.3, 0.5, lora])], loss: loraLoss, cost: loraCost }),
    cell('fc-write', scenario, seed, { curves: [points([0.3, 0.5, fc])], loss: 0.02, cost: fcCost }),
  ];
  cells.push(...adversarial('adversarial-0', 0.7, 0.06, 0.65), ...adversarial('adversarial-30', 0.5, 0.1, 0.6));
  // Sequential, as runCell records a shared state: each agent's last point is its score right after its own block.
  cells.push(
    cell('memory', 'sequential', seed, {
      curves: [[{ interactions: 0, score: 0.3, scoreWithMemory: 0.3 }, { interactions: 20, score: 0.3 }], [{ interactions: 0, score: 0.3, scoreWithMemory: 0.3 }, { interactions: 20, score: 0.3 }]],
      transfer: [[0.3, null], [0.3, 0.3]], cost: memoryCost,
    }),
    cell('lora-r8', 'sequential', seed, {
      curves: [points([0.3, 0.6]).map((p, i) => ({ ...p, interactions: i * 20 })), points([0.3, 0.7]).map((p, i) => ({ ...p, interactions: i * 20 }))],
      transfer: [[0.6, null], [0.5, 0.7]], loss: 0.05, cost: loraCost,
    }),
    unavailable('fc-write', 'sequential', seed, 'no layer writes the residual stream before blocks.0.pre'),
  );
  return cells;
}

const config: BenchSuiteConfig = {
  name: 'quick', seeds,
  sizes: { homeUsers: 1, codingEnvironments: 1, adversarialUsers: 1, sequentialEnvironments: 2, interactions: 20, sequentialInteractions: 20, evaluateEvery: 10, garbageRates: [0.3] },
  scenarios: ['home', 'adversarial', 'sequential'],
  methods: ['memory', 'lora-r8', 'fc-write'],
  settings: { heldOut: 8, replyTokens: 48, temperature: 0.7, facts: 20 },
  generalPassages: 16,
  learner: {},
};

const input: BenchReportInput = { suite: 'quick', config, summary: summarise(seeds.flatMap(cellsFor)) };

/** The lines of one "## " section of the Markdown. */
function section(markdown: string, heading: string): string[] {
  const lines = markdown.split('\n');
  const start = lines.indexOf(`## ${heading}`);
  assert.ok(start >= 0, `no section "## ${heading}"`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

const tableRows = (lines: string[]) => lines.filter((l) => l.startsWith('| ') && !l.startsWith('| method') && !l.startsWith('| ---'));

/** One <figure data-chart=...> of the page (with data-scenario when given). */
function figureOf(html: string, chart: string, scenario?: string): string {
  const open = scenario === undefined ? `<figure data-chart="${chart}">` : `<figure data-chart="${chart}" data-scenario="${scenario}">`;
  const start = html.indexOf(open);
  assert.ok(start >= 0, `no figure ${open}`);
  return html.slice(start, html.indexOf('</figure>', start));
}

const count = (text: string, pattern: RegExp) => (text.match(pattern) ?? []).length;

test('the setup line names the suite, the seeds and the sizes', () => {
  const md = benchMarkdown(input);
  assert.ok(md.startsWith('# Continual-learning benchmark: quick\n'));
  assert.ok(md.includes('suite quick · 3 seeds (1, 2, 3) · 3 methods · sizes: 1 home user; 1 adversarial user at garbage rates 30%; 2 sequential environments of 20 interactions each · 20 interactions per agent, measured every 10'), md.split('\n')[2]);
});

test('each scenario has a row per method with the figures put in, bold for the best and (tie) where intervals overlap', () => {
  const md = benchMarkdown(input);
  const home = section(md, 'home');
  assert.ok(home.includes('| method | final score | score with memory | score before | interactions to 90% | general-text loss shift | fact-QA shift | update ms | FLOPs/update | bytes/user | extra prompt tokens | slowdown |'));
  assert.deepEqual(tableRows(home), [
    '| memory | 0.3 ± 0 | 0.55 ± 0.0248 | 0.3 ± 0 | never | **0 ± 0** | 0 ± 0 | – | – | 2 KiB | 35.5 | 1× |',
    '| lora-r8 | 0.66 ± 0.0497 (tie) | – | 0.3 ± 0 | 20 ± 0 | +0.06 ± 0.0248 | -0.1 ± 0 | 123 | 1.5e9 | 1.5 MiB | 0 | 1.04× |',
    '| fc-write | **0.72 ± 0.0497** | – | 0.3 ± 0 | 16.7 ± 14.3 | +0.02 ± 0.0248 (tie) | 0 ± 0 | 45.6 | 3.21e8 | 64 KiB | 0 | 1.01× |',
  ]);
  // Intervals of 0 on the adversarial streams: one best per column, no ties.
  assert.deepEqual(tableRows(section(md, 'adversarial-30')).map((r) => r.split(' | ').slice(0, 2).join(' | ')), ['| memory | 0.3 ± 0', '| lora-r8 | 0.5 ± 0', '| fc-write | **0.6 ± 0**']);
  const tieRows = ['home', 'adversarial-0', 'adversarial-30', 'sequential'].flatMap((scenario) => section(md, scenario)).filter((l) => l.startsWith('| ') && l.includes('(tie)'));
  assert.equal(tieRows.length, 2, tieRows.join('\n'));
  for (const scenario of ['home', 'adversarial-0', 'adversarial-30', 'sequential']) {
    assert.equal(count(tableRows(section(md, scenario)).join('\n'), /\*\*/g), 4, `${scenario}: one bold final score and one bold loss shift`);
  }
});

test('at a glance: a row per method across the scenarios, memory with its notes beside, best and ties marked per column', () => {
  const lines = section(benchMarkdown(input), 'At a glance');
  assert.ok(lines.includes('| method | home: final score | home: general-text loss shift | home: fact-QA shift | score drift at 30% garbage | sequential: BWT | home: update ms |'), lines.join('\n'));
  assert.deepEqual(tableRows(lines), [
    '| memory | 0.3 ± 0; 0.55 with its notes | **0 ± 0** | **0 ± 0** | 0 | **0 ± 0** | – |',
    '| lora-r8 | 0.66 ± 0.0497 (tie) | +0.06 ± 0.0248 | -0.1 ± 0 | -0.2 | -0.1 ± 0 | 123 |',
    '| fc-write | **0.72 ± 0.0497** | +0.02 ± 0.0248 (tie) | 0 ± 0 (tie) | -0.05 | n/a | 45.6 |',
  ]);
  assert.match(benchHtml(input), /<h2>At a glance<\/h2>\s*<table>/);
  // With the rates the cells record, a column says each learning method's rate.
  const withRates = { ...input, summary: summarise(seeds.flatMap(cellsFor).map((c) => (c.method === 'memory' ? c : { ...c, learningRate: c.method === 'lora-r8' ? 3e-3 : 1e-2 }))) };
  const rateRows = tableRows(section(benchMarkdown(withRates), 'At a glance'));
  assert.deepEqual(rateRows.map((r) => r.split(' | ').slice(0, 2).join(' | ')), ['| memory | –', '| lora-r8 | 0.003', '| fc-write | 0.01']);
});

test('an unavailable method says n/a with its reason; sequential shows backward transfer', () => {
  const rows = tableRows(section(benchMarkdown(input), 'sequential'));
  assert.equal(rows.length, 3);
  assert.equal(rows[2], '| fc-write | n/a (no layer writes the residual stream before blocks.0.pre) | – | – | – | – | – | – | – | – | – | – |');
  assert.equal(rows[1], '| lora-r8 | **0.65 ± 0** | 0.3 ± 0 | 20 ± 0 | +0.05 ± 0 | 0 ± 0 | -0.1 ± 0 | 123 | 1.5e9 | 1.5 MiB | 0 | 1.04× |');
});

test('the garbage-drift table gives each method\'s score and loss drift per rate', () => {
  const lines = section(benchMarkdown(input), 'Garbage drift');
  assert.ok(lines.includes('| method | 30%: score drift | 30%: loss drift |'));
  assert.deepEqual(tableRows(lines), ['| memory | 0 | 0 |', '| lora-r8 | -0.2 | +0.04 |', '| fc-write | -0.05 | 0 |']);
});

test('the HTML page has every chart, one line per method series, the Pareto front marked and one bar per method', () => {
  const html = benchHtml(input);
  for (const chart of ['pareto', 'garbage-drift', 'cost-ms', 'cost-bytes']) figureOf(html, chart);
  for (const scenario of ['home', 'adversarial-0', 'adversarial-30', 'sequential']) figureOf(html, 'learning-curves', scenario);
  assert.ok(!/src=|href=|<script|<link/i.test(html), 'self-contained: no external resources, no script');
  // home: three methods and the memory method's with-notes line.
  const curves = figureOf(html, 'learning-curves', 'home');
  assert.equal(count(curves, /<path /g), 4);
  assert.ok(curves.includes('>memory (notes in prompt)</text>'));

  const pareto = figureOf(html, 'pareto');
  assert.ok(pareto.includes('class="point pareto" data-label="memory (notes in prompt)"'));
  assert.ok(pareto.includes('class="point pareto" data-label="fc-write"'));
  assert.ok(pareto.includes('class="point dominated" data-label="lora-r8"'));
  assert.equal(count(pareto, /class="point /g), 3);

  const bytes = figureOf(html, 'cost-bytes');
  assert.equal(count(bytes, /<rect class="bar"/g), 3);
  for (const method of ['memory', 'lora-r8', 'fc-write']) assert.ok(bytes.includes(`data-label="${method}"`));
  // memory never updates: no bar, and the note says so.
  const ms = figureOf(html, 'cost-ms');
  assert.equal(count(ms, /<rect class="bar"/g), 2);
  assert.ok(ms.includes('not drawn: memory (no value)'));

  const drift = figureOf(html, 'garbage-drift');
  assert.equal(count(drift, /<path /g), 3);
  assert.ok(html.includes('<td>0.66 ± 0.0497 <span class="tie">(tie)</span></td>'));
  assert.ok(html.includes('<td><strong>0.72 ± 0.0497</strong></td>'));
  assert.ok(html.includes('<td class="na">n/a (no layer writes the residual stream before blocks.0.pre)</td>'));
});

test('names and reasons from the data are escaped in HTML and Markdown', () => {
  const evil = '<script>alert(1)</script>';
  const cells = seeds.flatMap((seed) => [
    cell(evil, 'home', seed, { curves: [points([0.3, 0.4, 0.5])], cost: fcCost }),
    unavailable('fc-read', 'home', seed, 'needs <b>layers</b> & "more"'),
  ]);
  const page = { suite: '<i>suite</i>', config, summary: summarise(cells) };
  const html = benchHtml(page);
  assert.ok(!html.includes('<script'), 'no raw script tag');
  assert.ok(!html.includes('<b>') && !html.includes('<i>'));
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(html.includes('needs &lt;b&gt;layers&lt;/b&gt; &amp; &quot;more&quot;'));
  const md = benchMarkdown(page);
  assert.ok(!/(^|[^\\])<script/.test(md), 'every < before script is backslash-escaped');
  assert.ok(md.includes('| \\<script\\>alert(1)\\</script\\> |'));
});

test('writeBenchReport writes report.md and report.html and returns their paths', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
  try {
    const paths = writeBenchReport(join(dir, 'out'), input);
    assert.equal(readFileSync(paths.markdown, 'utf8'), benchMarkdown(input));
    assert.equal(readFileSync(paths.html, 'utf8'), benchHtml(input));
    assert.ok(paths.markdown.endsWith('report.md') && paths.html.endsWith('report.html'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('barChartSvg: one labelled rect per drawable bar, error bars, and a note for what it skipped', () => {
  const svg = barChartSvg([{ label: 'a', value: 1, error: 0.1 }, { label: 'b', value: Number.NaN }, { label: 'c', value: 3 }], { title: 'T', yLabel: 'ms' });
  assert.equal(count(svg, /<rect class="bar"/g), 2);
  assert.ok(svg.includes('>a</text>') && svg.includes('>c</text>'));
  assert.equal(count(svg, /class="error-bar"/g), 1);
  assert.ok(svg.includes('not drawn: b (no value)'));
  const log = barChartSvg([{ label: 'none', value: 0 }, { label: 'x', value: 2048 }, { label: 'y', value: 1e6 }], { title: 'T', yLabel: 'bytes', logScale: true });
  assert.equal(count(log, /<rect class="bar"/g), 2);
  assert.ok(log.includes('not drawn: none (0, not drawable on a log scale)'));
  assert.ok(log.includes('bytes (log)'));
  const empty = barChartSvg([{ label: 'z', value: Number.POSITIVE_INFINITY }], { title: 'T', yLabel: 'v' });
  assert.equal(count(empty, /<rect class="bar"/g), 0);
  assert.ok(empty.includes('not drawn: z (no value)'));
});

test('paretoOptimal: lower x and higher y are better; equal points do not dominate each other; non-finite points never count', () => {
  const set = [{ x: 1, y: 1 }, { x: 2, y: 2 }, { x: 2, y: 1 }, { x: 0, y: 0 }, { x: 1, y: 1 }, { x: Number.NaN, y: 5 }];
  assert.deepEqual(paretoOptimal(set), [true, true, false, true, true, false]);
});

test('scatterChartSvg: filled Pareto points, hollow dominated ones, labels, and a note for a skipped point', () => {
  const svg = scatterChartSvg([
    { label: 'best', x: 0.01, y: 0.9, xError: 0.005, yError: 0.02, group: 'FC' },
    { label: 'worse', x: 0.05, y: 0.5, group: 'LoRA' },
    { label: 'ghost', x: Number.NaN, y: 0.7 },
  ], { title: 'T', xLabel: 'x', yLabel: 'y' });
  assert.ok(svg.includes('class="point pareto" data-label="best"'));
  assert.ok(svg.includes('class="point dominated" data-label="worse"'));
  assert.ok(!svg.includes('data-label="ghost"'));
  assert.ok(svg.includes('not drawn: ghost (no value)'));
  assert.ok(svg.includes('>best</text>') && svg.includes('>worse</text>'));
  assert.ok(svg.includes('>Pareto-optimal</text>'));
  assert.equal(count(svg, /class="error-bar"/g), 2);
});

test('onScaleRange: a value far beyond the rest is left out of the frame; ordinary spreads, ties and short lists are kept whole', () => {
  // steering-like: ten times the learners' span beyond them.
  assert.deepEqual(onScaleRange([0, 0.003, 0.008, 0.012, 0.0185, 0.199]), [0, 0.0185]);
  assert.deepEqual(onScaleRange([-0.5, 0.01, 0.02, 0.03, 0.04]), [0.01, 0.04]);
  assert.deepEqual(onScaleRange([0, 0.01, 0.02, 0.03, 0.05]), [0, 0.05]);
  assert.deepEqual(onScaleRange([0, 0, 0, 0, 1]), [0, 1], 'no spread among the rest: nothing to judge by');
  assert.deepEqual(onScaleRange([0, 0.01, 5]), [0, 5], 'fewer than four values: shown whole');
});

test('scatterChartSvg: the axes span the points, not their intervals; bars stop at the frame; a far point is an arrow at the edge with its value', () => {
  const svg = scatterChartSvg([
    { label: 'a', x: 0.01, y: 0.8, xError: 5, yError: 0.01 },
    { label: 'b', x: 0.02, y: 0.9 },
    { label: 'c', x: 0.03, y: 0.7 },
    { label: 'far', x: 0.9, y: 0.5, yError: 0.1 },
  ], { title: 'T', xLabel: 'x', yLabel: 'y', width: 720, height: 460 });
  const cx = (label: string) => Number(new RegExp(`data-label="${label}" cx="([0-9.]+)"`).exec(svg)![1]);
  // Frame: x from 70 to 530. The on-scale points use most of it despite a's ±5 bar and the far point.
  assert.ok(cx('c') - cx('a') > 300, `a at ${cx('a')}, c at ${cx('c')}`);
  for (const m of svg.matchAll(/class="error-bar" x1="([0-9.]+)" x2="([0-9.]+)"/g)) {
    assert.ok(Number(m[1]) >= 70 && Number(m[2]) <= 530, `error bar ${m[0]} stays in the frame`);
  }
  assert.ok(svg.includes('class="point off-scale dominated" data-label="far"'));
  assert.ok(svg.includes('>far (x = 0.9 →)</text>'));
  assert.ok(!svg.includes('<circle class="point dominated" data-label="far"'));
});

test('scatterChartSvg: labels of crowded points are moved apart, each with a leader line to its point', () => {
  const crowd = Array.from({ length: 8 }, (_, i) => ({ label: `method-${i}`, x: 0.025 + i * 1e-5, y: 0.85 + i * 1e-3 }));
  const svg = scatterChartSvg([...crowd, { label: 'low', x: 0, y: 0.2 }, { label: 'high', x: 0.05, y: 0.3 }], { title: 'T', xLabel: 'x', yLabel: 'y' });
  const labels = [...svg.matchAll(/<text class="point-label" x="([0-9.]+)" y="([0-9.]+)">([^<]+)</g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]), text: m[3] }));
  assert.equal(labels.length, 10);
  const crowded = labels.filter((l) => l.text.startsWith('method-'));
  for (let i = 0; i < crowded.length; i++) {
    for (let j = i + 1; j < crowded.length; j++) {
      assert.ok(Math.abs(crowded[i].y - crowded[j].y) >= 13, `${crowded[i].text} at y ${crowded[i].y} and ${crowded[j].text} at y ${crowded[j].y} overlap`);
    }
  }
  assert.equal(count(svg, /class="leader"/g), 7, 'all but the first of the crowd moved; the points alone keep their labels by them');
});

test('placeLabels: a label that fits where it is stays there', () => {
  const baselines = placeLabels([
    { x: 100, y: 100, text: 'one', end: false, pointX: 93 },
    { x: 100, y: 200, text: 'two', end: false, pointX: 93 },
    { x: 300, y: 100, text: 'three', end: true, pointX: 307 },
  ], 0, 400);
  assert.deepEqual(baselines, [94, 194, 94]);
});
