import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AdapterStore, type AdapterVersionRecord } from '../adapt/index.js';
import {
  type Experience, type LearnerOptions, OnlineLearner, type ParsedExperience, type QualityDetector, type StepLog,
  defaultFeatureSelection, describeLineErrors, parseExperiencesJsonl, worldChatEncoding,
} from '../learn/index.js';
import { ProgressBar } from '../ui/progressBar.js';
import {
  type AdapterChoice, QUALITY_CACHE_FILE, SELECT_FROM, describeMoved, formatNorm, kindDescription, parseKindFlag, parseLayersFlag, parseRankFlag, parseTargetsFlag,
  parseFeaturesFlag, prepareAdapter, qualityDetectorFor, topMovedFeatures,
} from './learnSetup.js';
import { learnerStateToSave, resumeLearner } from './learnerResume.js';
import { loadModelArgument, parseNumberFlag } from './modelArgument.js';

// `imprint learn`: the online learner over a file of interactions. One learner
// step per interaction (or per --batch of them) on an adapter of the chosen
// kind, committed to a versioned adapter store (src/adapt/store) with the run's
// metrics. An existing store is continued from its current version. Each
// version records which lines of which file it consumed (and a hash of the file
// up to there), so --resume skips what an earlier run, finished or
// interrupted, already learned from. Each version also carries the learner's
// state (optimiser moments, replay buffer, generators), which a run continuing
// from it restores, so that stopping and continuing learns what one run would.

const help = `usage: imprint learn --interactions FILE.jsonl --out ADAPTER_DIR [options]

Learns from a file of interactions (JSONL; the schema is in the README,
"Learning") into the adapter store ADAPTER_DIR: one learner step per
interaction (or per --batch), then a new store version with the run's metrics.
Bad lines are reported on stderr with their line numbers and skipped. If
ADAPTER_DIR holds a store, its current version is continued (same config),
and so is the learner's state saved with it (optimiser moments, replay buffer).
Ctrl-C stops after the current step and commits what was learned so far
(exit status 130); run again with --resume to learn from the rest.

  --model DIR            model directory (default: the shipped model)
  --bundle NAME|PATH     bundle whose features constrain the adapter: a name in the model's
                         bundles/ (then the shipped model's) or a .bundle.json path
                         (default: assistant-style, or the store's own when continuing)
  --interactions FILE    the interactions, one JSON object per line
  --out DIR              the adapter store (created when missing)
  --kind K               write | read | reft | gain | lora (default write)
  --user NAME            learn only from the lines whose "user" is NAME
  --rank R               rank of write and lora adapters (default 4)
  --features F           which of the bundle's features a new adapter is confined to:
                         auto (the ones the user's interactions move, ranked on the first
                         ${SELECT_FROM} interactions with context), all, or ID,ID,... (default all);
                         a stored adapter keeps its own
  --keep-features K      most features --features auto keeps (default ${defaultFeatureSelection.keep})
  --targets LIST         modules, e.g. o_proj,down_proj (default: what the kind's space rules allow)
  --layers LIST          layers, e.g. 0-3 or 0,2 (default: the layers the space rules allow)
  --lr X                 AdamW learning rate (default 0.01)
  --batch N              interactions per learner step (default 1)
  --commit-every N       also commit a version every N steps (default: once, at the end)
  --resume               skip the lines of FILE that the current version says were consumed
  --seed S               seeds the adapter's initialisation and the learner's sampling (default 0)
  --sample-tokens N      most tokens the student samples for distillation (default 64)
  --gate-threshold X     gate weight below which an interaction is stored, not trained on (default 0.25)
  --no-quality           do not gate on the feature-based quality detector
  --quality-cache FILE   where the quality detector is cached (default ADAPTER_DIR/${QUALITY_CACHE_FILE})
  --log FILE             append every step's log (loss terms, gate signals, norms, timings) as JSONL
  --json                 print a JSON summary on stdout`;

interface RunTotals {
  steps: number;
  trainedSteps: number;
  experiences: number;
  trained: number;
  gatedOut: number;
  nonFinite: number;
  gateWeights: number[];
  losses: Record<string, number[]>;
  terms: Record<string, number[]>;
  stepMs: number[];
  firstLine: number | null;
  lastLine: number | null;
}

function emptyTotals(): RunTotals {
  return { steps: 0, trainedSteps: 0, experiences: 0, trained: 0, gatedOut: 0, nonFinite: 0, gateWeights: [], losses: {}, terms: {}, stepMs: [], firstLine: null, lastLine: null };
}

const mean = (xs: readonly number[]) => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);
const median = (xs: readonly number[]) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x: number | null, digits = 6) => (x === null || !Number.isFinite(x) ? null : Number(x.toPrecision(digits)));
const meanOf = (record: Record<string, number[]>) => Object.fromEntries(Object.entries(record).map(([k, v]) => [k, round(mean(v))]));

function addStep(totals: RunTotals, log: StepLog, lines: readonly number[]): void {
  totals.steps++;
  if (log.trained) totals.trainedSteps++;
  totals.stepMs.push(log.wallMs);
  for (const [name, value] of Object.entries(log.loss)) if (value !== null && Number.isFinite(value)) (totals.losses[name] ??= []).push(value);
  log.experiences.forEach((e) => {
    totals.gateWeights.push(e.gate.weight);
    for (const [name, value] of Object.entries(e.terms)) if (Number.isFinite(value)) (totals.terms[name] ??= []).push(value);
  });
  const n = lines.length;
  totals.experiences += n;
  if (log.skipped === 'non-finite') totals.nonFinite += n;
  else {
    const trained = log.experiences.filter((e) => e.gate.trained).length;
    totals.trained += log.trained ? trained : 0;
    totals.gatedOut += log.trained ? n - trained : n;
  }
  totals.firstLine ??= lines[0];
  totals.lastLine = lines[lines.length - 1];
}

/** Character offset just past line `line` (1-based) of `text`, newline included. */
function endOfLine(text: string, line: number): number {
  let at = 0;
  for (let i = 1; i <= line; i++) {
    const next = text.indexOf('\n', at);
    if (next < 0) return text.length;
    at = next + 1;
  }
  return at;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

interface ResumeRecord { file: string; lastLine: number; prefixSha256: string; consumedTotal: number; user: string | null }

function resumeRecordOf(record: AdapterVersionRecord): ResumeRecord | null {
  const i = (record.metrics as { interactions?: Partial<ResumeRecord> }).interactions;
  if (i === undefined || typeof i.file !== 'string' || !Number.isSafeInteger(i.lastLine) || typeof i.prefixSha256 !== 'string') return null;
  return { file: i.file, lastLine: i.lastLine!, prefixSha256: i.prefixSha256, consumedTotal: Number.isSafeInteger(i.consumedTotal) ? i.consumedTotal! : 0, user: typeof i.user === 'string' ? i.user : null };
}

export async function runLearn(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' },
      bundle: { type: 'string' },
      interactions: { type: 'string' },
      out: { type: 'string' },
      user: { type: 'string' },
      kind: { type: 'string' },
      rank: { type: 'string' },
      features: { type: 'string' },
      'keep-features': { type: 'string' },
      targets: { type: 'string' },
      layers: { type: 'string' },
      lr: { type: 'string' },
      batch: { type: 'string', default: '1' },
      'commit-every': { type: 'string' },
      resume: { type: 'boolean', default: false },
      seed: { type: 'string', default: '0' },
      'sample-tokens': { type: 'string' },
      'gate-threshold': { type: 'string' },
      'no-quality': { type: 'boolean', default: false },
      'quality-cache': { type: 'string' },
      log: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  // Every flag is checked before anything is read or written.
  if (values.interactions === undefined) throw new RangeError('imprint learn: --interactions FILE.jsonl is required (one interaction per line; see imprint learn --help)');
  if (values.out === undefined) throw new RangeError('imprint learn: --out ADAPTER_DIR is required (the adapter store to create or continue)');
  const choice: AdapterChoice = {
    kind: parseKindFlag(values.kind), rank: parseRankFlag(values.rank), targets: parseTargetsFlag(values.targets), layers: parseLayersFlag(values.layers),
  };
  const features = parseFeaturesFlag(values.features, values['keep-features']);
  const lr = parseNumberFlag('lr', values.lr, (n) => n > 0 && Number.isFinite(n), 'a positive number');
  const batch = parseNumberFlag('batch', values.batch, (n) => Number.isSafeInteger(n) && n >= 1, 'a positive integer')!;
  const commitEvery = parseNumberFlag('commit-every', values['commit-every'], (n) => Number.isSafeInteger(n) && n >= 1, 'a positive integer (steps)');
  const seed = parseNumberFlag('seed', values.seed, (n) => Number.isSafeInteger(n), 'an integer')!;
  const sampleTokens = parseNumberFlag('sample-tokens', values['sample-tokens'], (n) => Number.isSafeInteger(n) && n >= 1, 'a positive integer');
  const threshold = parseNumberFlag('gate-threshold', values['gate-threshold'], (n) => n >= 0 && n <= 1, 'a number in [0, 1]');
  if (values['quality-cache'] !== undefined && values['no-quality']) throw new RangeError('--quality-cache and --no-quality contradict each other');

  const file = values.interactions;
  if (!existsSync(file)) throw new RangeError(`--interactions ${file} does not exist`);
  if (statSync(file).isDirectory()) throw new RangeError(`--interactions ${file} is a directory; expected a JSONL file`);
  const text = readFileSync(file, 'utf8');
  const parsed = parseExperiencesJsonl(text);
  for (const line of describeLineErrors(file, parsed.errors)) console.error(line);
  if (parsed.experiences.length === 0) {
    const lines = text.split('\n').filter((l) => l.trim() !== '').length;
    throw new RangeError(`--interactions ${file} has no valid interaction (${lines} non-blank line${lines === 1 ? '' : 's'}, ${parsed.errors.length} bad): nothing to learn; see the README ("Learning") for the format`);
  }

  const users = [...new Set(parsed.experiences.map((p) => p.experience.user).filter((u): u is string => u !== undefined))];
  let valid = parsed.experiences;
  if (values.user !== undefined) {
    valid = valid.filter((p) => p.experience.user === values.user);
    if (valid.length === 0) {
      throw new RangeError(`--user ${values.user}: no valid line of ${file} is for that user (${users.length === 0 ? 'no line names a user' : `its users: ${users.slice(0, 8).join(', ')}${users.length > 8 ? ', ...' : ''}`})`);
    }
    console.error(`--user ${values.user}: ${valid.length} of the ${parsed.experiences.length} valid interactions are this user's; the others are skipped`);
  } else if (users.length > 1) {
    console.error(`(${file} holds interactions of ${users.length} users, ${users.slice(0, 5).join(', ')}${users.length > 5 ? ', ...' : ''}: all go into one adapter; --user NAME learns one user's)`);
  }

  const out = values.out;
  const loaded = loadModelArgument(values.model, 'learn');
  if (loaded.tokenizer === null) throw new RangeError(`imprint learn: ${loaded.dir} has no tokenizer.json, so interactions cannot be encoded`);
  const prepared = prepareAdapter({
    loaded, modelFlag: values.model, storeDir: out, storeLabel: `--out ${out}`, storeFlag: '--out', bundleFlag: values.bundle, choice, seed,
    ...(features === undefined ? {} : { features }), experiences: valid.map((p) => p.experience),
  });
  if (prepared.featuresLine !== null) console.error(prepared.featuresLine);
  const { adapters, continuedFrom } = prepared;
  const absoluteFile = resolve(file);

  let todo: ParsedExperience[] = valid;
  let previous: ResumeRecord | null = null;
  if (values.resume) {
    if (continuedFrom === null) throw new RangeError(`--resume: ${out} holds no adapter yet, so there is nothing to resume; drop --resume`);
    previous = resumeRecordOf(continuedFrom.stored.record);
    if (previous === null) throw new RangeError(`--resume: version ${continuedFrom.version} of ${out} records no interactions file (it was not made by imprint learn); drop --resume to learn from all of ${file}`);
    if (previous.file !== absoluteFile) throw new RangeError(`--resume: version ${continuedFrom.version} of ${out} was learned from ${previous.file}, not ${absoluteFile}; drop --resume to learn from all of ${file}`);
    if (previous.user !== (values.user ?? null)) {
      const was = previous.user === null ? 'every user\'s lines' : `the lines of --user ${previous.user}`;
      throw new RangeError(`--resume: version ${continuedFrom.version} of ${out} learned from ${was}, and this run asks for ${values.user === undefined ? 'every user\'s' : `those of --user ${values.user}`}; resume with the same --user, or drop --resume`);
    }
    if (sha256(text.slice(0, endOfLine(text, previous.lastLine))) !== previous.prefixSha256) {
      throw new RangeError(`--resume: ${file} changed in its first ${previous.lastLine} lines since version ${continuedFrom.version} consumed them, so the lines to skip are unknown; drop --resume to learn from all of it`);
    }
    const skipped = todo.filter((p) => p.line <= previous!.lastLine).length;
    todo = todo.filter((p) => p.line > previous!.lastLine);
    console.error(`resuming after line ${previous.lastLine} of ${file}: ${skipped} interaction${skipped === 1 ? '' : 's'} already learned, ${todo.length} to go`);
    if (todo.length === 0) {
      const message = `nothing new to learn: version ${continuedFrom.version} of ${out} already consumed every interaction of ${file} (through line ${previous.lastLine}); no version was made`;
      if (values.json) console.log(JSON.stringify({ out: resolve(out), version: null, versions: [], current: continuedFrom.version, message }));
      else console.log(message);
      return 0;
    }
  }

  const quality: QualityDetector | null = values['no-quality'] ? null : qualityDetectorFor(loaded, adapters, values['quality-cache'] ?? join(out, QUALITY_CACHE_FILE));
  const learnerOptions: LearnerOptions = {
    seed, ...(lr === undefined ? {} : { lr }), ...(sampleTokens === undefined ? {} : { sampleTokens }),
    ...(threshold === undefined ? {} : { gate: { threshold } }),
  };
  const learner = new OnlineLearner({ model: loaded.model, tokenizer: loaded.tokenizer, adapters, encoding: worldChatEncoding(loaded.tokenizer), quality, config: learnerOptions });
  const store = continuedFrom?.store ?? AdapterStore.open(out);
  const resumedLearner = continuedFrom === null ? null : resumeLearner(learner, continuedFrom.store, continuedFrom.version);
  if (resumedLearner !== null) console.error(resumedLearner.line);

  const batches: ParsedExperience[][] = [];
  for (let i = 0; i < todo.length; i += batch) batches.push(todo.slice(i, i + batch));
  let stopping = false;
  const onSignal = () => {
    if (stopping) {
      console.error('\nimprint learn: interrupted again; quitting without committing the steps since the last version');
      process.exit(130);
    }
    stopping = true;
    console.error('\nimprint learn: stopping after the current step and committing what was learned (Ctrl-C again to quit without committing)');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const started = performance.now();
  const run = emptyTotals();
  let sinceCommit = emptyTotals();
  let consumedTotal = previous?.consumedTotal ?? 0;
  const committed: AdapterVersionRecord[] = [];
  const normsAtStart = adapters.featureNorms().byFeature;
  let normsAtCommit = normsAtStart;
  let commitStarted = performance.now();
  const config = learner.config;

  const commit = (interrupted: boolean): void => {
    const lastLine = sinceCommit.lastLine!;
    consumedTotal += sinceCommit.experiences;
    const norms = adapters.featureNorms();
    const total = Math.sqrt(norms.adapters.reduce((s, a) => s + a.total * a.total, 0));
    const metrics = {
      source: 'imprint learn',
      interactions: {
        file: absoluteFile, ...(values.user === undefined ? {} : { user: values.user }), firstLine: sinceCommit.firstLine, lastLine, consumed: sinceCommit.experiences, consumedTotal,
        prefixSha256: sha256(text.slice(0, endOfLine(text, lastLine))), badLines: parsed.errors.slice(0, 100).map((e) => e.line), badLineCount: parsed.errors.length,
      },
      steps: sinceCommit.steps,
      trainedSteps: sinceCommit.trainedSteps,
      experiences: { trained: sinceCommit.trained, gatedOut: sinceCommit.gatedOut, nonFinite: sinceCommit.nonFinite },
      meanLoss: { ...meanOf(sinceCommit.losses), terms: meanOf(sinceCommit.terms) },
      meanGateWeight: round(mean(sinceCommit.gateWeights)),
      wallMs: Math.round(performance.now() - commitStarted),
      stepMsMedian: round(median(sinceCommit.stepMs), 4),
      adapterNorm: { total: round(total), byFeature: Object.fromEntries(Object.entries(norms.byFeature).map(([k, v]) => [k, round(v)])) },
      topMoved: topMovedFeatures(normsAtCommit, norms.byFeature, prepared.labels, 5).map((f) => ({ id: f.id, change: round(f.change) })),
      learner: { lr: config.lr, batch, sampleTokens: config.sampleTokens, seed, gateThreshold: config.gate.threshold, quality: quality !== null },
      ...(interrupted ? { interrupted: true } : {}),
    };
    // Only on top of what this run started from: another writer's version is never silently superseded.
    const expected = committed.length > 0 ? committed[committed.length - 1].version : continuedFrom?.version ?? null;
    committed.push(store.commit(adapters, { metrics, ifCurrent: expected, learner: learnerStateToSave(learner) }));
    normsAtCommit = norms.byFeature;
    sinceCommit = emptyTotals();
    commitStarted = performance.now();
  };

  const progress = new ProgressBar({ total: todo.length, unit: 'interactions' });
  try {
    for (const group of batches) {
      const experiences: Experience[] = group.map((p) => p.experience);
      const log = learner.step(experiences);
      const lines = group.map((p) => p.line);
      addStep(run, log, lines);
      addStep(sinceCommit, log, lines);
      if (values.log !== undefined) appendFileSync(values.log, `${JSON.stringify({ lines, ...log })}\n`);
      if (log.skipped === 'non-finite') console.error(`\nline ${lines.join(',')}: ${log.error}`);
      const last = log.experiences[log.experiences.length - 1];
      progress.update(run.experiences, run.experiences, {
        gate: last === undefined ? '-' : last.gate.weight.toFixed(2),
        loss: log.loss.experiences === null ? '-' : log.loss.experiences.toFixed(3),
        trained: `${run.trained}/${run.experiences}`,
      });
      if (commitEvery !== undefined && sinceCommit.steps >= commitEvery) commit(false);
      // Lets Ctrl-C (and any other signal) in between steps.
      await new Promise<void>((done) => setImmediate(done));
      if (stopping) break;
    }
    progress.finish();
    if (sinceCommit.steps > 0) commit(stopping);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const norms = adapters.featureNorms();
  const moved = topMovedFeatures(normsAtStart, norms.byFeature, prepared.labels, 5);
  const wallMs = Math.round(performance.now() - started);
  const lastVersion = committed[committed.length - 1];
  const summary = {
    out: resolve(out),
    kind: [...new Set(adapters.config.adapters.map((a) => a.kind))].join(','),
    config: prepared.description,
    bundle: prepared.bundleName,
    continuedFrom: continuedFrom?.version ?? null,
    /** Whether the learner's state saved with that version was restored (null: a new adapter). */
    learnerStateResumed: resumedLearner?.resumed ?? null,
    versions: committed.map((r) => r.version),
    version: lastVersion.version,
    interactions: {
      file: absoluteFile, valid: parsed.experiences.length, badLines: parsed.errors.map((e) => e.line), consumed: run.experiences,
      ...(values.user === undefined ? {} : { user: values.user, otherUsers: parsed.experiences.length - valid.length }),
      skippedByResume: valid.length - todo.length, remaining: todo.length - run.experiences, lastLine: run.lastLine,
    },
    steps: run.steps,
    trainedSteps: run.trainedSteps,
    experiences: { trained: run.trained, gatedOut: run.gatedOut, nonFinite: run.nonFinite },
    meanGateWeight: round(mean(run.gateWeights)),
    meanLoss: { ...meanOf(run.losses), terms: meanOf(run.terms) },
    stepMsMedian: round(median(run.stepMs), 4),
    wallMs,
    topMoved: moved.map((f) => ({ id: f.id, label: f.label, change: round(f.change) })),
    interrupted: stopping,
  };
  if (values.json) {
    console.log(JSON.stringify(summary));
  } else {
    const kinds = adapters.config.adapters.map((a) => kindDescription(a.kind));
    const lines = [
      `learned from ${file}: ${run.experiences} interaction${run.experiences === 1 ? '' : 's'} in ${run.steps} step${run.steps === 1 ? '' : 's'} ` +
        `(${run.trained} trained, ${run.gatedOut} stored but gated out${run.nonFinite > 0 ? `, ${run.nonFinite} in non-finite steps` : ''})` +
        `${parsed.errors.length > 0 ? `; ${parsed.errors.length} bad line${parsed.errors.length === 1 ? '' : 's'} skipped` : ''}` +
        `${summary.interactions.skippedByResume > 0 ? `; ${summary.interactions.skippedByResume} already learned (--resume)` : ''}`,
      `  mean gate weight ${summary.meanGateWeight?.toFixed(3) ?? '-'}; mean loss ${Object.entries(meanOf(run.losses)).map(([k, v]) => `${k} ${v === null ? '-' : v.toFixed(4)}`).join(', ') || '-'}` +
        `${Object.keys(summary.meanLoss.terms).length > 0 ? ` (terms: ${Object.entries(summary.meanLoss.terms).map(([k, v]) => `${k} ${v === null ? '-' : v.toFixed(4)}`).join(', ')})` : ''}`,
      `  moved most: ${describeMoved(moved)}`,
      `  ${[...new Set(kinds)].join(' + ')} (${prepared.description}), bundle ${prepared.bundleName}; ${committed.length === 1 ? 'version' : 'versions'} ${committed.map((r) => r.version).join(', ')} committed to ${out}` +
        `${continuedFrom === null ? '' : ` (continued from version ${continuedFrom.version})`}; ${(wallMs / 1000).toFixed(1)} s, median step ${summary.stepMsMedian === null ? '-' : `${formatNorm(summary.stepMsMedian)} ms`}`,
    ];
    if (stopping) lines.push(`  interrupted: ${summary.interactions.remaining} interaction${summary.interactions.remaining === 1 ? '' : 's'} left; rerun with --resume to learn from them`);
    console.log(lines.join('\n'));
  }
  return stopping ? 130 : 0;
}
