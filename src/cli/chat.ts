import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { type AdapterSet, AdapterStore } from '../adapt/index.js';
import { writeFileAtomic } from '../io/atomicWrite.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import {
  type ChatEncoding, type Experience, type ExperienceContext, type LearnerOptions, OnlineLearner, type QualityDetector, type Reaction, type StepLog,
  checkExperience, parseExperiencesJsonl, worldChatEncoding,
} from '../learn/index.js';
import { generateFromIds } from '../model/generate.js';
import type { LoadedModel } from '../model/load.js';
import type { ChatTurn } from '../world/types.js';
import { setOnModel } from './adapterStoreArgument.js';
import {
  type AdapterChoice, type ExistingStore, QUALITY_CACHE_FILE, describeMoved, formatNorm, parseKindFlag, parseLayersFlag, parseRankFlag, parseTargetsFlag,
  parseFeaturesFlag, prepareAdapter, qualityDetectorFor, topMovedFeatures,
} from './learnSetup.js';
import { learnerStateToSave, resumeLearner } from './learnerResume.js';
import { loadModelArgument, parseNumberFlag } from './modelArgument.js';

// `imprint chat --user NAME`: a terminal chat that learns live. The user's
// adapter lives in STORE_ROOT/NAME, an adapter store (src/adapt/store); its
// first version is the untrained adapter, made when learning starts, so every
// update can be undone. Beside it: profile.json (memory notes and stated
// preferences, the context a teacher sees; written atomically) and
// interactions.jsonl (every experience, trained on or not, in the format
// `imprint learn` reads).
//
// Each turn the model (base + the user's adapter, without the context) replies,
// streamed. What the user types next is a new message or a reaction to that
// reply; a reaction (or a new message, which is reaction "none") makes one
// experience and one learner step, and the update is reported: the gate weight
// (or "stored, not trained" and why) and the features whose adapter norm moved
// most. Reads lines from stdin with or without a terminal (no raw mode), so it
// can be driven by a pipe. Each version carries the learner's state, so a later
// session (or an /undo) continues the optimiser where that version left it.

const help = `usage: imprint chat --user NAME [options]

A terminal chat that learns from you as you talk. Each reply comes from the
model with your adapter (no context in the prompt); your reactions train it,
one learner step each, and each update is saved as a new adapter version.

Type a message, or:
  /up, /down            thumbs up or down on the last reply
  /correct TEXT         correct the last reply (TEXT => REPLY also gives the reply you wanted)
  /prefer TEXT          state a preference (learned from now, and kept as context)
  /note TEXT            add a memory note (kept as context for later updates)
  /undo                 roll the adapter back one update
  /quit                 leave (end of input does the same)

  --user NAME            whose adapter: STORE_ROOT/NAME (letters, digits, ".", "_", "-")
  --model DIR            model directory (default: the shipped model)
  --bundle NAME|PATH     bundle constraining a new adapter (default: assistant-style)
  --store-root DIR       where users' adapters live (default: $IMPRINT_HOME/users or ~/.imprint/users)
  --kind K               kind of a new adapter: write | read | reft | gain | lora (default write)
  --rank R, --targets LIST, --layers LIST   as in imprint learn
  --features F, --keep-features K           as in imprint learn, for a new adapter; auto ranks
                         the features on the interactions logged in STORE_ROOT/NAME/interactions.jsonl
                         (e.g. by an earlier --no-learn session), and takes all without any
  --lr X                 AdamW learning rate (default 0.01)
  --no-learn             reply with the adapter but learn nothing and write no version
  --max-tokens N         longest reply (default 64)
  --temperature T        reply sampling temperature (default 0.7)
  --seed S               seeds the replies and the learner (default 0)
  --sample-tokens N      student sample length for distillation (default 64)
  --gate-threshold X     gate weight below which an experience is stored, not trained on (default 0.25)
  --no-quality           do not gate on the feature-based quality detector`;

export const PROFILE_FILE = 'profile.json';
export const INTERACTIONS_FILE = 'interactions.jsonl';
const USER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Longest input line read at all; the rest is dropped before anything else looks at it. */
const MAX_LINE = 100_000;
/** Longest text an experience may hold (validateExperience's default). */
const MAX_TEXT = 8000;
/** Most memory notes (newest first) given to the teacher. */
const CONTEXT_NOTES = 32;

interface ChatProfile {
  format: 'imprint.chat-profile';
  version: 1;
  user: string;
  memory: string[];
  preferences: string[];
  /** A profile line, e.g. "User profile: prefers direct answers." (edit the file to set it). */
  profile: string | null;
  updated: string | null;
}

function emptyProfile(user: string): ChatProfile {
  return { format: 'imprint.chat-profile', version: 1, user, memory: [], preferences: [], profile: null, updated: null };
}

function readProfile(path: string, user: string): ChatProfile {
  if (!existsSync(path)) return emptyProfile(user);
  const bad = (detail: string): never => { throw new RangeError(`${path}: ${detail}; fix it or remove it (it holds the memory notes and preferences of ${user})`); };
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    return bad(`not valid JSON (${(error as Error).message})`);
  }
  const p = value as Partial<ChatProfile>;
  if (typeof p !== 'object' || p === null || p.format !== 'imprint.chat-profile') return bad('not a chat profile (expected "format": "imprint.chat-profile")');
  const strings = (v: unknown, field: string): string[] => (Array.isArray(v) && v.every((s) => typeof s === 'string') ? v : bad(`${field} must be a list of strings`));
  const profile = p.profile === undefined || p.profile === null ? null : typeof p.profile === 'string' ? p.profile : bad('profile must be a string or null');
  return { ...emptyProfile(user), memory: strings(p.memory ?? [], 'memory'), preferences: strings(p.preferences ?? [], 'preferences'), profile, updated: typeof p.updated === 'string' ? p.updated : null };
}

function writeProfile(path: string, dir: string, profile: ChatProfile): void {
  mkdirSync(dir, { recursive: true });
  profile.updated = new Date().toISOString();
  writeFileAtomic(path, [new TextEncoder().encode(`${JSON.stringify(profile, null, 2)}\n`)]);
}

function contextOf(profile: ChatProfile): ExperienceContext | undefined {
  const memory = [...profile.memory, ...profile.preferences].slice(-CONTEXT_NOTES);
  const context: ExperienceContext = {};
  if (memory.length > 0) context.memory = memory;
  if (profile.profile !== null && profile.profile.trim() !== '') context.profile = profile.profile;
  return Object.keys(context).length === 0 ? undefined : context;
}

// C0 and C1 controls and DEL (tab is turned into a space first).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[@-Z\\-_]/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** An input line made safe to show and to learn from; each change is reported. */
export function cleanLine(raw: string): { text: string; notices: string[] } {
  const notices: string[] = [];
  let text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  if (text.length > MAX_LINE) {
    notices.push(`the line was ${text.length} characters long; only the first ${MAX_LINE} were read`);
    text = text.slice(0, MAX_LINE);
  }
  const before = text.length;
  text = text.replace(ANSI, '').replace(/\t/g, ' ').replace(CONTROL, '').replace(LONE_SURROGATE, '\uFFFD');
  if (text.length !== before) notices.push(`removed ${before - text.length} control character${before - text.length === 1 ? '' : 's'} (escape sequences included)`);
  if (text.includes('<|')) {
    notices.push('"<|" opens the chat format\'s role markers, which a message may not contain; written as "< |"');
    text = text.replaceAll('<|', '< |');
  }
  return { text: text.trim(), notices };
}

/** A model reply made valid for an experience: newlines kept, other controls dropped, role markers broken up. */
function cleanReply(text: string): string {
  return text.replace(ANSI, '').replace(/\t/g, ' ').replace(/\r\n?/g, '\n').replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, '')
    .replace(LONE_SURROGATE, '\uFFFD').replaceAll('<|', '< |');
}

/** Model text as the terminal should show it: control characters other than newline made visible. */
function terminalText(text: string): string {
  return text.replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The longest prefix of `text` (at most MAX_TEXT characters) that encodes to at most `maxTokens` tokens. */
function fitText(tokenizer: TextTokenizer, text: string, maxTokens: number): string {
  const count = (s: string) => tokenizer.encode(s, { addSpecialTokens: false }).length;
  let cut = Math.min(text.length, MAX_TEXT);
  if (count(text.slice(0, cut)) <= maxTokens) return text.slice(0, cut);
  let lo = 0;
  let hi = cut;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (count(text.slice(0, mid)) <= maxTokens) lo = mid;
    else hi = mid - 1;
  }
  cut = lo;
  return text.slice(0, cut);
}

interface Exchange {
  turns: ChatTurn[];
  reply: string;
  reactions: number;
}

/** Reads lines as they come, whether or not a terminal is attached; none are lost while the chat is busy. */
class LineQueue {
  private readonly lines: string[] = [];
  private closed = false;
  private wake: (() => void) | null = null;
  readonly terminal: boolean;
  private readonly rl: ReturnType<typeof createInterface>;

  constructor() {
    this.terminal = process.stdin.isTTY === true && process.stdout.isTTY === true;
    this.rl = createInterface({ input: process.stdin, output: this.terminal ? process.stdout : undefined, terminal: this.terminal, crlfDelay: Infinity });
    this.rl.on('line', (line) => { this.lines.push(line); this.wake?.(); });
    this.rl.on('close', () => { this.closed = true; this.wake?.(); });
    this.rl.on('SIGINT', () => this.rl.close());
  }

  async next(prompt: string): Promise<string | null> {
    if (this.terminal && this.lines.length === 0 && !this.closed) {
      this.rl.setPrompt(prompt);
      this.rl.prompt();
    }
    while (this.lines.length === 0 && !this.closed) await new Promise<void>((done) => { this.wake = done; });
    this.wake = null;
    return this.lines.shift() ?? null;
  }

  close(): void {
    this.rl.close();
  }
}

export async function runChat(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      user: { type: 'string' },
      model: { type: 'string' },
      bundle: { type: 'string' },
      'store-root': { type: 'string' },
      kind: { type: 'string' },
      rank: { type: 'string' },
      features: { type: 'string' },
      'keep-features': { type: 'string' },
      targets: { type: 'string' },
      layers: { type: 'string' },
      lr: { type: 'string' },
      'no-learn': { type: 'boolean', default: false },
      'max-tokens': { type: 'string', default: '64' },
      temperature: { type: 'string', default: '0.7' },
      seed: { type: 'string', default: '0' },
      'sample-tokens': { type: 'string' },
      'gate-threshold': { type: 'string' },
      'no-quality': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  if (values.user === undefined) throw new RangeError('imprint chat: --user NAME is required (whose adapter learns; see imprint chat --help)');
  const user = values.user;
  if (!USER_PATTERN.test(user)) throw new RangeError(`--user '${terminalText(user.slice(0, 80))}' is not a user name: 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit`);
  const choice: AdapterChoice = {
    kind: parseKindFlag(values.kind), rank: parseRankFlag(values.rank), targets: parseTargetsFlag(values.targets), layers: parseLayersFlag(values.layers),
  };
  const features = parseFeaturesFlag(values.features, values['keep-features']);
  const lr = parseNumberFlag('lr', values.lr, (n) => n > 0 && Number.isFinite(n), 'a positive number');
  const maxTokens = parseNumberFlag('max-tokens', values['max-tokens'], (n) => Number.isSafeInteger(n) && n >= 1, 'a positive integer')!;
  const temperature = parseNumberFlag('temperature', values.temperature, (n) => n >= 0 && Number.isFinite(n), 'a number >= 0')!;
  const seed = parseNumberFlag('seed', values.seed, (n) => Number.isSafeInteger(n), 'an integer')!;
  const sampleTokens = parseNumberFlag('sample-tokens', values['sample-tokens'], (n) => Number.isSafeInteger(n) && n >= 1, 'a positive integer');
  const threshold = parseNumberFlag('gate-threshold', values['gate-threshold'], (n) => n >= 0 && n <= 1, 'a number in [0, 1]');
  const learning = !values['no-learn'];
  const root = values['store-root'] ?? join(process.env.IMPRINT_HOME ?? join(homedir(), '.imprint'), 'users');
  const userDir = join(root, user);
  const profilePath = join(userDir, PROFILE_FILE);

  const loaded = loadModelArgument(values.model, 'chat');
  const tokenizer = loaded.tokenizer;
  if (tokenizer === null) throw new RangeError(`imprint chat: ${loaded.dir} has no tokenizer.json, so text cannot be encoded`);
  const encoding = worldChatEncoding(tokenizer);
  const profile = readProfile(profilePath, user);
  const prepared = prepareAdapter({
    loaded, modelFlag: values.model, storeDir: userDir, storeLabel: `the adapter store of --user ${user} (${userDir})`, storeFlag: '--user or --store-root', bundleFlag: values.bundle, choice, seed,
    tolerated: [PROFILE_FILE, INTERACTIONS_FILE, QUALITY_CACHE_FILE],
    ...(features === undefined ? {} : { features }), experiences: features?.mode === 'auto' ? loggedInteractions(join(userDir, INTERACTIONS_FILE)) : [],
  });
  const before = prepared.continuedFrom?.version ?? null;
  const session = new ChatSession({
    loaded, tokenizer, encoding, user, userDir, modelFlag: values.model, bundlePath: prepared.bundlePath, labels: prepared.labels,
    adapters: prepared.adapters, existing: prepared.continuedFrom, learning, profile, profilePath,
    maxTokens, temperature, seed, quality: learning && !values['no-quality'],
    learner: { seed, ...(lr === undefined ? {} : { lr }), ...(sampleTokens === undefined ? {} : { sampleTokens }), ...(threshold === undefined ? {} : { gate: { threshold } }) },
  });
  const say = (text: string) => process.stdout.write(`${text}\n`);
  if (prepared.featuresLine !== null) say(`(${prepared.featuresLine})`);
  const now = session.store?.current() ?? null;
  const state = before !== null ? `version ${before}` : now !== null ? `new: version ${now} is the untrained adapter` : 'new, not stored';
  say(`imprint chat: user ${user}, adapter ${userDir} (${state}; ${prepared.description}), bundle ${prepared.bundleName}; ${learning ? 'learning on' : 'learning off (--no-learn)'}`);
  if (session.resumeNote !== null) say(`(${session.resumeNote})`);
  say('Type a message, or /up /down /correct TEXT /prefer TEXT /note TEXT /undo /quit (/help).');

  const lines = new LineQueue();
  const onSignal = () => lines.close();
  process.on('SIGINT', onSignal);
  try {
    for (;;) {
      const raw = await lines.next('you> ');
      if (raw === null) break;
      const { text, notices } = cleanLine(raw);
      for (const n of notices) say(`(${n})`);
      if (text === '') continue;
      if (text.startsWith('/')) {
        const space = text.search(/\s/);
        const command = (space < 0 ? text : text.slice(0, space)).toLowerCase();
        const argument = space < 0 ? '' : text.slice(space + 1).trim();
        if (command === '/quit' || command === '/exit') break;
        await session.command(command, argument, say);
      } else {
        await session.message(text, say);
      }
    }
    session.finish(say);
  } finally {
    process.off('SIGINT', onSignal);
    lines.close();
  }
  return 0;
}

/** The valid experiences of a chat's interaction log (bad lines are skipped: the log only informs --features auto). */
function loggedInteractions(path: string): Experience[] {
  if (!existsSync(path)) return [];
  return parseExperiencesJsonl(readFileSync(path, 'utf8')).experiences.map((p) => p.experience);
}

interface SessionInit {
  loaded: LoadedModel;
  tokenizer: TextTokenizer;
  encoding: ChatEncoding;
  user: string;
  userDir: string;
  modelFlag: string | undefined;
  bundlePath: string;
  labels: Map<string, string>;
  adapters: AdapterSet;
  existing: ExistingStore | null;
  learning: boolean;
  profile: ChatProfile;
  profilePath: string;
  maxTokens: number;
  temperature: number;
  seed: number;
  quality: boolean;
  learner: LearnerOptions;
}

class ChatSession {
  store: AdapterStore | null;
  private adapters: AdapterSet;
  private learner: OnlineLearner | null = null;
  private readonly quality: QualityDetector | null;
  private history: ChatTurn[] = [];
  private last: Exchange | null = null;
  private turn = 0;
  private experiences = 0;
  private updates = 0;
  private norms: Record<string, number>;
  /** The version this session's adapter is (commits go on top of it only). */
  private version: number | null;
  /** The line that says whether the learner's state was resumed from the version the session continues; null for a new adapter or --no-learn. */
  readonly resumeNote: string | null = null;
  private readonly sessionId = new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15);

  constructor(private readonly init: SessionInit) {
    this.adapters = init.adapters;
    this.store = init.existing?.store ?? null;
    this.quality = init.quality ? qualityDetectorFor(init.loaded, init.adapters, join(init.userDir, QUALITY_CACHE_FILE)) : null;
    if (init.learning) {
      this.learner = this.newLearner();
      if (this.store === null) {
        // First use: the untrained adapter is version 1, so that the first update can be undone too.
        mkdirSync(init.userDir, { recursive: true });
        this.store = AdapterStore.open(init.userDir);
        this.store.commit(this.adapters, {
          ifCurrent: null, learner: learnerStateToSave(this.learner),
          metrics: { source: 'imprint chat', user: init.user, initial: true, note: 'the adapter before any update' },
        });
      } else {
        this.resumeNote = resumeLearner(this.learner, this.store, init.existing!.version).line;
      }
    }
    this.norms = this.adapters.featureNorms().byFeature;
    this.version = init.existing?.version ?? this.store?.current() ?? null;
  }

  private newLearner(): OnlineLearner {
    const { loaded, tokenizer, encoding } = this.init;
    return new OnlineLearner({ model: loaded.model, tokenizer, adapters: this.adapters, encoding, quality: this.quality, config: this.init.learner });
  }

  private get maxPositions(): number {
    return this.init.loaded.model.spec.maxPositions;
  }

  async message(text: string, say: (line: string) => void): Promise<void> {
    const { tokenizer, encoding, maxTokens } = this.init;
    if (this.last !== null && this.last.reactions === 0) this.learn(this.last, { kind: 'none' }, say);
    // Room for the chat markers around the message and for the reply: the one shown, and the
    // learner's own sample of it (64 tokens by default), within half the context at most.
    const room = Math.min(Math.max(maxTokens, this.init.learner.sampleTokens ?? 64), this.maxPositions >> 1);
    const budget = Math.max(1, this.maxPositions - room - 8);
    const fitted = fitText(tokenizer, text, budget);
    if (fitted.length < text.length) {
      say(`(your message was cut from ${text.length} to ${fitted.length} characters to fit the model's context of ${this.maxPositions} tokens with room for the reply)`);
    }
    const turns: ChatTurn[] = [...this.history, { role: 'user', content: fitted }];
    let dropped = 0;
    while (turns.length > 1 && encoding.prompt(turns).length + Math.min(maxTokens, 16) > this.maxPositions) {
      turns.splice(0, 2);
      dropped += 2;
    }
    if (dropped > 0) say(`(the ${dropped} oldest turns no longer fit the model's context and were left out)`);
    const prompt = encoding.prompt(turns);
    this.turn++;
    process.stdout.write('assistant: ');
    const run = await generateFromIds(this.init.loaded.model, [prompt], {
      maxTokens, temperature: this.init.temperature, seed: this.init.seed * 100_003 + this.turn,
      stopTokenIds: [...encoding.stopTokenIds], ...this.adapters.forwardOptions(),
      onText: (delta) => { process.stdout.write(terminalText(delta)); },
    }, tokenizer);
    process.stdout.write('\n');
    let reply = run.results[0].text.trim();
    if (reply === '') {
      reply = '...';
      say('(the model replied with nothing; "..." stands for its reply)');
    }
    // The reply as the learner sees it: lines kept, other control characters and role markers not, within the experience limits.
    reply = cleanReply(reply).slice(0, MAX_TEXT).trim() || '...';
    this.history = [...turns, { role: 'assistant', content: reply }];
    this.last = { turns, reply, reactions: 0 };
  }

  async command(command: string, argument: string, say: (line: string) => void): Promise<void> {
    const needsText = (what: string): boolean => {
      if (argument !== '') return true;
      say(`(${command} needs ${what}, e.g. ${command} ${what === 'a note' ? 'I prefer short answers.' : 'Please get to the point.'})`);
      return false;
    };
    const needsReply = (): Exchange | null => {
      if (this.last === null) say(`(${command}: there is no reply to react to yet; send a message first)`);
      return this.last;
    };
    switch (command) {
      case '/help':
        say(help.split('\n\n').find((block) => block.startsWith('Type a message'))!);
        return;
      case '/up': case '/down': {
        const last = needsReply();
        if (last !== null) this.learn(last, { kind: 'thumbs', up: command === '/up' }, say);
        return;
      }
      case '/correct': {
        if (!needsText('what was wrong')) return;
        const last = needsReply();
        if (last === null) return;
        const split = argument.indexOf('=>');
        const text = (split < 0 ? argument : argument.slice(0, split)).trim();
        const wanted = split < 0 ? '' : argument.slice(split + 2).trim();
        if (text === '') {
          say('(/correct: say what was wrong before "=>")');
          return;
        }
        this.learn(last, { kind: 'correction', text: text.slice(0, MAX_TEXT), ...(wanted === '' ? {} : { correctedReply: wanted.slice(0, MAX_TEXT) }) }, say);
        return;
      }
      case '/prefer': {
        if (!needsText('a preference')) return;
        const preference = argument.slice(0, MAX_TEXT);
        this.init.profile.preferences.push(preference);
        writeProfile(this.init.profilePath, this.init.userDir, this.init.profile);
        say(`(preference kept for ${this.init.user}: ${this.init.profile.preferences.length} in ${this.init.profilePath}; it is context for later updates)`);
        if (this.last !== null) this.learn(this.last, { kind: 'preference', text: preference }, say);
        return;
      }
      case '/note': {
        if (!needsText('a note')) return;
        this.init.profile.memory.push(argument.slice(0, MAX_TEXT));
        writeProfile(this.init.profilePath, this.init.userDir, this.init.profile);
        say(`(noted: ${this.init.profile.memory.length} memory note${this.init.profile.memory.length === 1 ? '' : 's'} for ${this.init.user} in ${this.init.profilePath}; they are context for later updates)`);
        return;
      }
      case '/undo':
        this.undo(say);
        return;
      default:
        say(`(unknown command ${terminalText(command.slice(0, 40))}; commands: /up /down /correct TEXT /prefer TEXT /note TEXT /undo /quit)`);
    }
  }

  /** One experience, one learner step, one report (and a version when it trained). */
  private learn(exchange: Exchange, reaction: Reaction, say: (line: string) => void): void {
    exchange.reactions++;
    if (this.learner === null) {
      if (reaction.kind !== 'none') say('(--no-learn: noted, not learned from)');
      return;
    }
    const { user, userDir } = this.init;
    const context = contextOf(this.init.profile);
    const candidate: Experience = {
      id: `chat-${this.sessionId}-${++this.experiences}`, user, prompt: exchange.turns, reply: exchange.reply, reaction, ...(context === undefined ? {} : { context }),
    };
    const check = checkExperience(JSON.parse(JSON.stringify(candidate)));
    if (!check.ok) {
      say(`update: not learned from, the experience is not valid: ${check.reason}`);
      return;
    }
    const experience = check.experience;
    appendFileSync(join(userDir, INTERACTIONS_FILE), `${JSON.stringify(experience)}\n`);
    const log = this.learner.step(experience);
    this.report(log, experience, say);
  }

  private report(log: StepLog, experience: Experience, say: (line: string) => void): void {
    const e = log.experiences[0];
    const after = log.adapterNorm.byFeature;
    const moved = topMovedFeatures(this.norms, after, this.init.labels, 3);
    this.norms = after;
    if (!log.trained) {
      const why = log.skipped === 'non-finite' ? log.error : [e?.gate.reason ?? 'not assessed', ...(e?.notes ?? [])].join('; ');
      say(`update: stored, not trained (gate weight ${(e?.gate.weight ?? 0).toFixed(3)}: ${why})`);
      return;
    }
    const f = e.gate.factors;
    const terms = Object.entries(e.terms).map(([k, v]) => `${k} ${formatNorm(v)}`).join(', ');
    const record = this.store!.commit(this.adapters, {
      ifCurrent: this.version,
      learner: learnerStateToSave(this.learner!),
      metrics: {
        source: 'imprint chat', user: this.init.user, experience: { id: experience.id ?? null, reaction: experience.reaction.kind },
        gateWeight: e.gate.weight, gate: e.gate.factors, loss: e.loss, terms: e.terms, background: log.loss.background, replay: log.loss.replay,
        stepMs: Math.round(log.wallMs), adapterNorm: { total: log.adapterNorm.total, byFeature: after },
        topMoved: moved.map((m) => ({ id: m.id, change: m.change })),
      },
    });
    this.version = record.version;
    this.updates++;
    say(`update: trained, gate weight ${e.gate.weight.toFixed(3)} (trust ${f.trust.toFixed(2)} × quality ${f.quality.toFixed(2)} × agreement ${f.agreement.toFixed(2)} × subspace ${f.subspace.toFixed(2)}); ` +
      `loss ${e.loss === null ? '-' : formatNorm(e.loss)}${terms === '' ? '' : ` (${terms})`}; saved as version ${record.version}`);
    say(`  top moved features: ${describeMoved(moved)}`);
  }

  private undo(say: (line: string) => void): void {
    if (!this.init.learning || this.store === null) {
      say('(/undo: --no-learn leaves the adapter store as it is)');
      return;
    }
    const current = this.store.current();
    if (current !== this.version) {
      say(`(/undo: version ${current ?? 'none'} is current, not ${this.version ?? 'none'}, which this session holds: another session changed the adapter; nothing was undone)`);
      return;
    }
    if (current === null) {
      say('(/undo: the adapter has no version yet)');
      return;
    }
    // What is current is a copy of `content` when it is a rollback; undo goes to the version `content` was made from.
    let content = this.store.show(current);
    while (content.rollbackOf !== null) content = this.store.show(content.rollbackOf);
    const target = content.parent;
    if (target === null) {
      say(`(/undo: nothing to undo; version ${content.version} is the adapter before any update)`);
      return;
    }
    const record = this.store.rollback(target, { metrics: { source: 'imprint chat', user: this.init.user, reason: '/undo', undid: content.version } });
    this.version = record.version;
    const { state } = this.store.readState(record.version);
    this.adapters = setOnModel(state, record.version, this.init.userDir, this.init.loaded, this.init.modelFlag, { bundle: this.init.bundlePath });
    this.learner = this.newLearner();
    // The copy carries the learner state saved with `target`: the optimiser goes back with the weights.
    const resumed = resumeLearner(this.learner, this.store, record.version);
    this.norms = this.adapters.featureNorms().byFeature;
    say(`undo: the update of version ${content.version} is undone; version ${record.version} (a copy of ${target}) is current`);
    say(`  (${resumed.line})`);
  }

  finish(say: (line: string) => void): void {
    if (this.last !== null && this.last.reactions === 0 && this.learner !== null) this.learn(this.last, { kind: 'none' }, say);
    const current = this.store?.current() ?? null;
    say(`bye: ${this.updates} update${this.updates === 1 ? '' : 's'} this session${current === null ? '' : `; version ${current} of ${this.init.userDir} is current`}`);
  }
}
