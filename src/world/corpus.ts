import { Random } from '../tensor/random.js';
import { renderDialogue } from './chatFormat.js';
import { generateCodingDialogue, randomCodingStyle } from './coding/dialogue.js';
import { generalTextPassages } from './generalText.js';
import { generateHomeDialogue } from './home/dialogue.js';
import { pick } from './randomChoice.js';
import type { CodingRole } from './types.js';

// The pretraining corpus: a seeded, endless stream of documents drawn from the
// world (home-assistant and coding-agent dialogues, some with their style stated in
// context, the rest unstated) and general text. A document depends only on
// (seed, index), so any part of the stream can be regenerated exactly: that is what
// makes a resumed pretraining run see the same data it would have seen.

export type DocumentKind = 'home' | 'coding' | 'general';

export interface CorpusMix {
  /** Probabilities of drawing each kind; general text must end up >= 20% of tokens. */
  home: number;
  coding: number;
  general: number;
  /** Fraction of dialogues whose style is stated in a system turn. */
  stated: number;
  /** Fraction of coding requests whose code shows an unrelated syntax style (default 0.5). */
  randomRequestSyntax?: number;
  /**
   * Fraction of coding dialogues whose role writes code lines (fixer or machine), so
   * that the syntax axes show. Absent: roles are drawn uniformly (and no extra random
   * draw is made, so corpora of mixes without it are unchanged).
   */
  syntaxRoles?: number;
}

const codeWritingRoles: readonly CodingRole[] = ['fixer', 'machine'];
const proseRoles: readonly CodingRole[] = ['architect', 'techlead'];

export const defaultMix: CorpusMix = { home: 0.45, coding: 0.3, general: 0.25, stated: 0.6 };

export interface CorpusDocument {
  kind: DocumentKind;
  text: string;
}

function documentSeed(seed: number, index: number): number {
  // A cheap integer hash so neighbouring indices get unrelated streams.
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (index >>> 0), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

export function corpusDocument(seed: number, index: number, mix: CorpusMix = defaultMix, split: 'train' | 'heldOut' = 'train'): CorpusDocument {
  const rng = new Random(documentSeed(seed, index));
  const total = mix.home + mix.coding + mix.general;
  const draw = rng.uniform() * total;
  const stated = rng.uniform() < mix.stated;
  if (draw < mix.home) return { kind: 'home', text: renderDialogue(generateHomeDialogue(rng, { stated }).turns) };
  if (draw < mix.home + mix.coding) {
    // Half the requests show code in an unrelated style, so the reply's syntax must
    // come from the stated context (or be a free choice), not be copied from the user.
    const requestSyntax = rng.uniform() < (mix.randomRequestSyntax ?? 0.5) ? 'random' : 'dialogue';
    const style = mix.syntaxRoles === undefined ? undefined : { ...randomCodingStyle(rng), role: pick(rng, rng.uniform() < mix.syntaxRoles ? codeWritingRoles : proseRoles) };
    return { kind: 'coding', text: renderDialogue(generateCodingDialogue(rng, { stated, requestSyntax, style }).turns) };
  }
  const passages = generalTextPassages()[split];
  return { kind: 'general', text: `<|bos|>${passages[rng.int(passages.length)].text}<|eos|>` };
}
