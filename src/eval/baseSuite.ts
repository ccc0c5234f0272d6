import type { TextTokenizer } from '../io/tokenizer.js';
import type { CausalLm } from '../model/causalLm.js';
import { generateFromIds } from '../model/generate.js';
import { meanNextTokenLoss } from '../model/score.js';
import { Random } from '../tensor/index.js';
import { renderPrompt, specialTokens } from '../world/chatFormat.js';
import { generateCodingDialogue, randomCodingStyle } from '../world/coding/dialogue.js';
import { generalTextPassages } from '../world/generalText.js';
import { generateHomeDialogue, randomHomeStyle } from '../world/home/dialogue.js';
import { judgeCodingReply } from '../world/judges/coding.js';
import { judgeHomeReply } from '../world/judges/home.js';
import { factSet } from '../world/knowledgeBase.js';
import type { ChatTurn, CodingStyle, Dialogue, HomeStyle } from '../world/types.js';

// `imprint eval --suite base`: what the pretrained model can do before any
// learning. Every number comes from the judges reading generated text.
//   stated   style/role stated in a system turn: how often the reply shows it (per axis)
//   unstated no context: the share of each side per axis (a real mixture is the goal)
//   qa       fact questions: does the greedy reply contain the answer
//   general  held-out general-text loss (the forgetting probe's baseline)

export interface BaseSuiteOptions {
  seed: number;
  promptsPerDomain: number;
  /** Sampling temperature for replies to stated prompts (a typical deployment setting). */
  temperature: number;
  /** Sampling temperature for unstated prompts: 1 reads the model's own distribution over styles. */
  unstatedTemperature: number;
  maxTokens: number;
  batch: number;
  generalPassages: number;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export const defaultBaseSuiteOptions: BaseSuiteOptions = {
  seed: 4242, promptsPerDomain: 96, temperature: 0.7, unstatedTemperature: 1, maxTokens: 120, batch: 16, generalPassages: 64,
};

type AxisCounts = Record<string, Record<string, number>>;

interface Prompt {
  turns: ChatTurn[];
  dialogue: Dialogue;
}

function promptOf(dialogue: Dialogue): Prompt {
  const lastUser = dialogue.turns.findIndex((t) => t.role === 'assistant');
  return { turns: dialogue.turns.slice(0, lastUser), dialogue };
}

/** Draws prompts until `count` of them leave room for a reply of `room` tokens in the context. */
function drawPrompts(count: number, draw: () => Dialogue | null, fits: (p: Prompt) => boolean): Prompt[] {
  const out: Prompt[] = [];
  for (let attempts = 0; out.length < count; attempts++) {
    if (attempts > Math.max(count * 200, 500)) throw new Error(`base suite: could not draw ${count} prompts that fit the model's context; is its context window very small?`);
    const d = draw();
    if (d === null) continue;
    const p = promptOf(d);
    if (fits(p)) out.push(p);
  }
  return out;
}

/** Stated prompts use contexts that state every axis (profiles and memory notes). */
function statedPrompts(domain: 'home' | 'coding', count: number, rng: Random, fits: (p: Prompt) => boolean): Prompt[] {
  return drawPrompts(count, () => {
    const d = domain === 'home'
      ? generateHomeDialogue(rng, { stated: true, style: randomHomeStyle(rng), feedback: false })
      : generateCodingDialogue(rng, { stated: true, style: randomCodingStyle(rng), requestSyntax: 'random', feedbackRate: 0 });
    return d.contextKind === 'profile' || d.contextKind === 'memory' ? d : null;
  }, fits);
}

function unstatedPrompts(domain: 'home' | 'coding', count: number, rng: Random, fits: (p: Prompt) => boolean): Prompt[] {
  return drawPrompts(count, () => (domain === 'home'
    ? generateHomeDialogue(rng, { stated: false, feedback: false })
    : generateCodingDialogue(rng, { stated: false, requestSyntax: 'random', feedbackRate: 0 })), fits);
}

async function replies(model: CausalLm, tokenizer: TextTokenizer, prompts: readonly { turns: ChatTurn[] }[], options: BaseSuiteOptions, stage: string, seed: number): Promise<string[]> {
  const out: string[] = [];
  const end = tokenizer.tokenToId(specialTokens.end);
  for (let i = 0; i < prompts.length; i += options.batch) {
    const chunk = prompts.slice(i, i + options.batch).map((p) => tokenizer.encode(renderPrompt(p.turns), { addSpecialTokens: false }));
    const run = await generateFromIds(model, chunk, {
      maxTokens: options.maxTokens, temperature: options.temperature, seed: seed + i,
      stopTokenIds: [end!, tokenizer.eosTokenId!],
    }, tokenizer);
    out.push(...run.results.map((r) => r.text.trim()));
    options.onProgress?.(stage, Math.min(i + options.batch, prompts.length), prompts.length);
  }
  return out;
}

function judge(dialogue: Dialogue, reply: string): Record<string, string | null> {
  if (dialogue.domain === 'home') {
    const j = judgeHomeReply(reply);
    return { directness: j.directness.label, formality: j.formality.label, warmth: j.warmth.label, detail: j.detail.label };
  }
  const j = judgeCodingReply(reply);
  return { role: j.role.label, naming: j.naming?.label ?? null, semicolons: j.semicolons?.label ?? null, comments: j.comments?.label ?? null };
}

function rate(hits: number, total: number): number {
  return total === 0 ? Number.NaN : Number((hits / total).toFixed(4));
}

export interface BaseSuiteResult {
  stated: Record<string, { accuracy: number; judged: number }>;
  unstated: Record<string, { shares: Record<string, number>; maxShare: number; judged: number }>;
  qa: { accuracy: number; questions: number };
  general: { heldOutLoss: number; passages: number };
  samples: { context: string | null; prompt: string; reply: string }[];
  settings: BaseSuiteOptions;
}

export async function runBaseSuite(model: CausalLm, tokenizer: TextTokenizer, options: BaseSuiteOptions = defaultBaseSuiteOptions): Promise<BaseSuiteResult> {
  // The probes speak the world's chat format; a model without it cannot be scored meaningfully.
  const missing = Object.values(specialTokens).filter((t) => tokenizer.tokenToId(t) === null);
  if (missing.length > 0) {
    throw new RangeError(`the base suite needs a model trained on the imprint world: its tokenizer lacks the chat tokens ${missing.join(' ')}`);
  }
  const rng = new Random(options.seed);
  const stated: BaseSuiteResult['stated'] = {};
  const unstated: BaseSuiteResult['unstated'] = {};
  const samples: BaseSuiteResult['samples'] = [];
  // A prompt must leave room for a reply; on the shipped model (320 positions) nearly all do.
  const room = Math.min(options.maxTokens, Math.floor(model.spec.maxPositions / 2));
  const fits = (p: Prompt) => tokenizer.encode(renderPrompt(p.turns), { addSpecialTokens: false }).length + room <= model.spec.maxPositions;
  for (const domain of ['home', 'coding'] as const) {
    const statedSet = statedPrompts(domain, options.promptsPerDomain, rng, fits);
    const statedReplies = await replies(model, tokenizer, statedSet, options, `${domain} stated`, options.seed + 1);
    const hits: AxisCounts = {};
    statedSet.forEach((p, i) => {
      const truth = p.dialogue.style as unknown as Record<string, string>;
      const judged = judge(p.dialogue, statedReplies[i]);
      for (const [axis, label] of Object.entries(judged)) {
        hits[axis] ??= { hit: 0, judged: 0 };
        if (label === null) continue;
        hits[axis].judged++;
        if (label === truth[axis]) hits[axis].hit++;
      }
      if (samples.length < (domain === 'home' ? 6 : 10) && i % 7 === 0) {
        samples.push({ context: p.turns.find((t) => t.role === 'system')?.content ?? null, prompt: p.turns.filter((t) => t.role === 'user').map((t) => t.content).join('\n'), reply: statedReplies[i] });
      }
    });
    for (const [axis, c] of Object.entries(hits)) stated[`${domain}.${axis}`] = { accuracy: rate(c.hit, c.judged), judged: c.judged };

    const unstatedSet = unstatedPrompts(domain, options.promptsPerDomain, rng, fits);
    const unstatedReplies = await replies(model, tokenizer, unstatedSet, { ...options, temperature: options.unstatedTemperature }, `${domain} unstated`, options.seed + 2);
    const counts: AxisCounts = {};
    unstatedSet.forEach((p, i) => {
      for (const [axis, label] of Object.entries(judge(p.dialogue, unstatedReplies[i]))) {
        counts[axis] ??= {};
        if (label !== null) counts[axis][label] = (counts[axis][label] ?? 0) + 1;
      }
    });
    for (const [axis, c] of Object.entries(counts)) {
      const judged = Object.values(c).reduce((a, b) => a + b, 0);
      const shares = Object.fromEntries(Object.entries(c).map(([label, n]) => [label, rate(n, judged)]));
      unstated[`${domain}.${axis}`] = { shares, maxShare: Math.max(...Object.values(shares)), judged };
    }
  }

  const facts = factSet();
  const qaPrompts = facts.map((f) => [{ role: 'user' as const, content: f.question }]);
  let correct = 0;
  const qaOptions = { ...options, temperature: 0, onProgress: undefined };
  for (let i = 0; i < qaPrompts.length; i += options.batch) {
    const chunk = qaPrompts.slice(i, i + options.batch);
    const texts = await replies(model, tokenizer, chunk.map((turns) => ({ turns })), qaOptions, 'qa', options.seed + 3);
    texts.forEach((text, j) => { if (text.toLowerCase().includes(facts[i + j].answer.toLowerCase())) correct++; });
    options.onProgress?.('qa', Math.min(i + options.batch, qaPrompts.length), qaPrompts.length);
  }

  const passages = generalTextPassages().heldOut.slice(0, options.generalPassages);
  const generalLoss = meanNextTokenLoss(model, passages.map((p) => tokenizer.encode(`${specialTokens.bos}${p.text}`, { addSpecialTokens: false })));
  return {
    stated, unstated,
    qa: { accuracy: rate(correct, facts.length), questions: facts.length },
    general: { heldOutLoss: Number(generalLoss.toFixed(4)), passages: passages.length },
    samples,
    settings: { ...options, onProgress: undefined },
  };
}

export type { CodingStyle, HomeStyle };
