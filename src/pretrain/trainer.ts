import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trainByteLevelBpe } from '../io/bpeTrainer.js';
import { TextTokenizer } from '../io/tokenizer.js';
import { parseModelConfig } from '../model/architectures/index.js';
import { CausalLm } from '../model/causalLm.js';
import { saveModel } from '../model/save.js';
import { meanNextTokenLoss } from '../model/score.js';
import { lineChartSvg } from '../plot/lineChart.js';
import { AdamW, Tape, clipGradNorm, crossEntropy, type Tensor } from '../tensor/index.js';
import { allSpecialTokens, chatTemplate, specialTokens } from '../world/chatFormat.js';
import { type DocumentKind, corpusDocument } from '../world/corpus.js';
import { heldOutSequences, trainingBatch } from './batches.js';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { type CurriculumPhase, type PretrainConfig, llamaConfigFor, phaseAt, totalSteps } from './config.js';
import { learningRateAt } from './schedule.js';

// Pretraining from scratch on the generated world: tokenizer, model, AdamW with a
// warm-up + cosine schedule and gradient clipping, periodic held-out evaluation,
// crash-safe checkpoints with --resume, and at the end the model directory and a
// loss-curve plot. The run directory holds everything needed to resume.

export interface PretrainRecord {
  step: number;
  loss: number;
  lr: number;
}

export interface EvalRecord {
  step: number;
  losses: Record<DocumentKind, number>;
}

export interface RunLog {
  config: PretrainConfig;
  train: PretrainRecord[];
  evals: EvalRecord[];
  tokensSeen: number;
  tokensByKind: Record<DocumentKind, number>;
  seconds: number;
}

export interface PretrainResult {
  model: CausalLm;
  tokenizer: TextTokenizer;
  modelConfig: Record<string, unknown>;
  log: RunLog;
}

export function runTokenizer(config: PretrainConfig, runDir: string): TextTokenizer {
  if (existsSync(join(runDir, 'tokenizer.json'))) return TextTokenizer.fromDirectory(runDir);
  const texts: string[] = [];
  for (let i = 0; i < config.tokenizerDocuments; i++) texts.push(corpusDocument(config.seed + 17, i, config.mix).text);
  const trained = trainByteLevelBpe(texts, {
    vocabSize: config.vocabSize,
    specialTokens: allSpecialTokens,
    bosToken: specialTokens.bos,
    eosToken: specialTokens.eos,
    padToken: specialTokens.pad,
    chatTemplate,
    modelMaxLength: config.contextLength,
  });
  const tokenizer = TextTokenizer.fromJson(trained.tokenizerJson, trained.tokenizerConfig);
  mkdirSync(runDir, { recursive: true });
  tokenizer.save(runDir);
  return tokenizer;
}

export interface PretrainOptions {
  runDir: string;
  resume: boolean;
  /** Called after every step (the CLI draws its progress bar here). */
  onStep?: (step: number, record: PretrainRecord, tokensThisRun: number) => void;
  /** Set to true (e.g. on SIGINT) to checkpoint and stop after the current step. */
  shouldStop?: () => boolean;
  quiet?: boolean;
}

/**
 * A checkpoint resumes under a config that differs only in curriculum phases it has
 * not entered yet (phases may be appended or changed ahead of the run); the main
 * run and every phase already begun must match exactly.
 */
function assertResumable(saved: PretrainConfig, config: PretrainConfig, startStep: number, checkpointDir: string): void {
  // Runs from before phases were a list saved their one phase as `finalPhase`.
  const { phases: savedList = [], finalPhase, ...savedBase } = saved as PretrainConfig & { finalPhase?: Omit<CurriculumPhase, 'purpose'> };
  const savedPhases: Omit<CurriculumPhase, 'purpose'>[] = finalPhase ? [finalPhase] : savedList;
  const { phases = [], ...base } = config;
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (!same(savedBase, base)) throw new Error(`${checkpointDir} was made with a different configuration; resume it with the same one`);
  let start = config.steps;
  for (let i = 0; i < phases.length && start < startStep; i++) {
    const { purpose: _now, ...now } = phases[i];
    const { purpose: _then, ...then } = { purpose: '', ...savedPhases[i] };
    if (savedPhases[i] === undefined || !same(then, now)) {
      throw new Error(`${checkpointDir} is past the start of curriculum phase ${i + 1} (step ${start}), which the config has changed; resume it with that phase as it was`);
    }
    start += phases[i].steps;
  }
}

export function pretrain(config: PretrainConfig, options: PretrainOptions): PretrainResult & { stoppedEarly: boolean } {
  const { runDir } = options;
  mkdirSync(runDir, { recursive: true });
  if (!options.resume && hasCheckpoint(join(runDir, 'checkpoint'))) {
    throw new Error(`${runDir} already holds a checkpoint; pass --resume to continue it, or choose another --run-dir`);
  }
  const tokenizer = runTokenizer(config, runDir);
  if (tokenizer.vocabSize !== config.vocabSize) throw new Error(`the run's tokenizer has ${tokenizer.vocabSize} tokens, the config asks for ${config.vocabSize}`);
  const special = { bos: tokenizer.bosTokenId!, eos: tokenizer.eosTokenId!, pad: tokenizer.padTokenId! };
  const modelConfig = llamaConfigFor(config, special);
  const spec = parseModelConfig(modelConfig, 'pretrain config');
  const model = CausalLm.random(spec, config.seed, 0.02);
  const decayed: Tensor[] = [];
  const notDecayed: Tensor[] = [];
  for (const [name, t] of model.params) (name.endsWith('norm.weight') || name.includes('layernorm') ? notDecayed : decayed).push(t);
  const optimiser = new AdamW([{ params: decayed, weightDecay: config.weightDecay }, { params: notDecayed, weightDecay: 0 }], { lr: config.peakLr, betas: [0.9, 0.95] });
  const checkpointDir = join(runDir, 'checkpoint');
  let log: RunLog = { config, train: [], evals: [], tokensSeen: 0, tokensByKind: { home: 0, coding: 0, general: 0 }, seconds: 0 };
  let startStep = 0;
  if (options.resume && hasCheckpoint(checkpointDir)) {
    const state = loadCheckpoint<RunLog>(checkpointDir, model.params, optimiser);
    log = state.extra;
    startStep = state.step;
    assertResumable(log.config, config, startStep, checkpointDir);
    log.config = config;
  }
  const evalSets = Object.fromEntries((['home', 'coding', 'general'] as const).map((kind) =>
    [kind, heldOutSequences(tokenizer, config.seed, config.evalSequences, config.contextLength, kind, config.mix)])) as Record<DocumentKind, number[][]>;
  const evaluate = (step: number) => {
    const losses = { home: meanNextTokenLoss(model, evalSets.home), coding: meanNextTokenLoss(model, evalSets.coding), general: meanNextTokenLoss(model, evalSets.general) };
    log.evals.push({ step, losses });
  };
  const started = Date.now();
  const secondsBefore = log.seconds;
  let tokensThisRun = 0;
  let stoppedEarly = false;
  const allSteps = totalSteps(config);
  for (let step = startStep; step < allSteps; step++) {
    const at = phaseAt(config, step);
    const phase = at?.phase ?? null;
    const lr = at === null
      ? learningRateAt(step, { peakLr: config.peakLr, minLr: config.minLr, warmupSteps: config.warmupSteps, totalSteps: config.steps })
      : learningRateAt(at.stepInPhase, { peakLr: at.phase.peakLr, minLr: at.phase.minLr, warmupSteps: at.phase.warmupSteps, totalSteps: at.phase.steps });
    for (const group of optimiser.groups) group.lr = lr;
    const batch = trainingBatch(tokenizer, config.seed, step, config.batch, config.contextLength, phase?.mix ?? config.mix, phase?.lossOn ?? 'all');
    const tape = new Tape();
    let loss: number;
    try {
      optimiser.zeroGrad();
      const { logits } = model.forward(tape, batch.inputs, config.batch, config.contextLength);
      const lossTensor = crossEntropy(tape, logits!, batch.targets, batch.weights ? { weights: batch.weights } : {});
      loss = lossTensor.item();
      tape.backward(lossTensor);
      clipGradNorm(model.parameters(), config.clipNorm);
      optimiser.step();
    } finally {
      tape.release();
    }
    const tokens = config.batch * config.contextLength;
    tokensThisRun += tokens;
    log.tokensSeen += tokens;
    for (const kind of ['home', 'coding', 'general'] as const) log.tokensByKind[kind] += batch.tokensByKind[kind];
    const record = { step: step + 1, loss, lr };
    log.train.push(record);
    options.onStep?.(step + 1, record, tokensThisRun);
    const last = step + 1 === allSteps;
    if ((step + 1) % config.evalEvery === 0 || last) evaluate(step + 1);
    const stop = options.shouldStop?.() ?? false;
    if ((step + 1) % config.checkpointEvery === 0 || last || stop) {
      log.seconds = secondsBefore + (Date.now() - started) / 1000;
      saveCheckpoint(checkpointDir, step + 1, model.params, optimiser, log);
    }
    if (stop && !last) {
      stoppedEarly = true;
      break;
    }
  }
  if (startStep >= allSteps && log.evals.length === 0) evaluate(allSteps);
  log.seconds = secondsBefore + (Date.now() - started) / 1000;
  return { model, tokenizer, modelConfig, log, stoppedEarly };
}

/** Writes the model directory (HF layout) and the loss-curve plot. */
export function writePretrainOutputs(result: PretrainResult, modelDir: string): void {
  saveModel(modelDir, result.model, result.modelConfig, { tokenizer: result.tokenizer });
  const smoothed: [number, number][] = [];
  const window = Math.max(1, Math.floor(result.log.train.length / 200));
  for (let i = 0; i < result.log.train.length; i += window) {
    const slice = result.log.train.slice(i, i + window);
    smoothed.push([slice[slice.length - 1].step, slice.reduce((a, r) => a + r.loss, 0) / slice.length]);
  }
  const series = [
    { name: 'train (smoothed)', points: smoothed },
    ...(['home', 'coding', 'general'] as const).map((kind) => ({ name: `held-out ${kind}`, points: result.log.evals.map((e) => [e.step, e.losses[kind]] as [number, number]) })),
  ];
  writeFileSync(join(modelDir, 'loss-curve.svg'), lineChartSvg(series, { title: `${result.log.config.name}: pretraining loss`, xLabel: 'step', yLabel: 'cross-entropy (nats/token)' }));
}
