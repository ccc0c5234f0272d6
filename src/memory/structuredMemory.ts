import { type Experience, type ExperienceContext, promptTurns as experienceTurns, teacherPromptTurns } from '../learn/experience.js';
import { shown } from '../learn/validateExperience.js';
import type { ChatTurn } from '../world/types.js';
import { Bm25Index, type Bm25Params, tokenize } from './bm25.js';
import { type MemoryNote, NOTE_SOURCES, type NoteSource, extractNotes, noteKey } from './noteExtraction.js';

// The in-context structured-memory baseline for one user: notes extracted from
// each interaction (noteExtraction.ts) are stored, and the ones BM25 finds most
// relevant to a new request are put into its prompt, rendered exactly as the
// learner's teacher sees memory notes (teacherPromptTurns), so the baseline and
// the adapters are given the same information in the same words. The prompt
// grows with what is retrieved; that cost is part of what the benchmark measures.

export const STRUCTURED_MEMORY_FORMAT = 'imprint.structured-memory';
export const STRUCTURED_MEMORY_VERSION = 1;

export type AlwaysIncludeSource = 'preference' | 'correction';
const ALWAYS_INCLUDE_SOURCES: readonly AlwaysIncludeSource[] = ['preference', 'correction'];

export interface StructuredMemoryOptions {
  /** Most notes held; when over, the oldest non-preference notes go first (default unlimited). */
  capacity?: number;
  /**
   * Sources whose notes join every retrieval, whatever their score and on top
   * of the k BM25 picks (default none: pure BM25). Some memory systems pin
   * stated preferences this way; the option lets the benchmark try both.
   */
  alwaysInclude?: readonly AlwaysIncludeSource[];
  /** BM25 parameters (default k1 = 1.2, b = 0.75). */
  bm25?: Bm25Params;
}

export interface RetrievedNote {
  note: MemoryNote;
  score: number;
}

/** The file form: `{ format, version, notes }`, notes oldest first. */
export interface StructuredMemoryState {
  format: typeof STRUCTURED_MEMORY_FORMAT;
  version: typeof STRUCTURED_MEMORY_VERSION;
  notes: MemoryNote[];
}

function checkCount(value: number, name: string, min: number): void {
  if (!(Number.isSafeInteger(value) && value >= min)) throw new RangeError(`structured memory: ${name} must be an integer >= ${min}, got ${value}`);
}

function checkOptions(options: StructuredMemoryOptions): { capacity: number; alwaysInclude: ReadonlySet<NoteSource>; bm25: Bm25Params } {
  const capacity = options.capacity ?? Infinity;
  if (capacity !== Infinity) checkCount(capacity, 'capacity', 1);
  for (const source of options.alwaysInclude ?? []) {
    if (!ALWAYS_INCLUDE_SOURCES.includes(source)) throw new RangeError(`structured memory: alwaysInclude entries must be one of ${ALWAYS_INCLUDE_SOURCES.join(', ')}, got ${JSON.stringify(source)}`);
  }
  return { capacity, alwaysInclude: new Set(options.alwaysInclude ?? []), bm25: options.bm25 ?? {} };
}

/** The text a retrieval for `query` searches with: a string as is; for turns, the last user turn (the request the reply answers). */
function queryText(query: string | ChatTurn[]): string {
  if (typeof query === 'string') return query;
  const last = query[query.length - 1];
  if (last === undefined || last.role !== 'user') {
    throw new RangeError(`structured memory: a prompt given as turns must end with a user turn, got ${last === undefined ? 'no turns' : `a last turn of role ${last.role}`}`);
  }
  return last.content;
}

export class StructuredMemory {
  readonly capacity: number;
  readonly alwaysInclude: ReadonlySet<NoteSource>;
  private readonly bm25: Bm25Params;
  /** Oldest first (insertion order); the position breaks recency ties within one interaction. */
  private held: MemoryNote[] = [];
  private readonly keys = new Map<string, MemoryNote>();
  private readonly ids = new Set<string>();
  /** Built on the first retrieval after a change: adds come in batches, retrievals often. */
  private index: Bm25Index | null = null;

  constructor(options: StructuredMemoryOptions = {}) {
    ({ capacity: this.capacity, alwaysInclude: this.alwaysInclude, bm25: this.bm25 } = checkOptions(options));
    new Bm25Index([], this.bm25); // checks k1 and b now rather than at the first retrieval
  }

  get size(): number {
    return this.held.length;
  }

  /** The notes held, oldest first (copies). */
  get notes(): MemoryNote[] {
    return this.held.map((n) => ({ ...n }));
  }

  /**
   * Extracts the notes of interaction number `index` and stores those not
   * already held (a repeat keeps the first note, its id and createdAt). Returns
   * the new notes still held once capacity is enforced.
   */
  add(experience: Experience, index: number): MemoryNote[] {
    checkCount(index, 'the interaction index', 0);
    const added: MemoryNote[] = [];
    for (const note of extractNotes(experience, index)) {
      if (this.keys.has(noteKey(note.text))) continue;
      const stored = { ...note, id: this.freeId(index) };
      this.store(stored);
      added.push(stored);
    }
    this.evictOverCapacity();
    return added.filter((n) => this.ids.has(n.id)).map((n) => ({ ...n }));
  }

  /**
   * The k notes BM25 scores highest for `query`, best first; equal scores go
   * most recent first. Notes sharing no term with the query (score 0) are left
   * out; notes of an `alwaysInclude` source are added whatever their score.
   */
  retrieve(query: string, k: number): RetrievedNote[] {
    checkCount(k, 'k', 0);
    if (this.held.length === 0) return [];
    this.index ??= new Bm25Index(this.held.map((n) => tokenize(n.text)), this.bm25);
    const scores = this.index.scoreTokens(tokenize(query));
    const ranked = this.held.map((note, position) => ({ note, score: scores[position], position }));
    ranked.sort((x, y) => y.score - x.score || y.note.createdAt - x.note.createdAt || y.position - x.position);
    const pinned = (n: MemoryNote) => this.alwaysInclude.has(n.source);
    const picked = new Set(ranked.filter((r) => !pinned(r.note) && r.score > 0).slice(0, k));
    return ranked.filter((r) => picked.has(r) || pinned(r.note)).map((r) => ({ note: { ...r.note }, score: r.score }));
  }

  /** The retrieved notes as an experience context (`{ memory: [...] }`), the shape experience.ts and teacherPromptTurns use. */
  contextFor(query: string | ChatTurn[], k: number): ExperienceContext {
    return { memory: this.retrieve(queryText(query), k).map((r) => r.note.text) };
  }

  /**
   * The prompt the baseline's model is given: the request's turns after a
   * system turn holding the retrieved notes ("Memory notes:\n- ..."), built by
   * teacherPromptTurns itself so it cannot drift from the teacher's rendering.
   * The turns unchanged when nothing is retrieved.
   */
  promptTurns(query: string | ChatTurn[], k: number): ChatTurn[] {
    const experience: Experience = { prompt: query, reply: '', reaction: { kind: 'none' }, context: this.contextFor(query, k) };
    return teacherPromptTurns(experience) ?? experienceTurns(experience);
  }

  toJSON(): StructuredMemoryState {
    return { format: STRUCTURED_MEMORY_FORMAT, version: STRUCTURED_MEMORY_VERSION, notes: this.notes };
  }

  /** Size of the JSON form in bytes (UTF-8): what keeping this memory costs on disk. */
  bytes(): number {
    return new TextEncoder().encode(JSON.stringify(this.toJSON())).length;
  }

  /**
   * A memory from its JSON form (a parsed file). Throws a RangeError naming
   * the first bad field and what was expected. Notes over `capacity` are
   * evicted as if they had been added in order.
   */
  static fromJSON(value: unknown, options: StructuredMemoryOptions = {}): StructuredMemory {
    const memory = new StructuredMemory(options);
    for (const note of checkState(value).notes) {
      if (memory.ids.has(note.id)) throw new RangeError(`structured memory: notes holds the id ${JSON.stringify(note.id)} twice; ids must be unique`);
      if (memory.keys.has(noteKey(note.text))) throw new RangeError(`structured memory: notes holds the text ${JSON.stringify(note.text.slice(0, 40))} twice; repeats are kept once`);
      memory.store(note);
    }
    memory.evictOverCapacity();
    return memory;
  }

  private store(note: MemoryNote): void {
    this.held.push(note);
    this.keys.set(noteKey(note.text), note);
    this.ids.add(note.id);
    this.index = null;
  }

  /** "<index>.<n>" for the smallest n not taken (two adds with one index must not collide). */
  private freeId(index: number): string {
    let n = 0;
    while (this.ids.has(`${index}.${n}`)) n++;
    return `${index}.${n}`;
  }

  /**
   * Drops notes until at most `capacity` are held: the oldest non-preference
   * note first, since a stated preference stays true until restated, while a
   * thumbs note or an old memory note is the likeliest to be stale; the oldest
   * preference only once nothing else is left.
   */
  private evictOverCapacity(): void {
    while (this.held.length > this.capacity) {
      let victim = -1;
      for (let i = 0; i < this.held.length; i++) {
        const n = this.held[i];
        if (n.source === 'preference') continue;
        if (victim < 0 || n.createdAt < this.held[victim].createdAt) victim = i;
      }
      if (victim < 0) victim = this.held.reduce((best, n, i) => (n.createdAt < this.held[best].createdAt ? i : best), 0);
      const [gone] = this.held.splice(victim, 1);
      this.keys.delete(noteKey(gone.text));
      this.ids.delete(gone.id);
      this.index = null;
    }
  }
}


const STATE_FIELDS = ['format', 'version', 'notes'];
const NOTE_FIELDS = ['id', 'text', 'source', 'createdAt'];

function checkState(value: unknown): StructuredMemoryState {
  const fail = (where: string, detail: string): never => { throw new RangeError(`structured memory: ${where} ${detail}`); };
  const object = (v: unknown, where: string, fields: readonly string[]): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, `must be an object, got ${shown(v)}`);
    const o = v as Record<string, unknown>;
    // A misspelt field must not silently drop what it held.
    for (const key of Object.keys(o)) if (!fields.includes(key)) fail(where, `has unknown field ${JSON.stringify(key.slice(0, 40))} (expected ${fields.join(', ')})`);
    return o;
  };
  const o = object(value, 'the file', STATE_FIELDS);
  if (o.format !== STRUCTURED_MEMORY_FORMAT) fail('format', `must be ${JSON.stringify(STRUCTURED_MEMORY_FORMAT)}, got ${shown(o.format)}`);
  if (o.version !== STRUCTURED_MEMORY_VERSION) fail('version', `must be ${STRUCTURED_MEMORY_VERSION}, got ${shown(o.version)}`);
  if (!Array.isArray(o.notes)) fail('notes', `must be a list of notes, got ${shown(o.notes)}`);
  const notes = (o.notes as unknown[]).map((v, i): MemoryNote => {
    const where = `notes[${i}]`;
    const n = object(v, where, NOTE_FIELDS);
    if (typeof n.id !== 'string' || n.id === '') fail(`${where}.id`, `must be a non-empty string, got ${shown(n.id)}`);
    if (typeof n.text !== 'string' || n.text.trim() === '') fail(`${where}.text`, `must be a non-empty string, got ${shown(n.text)}`);
    if (!NOTE_SOURCES.includes(n.source as NoteSource)) fail(`${where}.source`, `must be one of ${NOTE_SOURCES.join(', ')}, got ${shown(n.source)}`);
    if (!(Number.isSafeInteger(n.createdAt) && (n.createdAt as number) >= 0)) fail(`${where}.createdAt`, `must be an integer >= 0 (an interaction index), got ${shown(n.createdAt)}`);
    return { id: n.id as string, text: n.text as string, source: n.source as NoteSource, createdAt: n.createdAt as number };
  });
  return { format: STRUCTURED_MEMORY_FORMAT, version: STRUCTURED_MEMORY_VERSION, notes };
}
