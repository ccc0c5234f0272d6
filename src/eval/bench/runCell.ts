import { type ChatEncoding, type Experience, type StudentForward, generalTextLoss, reactionFromFeedback, sampleReply } from '../../learn/index.js';
import type { StructuredMemory } from '../../memory/index.js';
import type { CausalLm } from '../../model/causalLm.js';
import { generateFromIds } from '../../model/generate.js';
import { type FlopCounter, Random } from '../../tensor/index.js';
import { factSet } from '../../world/knowledgeBase.js';
import type { ChatTurn } from '../../world/types.js';
import { type Agent, garbageInteraction, meanWantedScore, wantedScores } from './agents.js';
import { memoryContext, newUserMemory } from './methods/memoryMethods.js';
import type { BenchMethod, MethodContext, MethodState } from './methods/method.js';
import type { Scenario } from './scenarios.js';

// One cell of the benchmark: one method on one scenario with one seed.
//
// Per interaction: the agent sends a request; the method replies (its model,
// its forward options, and for memory methods its notes in the prompt); the
// agent reacts to the reply text; the interaction becomes an experience whose
// context is the notes a structured memory holds for this request (the same
// memory every method's teacher and the memory baseline use); the method learns.
// In the adversarial scenarios some interactions are garbage instead.
//
// Measured, with no memory in the prompt (and with it, for memory methods):
//   - per agent, at its checkpoints, the judges' mean confidence that replies
//     to fixed held-out requests have the agent's wanted values;
//   - at the end, the general-text loss and the fact-QA accuracy of the state(s)
//     the method ended with (forgetting), against the base model's;
//   - sequential: after each agent's block, every agent so far (backward
//     transfer, as GEM defines it);
//   - cost: wall time and FLOPs per update (counted at the kernels), bytes held per user, extra prompt
//     tokens per request, and inference slowdown (scoring time with the method
//     over the base model's).

export interface CellSettings {
  heldOut: number;
  replyTokens: number;
  temperature: number;
  /** Notes retrieved into a teacher's context and the memory baseline's prompt are capped by methods/memoryMethods.ts. */
  facts: number;
}

export interface CurvePoint {
  interactions: number;
  /** Judges' mean wanted-value confidence over held-out replies (null: the judges could score none). */
  score: number | null;
  /** The same with the method's memory in the prompt (memory methods only). */
  scoreWithMemory?: number | null;
}

export interface AgentResult {
  id: string;
  wants: Record<string, string>;
  curve: CurvePoint[];
  garbageInteractions: number;
}

export interface CellResult {
  method: string;
  scenario: string;
  seed: number;
  /** unavailable: the method cannot run here (decided before running); failed: it raised an error while running. */
  status: 'ok' | 'unavailable' | 'failed';
  reason?: string;
  agents: AgentResult[];
  /** Sequential only: transfer[i][j] = score on agent j after agent i's block. */
  transfer?: (number | null)[][];
  generalLoss: { base: number; after: number } | null;
  factQa: { base: number; after: number } | null;
  cost: {
    updateMsMedian: number | null;
    flopsPerUpdate: number | null;
    updates: number;
    interactions: number;
    bytesPerUser: number;
    extraPromptTokens: number;
    slowdown: number | null;
  } | null;
  wallMs: number;
  /** The learning rate the method ran at (absent for methods that learn nothing); a resumed run redoes a cell whose rate has since changed. */
  learningRate?: number;
}

/** What every cell of a run shares: the base model's figures (measured once) and the probes. */
export interface BaseFigures {
  generalLoss: number;
  factQa: number;
}

export interface CellInputs {
  method: BenchMethod;
  scenario: Scenario;
  seed: number;
  context: Omit<MethodContext, 'seed' | 'space'> & { spaceFor: (domain: Scenario['domain']) => MethodContext['space'] };
  settings: CellSettings;
  passages: number[][];
  base: BaseFigures;
  /** The process's kernel FLOP counter (src/tensor/flopCounter.ts), read around each update. */
  flops: FlopCounter;
  onProgress?: (done: number, total: number) => void;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Fact-QA accuracy: greedy answers to the first `count` fact questions that contain the expected answer. */
export async function factAccuracy(model: CausalLm, forward: StudentForward, encoding: ChatEncoding, count: number): Promise<number> {
  const facts = factSet().slice(0, count);
  if (facts.length === 0) return Number.NaN;
  const run = await generateFromIds(model, facts.map((f) => encoding.prompt([{ role: 'user', content: f.question }])), {
    maxTokens: 24, temperature: 0, seed: 0, stopTokenIds: [...encoding.stopTokenIds], hooks: forward.hooks, linearHook: forward.linearHook,
  });
  const correct = run.results.filter((r, i) => encoding.decode(r.tokenIds).toLowerCase().includes(facts[i].answer.toLowerCase())).length;
  return correct / facts.length;
}

export async function measureBase(model: CausalLm, encoding: ChatEncoding, passages: number[][], facts: number): Promise<BaseFigures> {
  return { generalLoss: generalTextLoss(model, {}, passages), factQa: await factAccuracy(model, {}, encoding, facts) };
}

/** Held-out requests of one agent: fixed by the cell's seed and the agent, the same for every method. */
function heldOutRequests(agent: Agent, seed: number, count: number): ChatTurn[][] {
  const rng = new Random(seed * 7919 + hashString(agent.id));
  return Array.from({ length: count }, () => agent.request(rng));
}

function hashString(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h % 1_000_003;
}

async function agentScore(state: MethodState, encoding: ChatEncoding, agent: Agent, requests: ChatTurn[][], settings: CellSettings, seed: number, withMemory: boolean): Promise<number | null> {
  const prompts = requests.map((turns) => encoding.prompt(state.prompt(turns, withMemory)));
  const forward = state.forward();
  const run = await generateFromIds(state.model, prompts, {
    maxTokens: settings.replyTokens, temperature: settings.temperature, seed, stopTokenIds: [...encoding.stopTokenIds], hooks: forward.hooks, linearHook: forward.linearHook,
  });
  const scores = run.results.map((r) => meanWantedScore(wantedScores(agent.kind, agent.wants, encoding.decode(r.tokenIds)))).filter((s): s is number => s !== null);
  return scores.length === 0 ? null : scores.reduce((a, b) => a + b, 0) / scores.length;
}

export async function runCell(inputs: CellInputs): Promise<CellResult> {
  const { method, scenario, seed, settings } = inputs;
  const started = performance.now();
  const space = inputs.context.spaceFor(scenario.domain);
  const ctx: MethodContext = { ...inputs.context, space, seed };
  const { encoding } = ctx;
  const empty = { method: method.name, scenario: scenario.name, seed, ...(method.learningRate === undefined ? {} : { learningRate: method.learningRate }), agents: [], generalLoss: null, factQa: null, cost: null };
  const unavailable = method.unavailable(ctx);
  if (unavailable !== null) return { ...empty, status: 'unavailable', reason: unavailable, wallMs: 0 };

  const states: MethodState[] = [];
  const memories: StructuredMemory[] = [];
  const stateFor = (i: number) => {
    const at = scenario.shared ? 0 : i;
    if (states[at] === undefined) {
      states[at] = method.create(ctx);
      memories[at] = newUserMemory();
    }
    return { state: states[at], memory: memories[at] };
  };
  const held = scenario.agents.map((agent) => heldOutRequests(agent, seed, settings.heldOut));
  const evalSeed = seed * 31 + 5;
  const measure = async (state: MethodState, i: number, interactions: number): Promise<CurvePoint> => {
    const agent = scenario.agents[i];
    const point: CurvePoint = { interactions, score: await agentScore(state, encoding, agent, held[i], settings, evalSeed + i, false) };
    if (method.memoryInPrompt) point.scoreWithMemory = await agentScore(state, encoding, agent, held[i], settings, evalSeed + i, true);
    return point;
  };

  const agents: AgentResult[] = scenario.agents.map((agent) => ({ id: agent.id, wants: agent.wants, curve: [], garbageInteractions: 0 }));
  const transfer: (number | null)[][] = [];
  const updateMs: number[] = [];
  const flops: number[] = [];
  let updates = 0;
  let interactionsDone = 0;
  const total = scenario.agents.length * scenario.interactions;
  // A shared state is measured on every agent before anything is learned; agent i's later "0" would already carry the blocks before it.
  if (scenario.shared && scenario.evaluateAt.includes(0)) {
    for (let i = 0; i < scenario.agents.length; i++) agents[i].curve.push(await measure(stateFor(0).state, i, 0));
  }
  for (const [i, agent] of scenario.agents.entries()) {
    const { state, memory } = stateFor(i);
    const rng = new Random(seed * 1_000_003 + hashString(agent.id) + 1);
    const replyRng = new Random(seed * 1_000_003 + hashString(agent.id) + 2);
    const garbageRng = new Random(seed * 1_000_003 + hashString(agent.id) + 3);
    if (!scenario.shared && scenario.evaluateAt.includes(0)) agents[i].curve.push(await measure(state, i, 0));
    for (let n = 1; n <= scenario.interactions; n++) {
      const garbage = scenario.garbage !== null && garbageRng.uniform() < scenario.garbage.rate
        ? garbageInteraction(scenario.garbage.kinds[agents[i].garbageInteractions % scenario.garbage.kinds.length], agent, garbageRng)
        : null;
      if (garbage !== null) agents[i].garbageInteractions++;
      const turns = garbage?.request ?? agent.request(rng);
      const forward = state.forward();
      const sampled = sampleReply(state.model, encoding.prompt(state.prompt(turns, true)), {
        maxTokens: settings.replyTokens, temperature: settings.temperature, rng: replyRng, stopTokenIds: encoding.stopTokenIds, forward,
      });
      const reply = encoding.decode(sampled.stopped ? sampled.tokens.slice(0, -1) : sampled.tokens).trim() || '...';
      const feedback = garbage !== null ? garbage.react(reply) : agent.react(reply, rng);
      const context = memoryContext(memory, turns);
      const experience: Experience = { id: `${agent.id}-${n}`, user: agent.id, prompt: turns, reply, reaction: reactionFromFeedback(feedback), ...(context === undefined ? {} : { context }) };
      memory.add({ ...experience, context: undefined }, n);
      // learn is synchronous, so the counter's change is this update's work alone.
      const flopsBefore = inputs.flops.flops;
      const outcome = state.learn(experience);
      if (outcome.updated) {
        updates++;
        updateMs.push(outcome.ms);
        flops.push(inputs.flops.flops - flopsBefore);
      }
      interactionsDone++;
      inputs.onProgress?.(interactionsDone, total);
      if (n !== scenario.interactions && scenario.evaluateAt.includes(n)) agents[i].curve.push(await measure(state, i, n));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (scenario.evaluateAt.includes(scenario.interactions) && !scenario.shared) agents[i].curve.push(await measure(state, i, scenario.interactions));
    if (scenario.shared) {
      // Every agent so far, after this one's block: row i of the transfer matrix.
      const row: (number | null)[] = [];
      for (let j = 0; j < scenario.agents.length; j++) row.push(j <= i ? (await measure(state, j, scenario.interactions)).score : null);
      transfer.push(row);
      agents[i].curve.push({ interactions: scenario.interactions, score: row[i] });
    }
  }

  // Forgetting and cost of the state(s) the method ended with (the mean over users' states).
  const finals = states.filter((s) => s !== undefined);
  let lossSum = 0;
  let qaSum = 0;
  let methodMs = 0;
  let baseMs = 0;
  for (const state of finals) {
    // The base model timed on the same passages just before, so both see the same machine load and warm caches.
    const b = performance.now();
    generalTextLoss(state.model, {}, inputs.passages);
    baseMs += performance.now() - b;
    const t = performance.now();
    lossSum += generalTextLoss(state.model, state.forward(), inputs.passages);
    methodMs += performance.now() - t;
    qaSum += await factAccuracy(state.model, state.forward(), encoding, settings.facts);
  }
  const extra = method.memoryInPrompt
    ? held.flatMap((requests, i) => requests.map((turns) => encoding.prompt(stateFor(i).state.prompt(turns, true)).length - encoding.prompt(turns).length))
    : [0];
  return {
    ...empty, status: 'ok', agents,
    ...(scenario.shared ? { transfer } : {}),
    generalLoss: { base: inputs.base.generalLoss, after: lossSum / finals.length },
    factQa: { base: inputs.base.factQa, after: qaSum / finals.length },
    cost: {
      updateMsMedian: median(updateMs), flopsPerUpdate: flops.length === 0 ? null : flops.reduce((a, b) => a + b, 0) / flops.length,
      updates, interactions: interactionsDone,
      bytesPerUser: finals.reduce((s, state) => s + state.bytes(), 0) / finals.length,
      extraPromptTokens: extra.reduce((a, b) => a + b, 0) / extra.length,
      slowdown: baseMs > 0 ? methodMs / baseMs : null,
    },
    wallMs: performance.now() - started,
  };
}
