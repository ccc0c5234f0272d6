// A Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) behind a small
// interface the runtime needs: ids in, ids out, the special ids generation stops on,
// and chat templates. The heavy lifting is done by @huggingface/tokenizers; this
// class adds file handling, clear errors and the conventions we rely on.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { renderChatTemplate, selectChatTemplate, type ChatTemplateChoice } from './chatTemplate.js';
import { writeFileAtomic } from './atomicWrite.js';

export interface ChatMessage { role: 'system' | 'user' | 'assistant' | 'tool' | string; content: string }

export class TokenizerError extends Error {
  constructor(readonly source: string, detail: string) {
    super(`${source}: ${detail}`);
    this.name = 'TokenizerError';
  }
}

const TOKENIZER_FILE = 'tokenizer.json';
const CONFIG_FILE = 'tokenizer_config.json';
// Recent transformers versions save the chat template beside the config instead of inside it.
const CHAT_TEMPLATE_FILE = 'chat_template.jinja';

export class TextTokenizer {
  readonly vocabSize: number;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  readonly padTokenId: number | null;
  readonly addBosToken: boolean;
  readonly hasChatTemplate: boolean;
  private readonly library: Tokenizer;
  private readonly specialIds: ReadonlySet<number>;
  private readonly chatTemplate: ChatTemplateChoice;

  private constructor(readonly tokenizerJson: object, readonly tokenizerConfig: object, source: string) {
    this.library = constructLibraryTokenizer(tokenizerJson, tokenizerConfig, source);
    this.vocabSize = maxVocabularyId(this.library) + 1;
    this.specialIds = collectSpecialIds(this.library, tokenizerConfig);
    const config = tokenizerConfig as Record<string, unknown>;
    this.bosTokenId = this.resolveSpecialToken(config, 'bos_token', source);
    this.eosTokenId = this.resolveSpecialToken(config, 'eos_token', source);
    this.padTokenId = this.resolveSpecialToken(config, 'pad_token', source);
    // Whether BOS is prepended is decided by tokenizer.json's post_processor, which
    // is what the library runs; probing it keeps this flag true to what encode does.
    const probe = this.library.encode('', { add_special_tokens: true }).ids;
    this.addBosToken = this.bosTokenId !== null && probe[0] === this.bosTokenId;
    this.chatTemplate = selectChatTemplate(config.chat_template, `${source} chat_template`);
    this.hasChatTemplate = this.chatTemplate.template !== null;
  }

  static fromDirectory(dir: string): TextTokenizer {
    const tokenizerPath = join(dir, TOKENIZER_FILE);
    if (!existsSync(tokenizerPath)) {
      throw new TokenizerError(tokenizerPath, `not found; a tokenizer directory needs ${TOKENIZER_FILE} (the fast-tokenizer format)`);
    }
    const tokenizerJson = readJsonObject(tokenizerPath);
    const configPath = join(dir, CONFIG_FILE);
    const tokenizerConfig = existsSync(configPath) ? readJsonObject(configPath) : {};
    const templatePath = join(dir, CHAT_TEMPLATE_FILE);
    if ((tokenizerConfig as Record<string, unknown>).chat_template === undefined && existsSync(templatePath)) {
      (tokenizerConfig as Record<string, unknown>).chat_template = readFileSync(templatePath, 'utf8');
    }
    return new TextTokenizer(tokenizerJson, tokenizerConfig, tokenizerPath);
  }

  static fromJson(tokenizerJson: object, tokenizerConfig: object = {}): TextTokenizer {
    return new TextTokenizer(tokenizerJson, tokenizerConfig, 'tokenizer JSON');
  }

  /** Encodes text; with addSpecialTokens (the Hugging Face default) the post_processor may add BOS/EOS. */
  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    return this.library.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  /**
   * Decodes ids to text. The library's clean_up_tokenization_spaces step is never
   * applied: it rewrites text the model produced (" ." becomes ".", " 's" becomes
   * "'s"), so decode(encode(x)) would not give x back and streamed deltas would not
   * add up to the whole.
   */
  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    // The library refuses an empty list; an empty generation is a normal case for us.
    if (ids.length === 0) return '';
    for (const id of ids) this.checkId(id);
    return this.library.decode([...ids], {
      skip_special_tokens: options.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: false,
    });
  }

  tokenToId(token: string): number | null {
    return this.library.token_to_id(token) ?? null;
  }

  idToToken(id: number): string | null {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) return null;
    return this.library.id_to_token(id) ?? null;
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  /**
   * Renders messages with the tokenizer's chat template. The result already holds
   * the template's BOS text, so encode it with addSpecialTokens: false.
   */
  applyChatTemplate(messages: ChatMessage[], options: { addGenerationPrompt?: boolean; extra?: Record<string, unknown> } = {}): string {
    const template = this.chatTemplate.template;
    if (template === null) {
      throw new TokenizerError('applyChatTemplate', this.chatTemplate.missingReason);
    }
    const config = this.tokenizerConfig as Record<string, unknown>;
    return renderChatTemplate(template, messages, {
      bosToken: specialTokenContent(config.bos_token) ?? undefined,
      eosToken: specialTokenContent(config.eos_token) ?? undefined,
      addGenerationPrompt: options.addGenerationPrompt ?? false,
      // transformers hands every special token string to the template, not just BOS/EOS.
      extra: { ...otherSpecialTokens(config), ...options.extra },
    });
  }

  /** Writes tokenizer.json and tokenizer_config.json as transformers reads them. */
  save(dir: string): void {
    mkdirSync(dir, { recursive: true });
    writeJsonAtomic(join(dir, TOKENIZER_FILE), this.tokenizerJson);
    writeJsonAtomic(join(dir, CONFIG_FILE), this.tokenizerConfig);
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || this.library.id_to_token(id) === undefined) {
      throw new TokenizerError('decode', `token id ${id} is not in the vocabulary (expected an integer in [0, ${this.vocabSize}) that names a token)`);
    }
  }

  private resolveSpecialToken(config: Record<string, unknown>, field: string, source: string): number | null {
    const content = specialTokenContent(config[field]);
    if (content === null) return null;
    const id = this.library.token_to_id(content);
    // Some published configs name a pad token their vocabulary lacks; padding then
    // falls back to EOS, so only BOS and EOS are worth refusing to load over.
    if (id === undefined && field === 'pad_token') return null;
    if (id === undefined) {
      throw new TokenizerError(source, `tokenizer_config ${field} ${JSON.stringify(content)} is not in the vocabulary`);
    }
    return id;
  }
}

function constructLibraryTokenizer(tokenizerJson: object, tokenizerConfig: object, source: string): Tokenizer {
  if (!isPlainObject(tokenizerJson)) throw new TokenizerError(source, 'expected a JSON object for tokenizer.json');
  if (!isPlainObject(tokenizerConfig)) throw new TokenizerError(source, 'expected a JSON object for tokenizer_config.json');
  const json = tokenizerJson as Record<string, unknown>;
  if (!isPlainObject(json.model)) throw new TokenizerError(source, 'expected a "model" object (BPE, WordPiece, Unigram)');
  try {
    // Older exports omit the optional fields; the library wants them present.
    const complete = { added_tokens: [], normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, ...json };
    return new Tokenizer(complete, tokenizerConfig);
  } catch (error) {
    throw new TokenizerError(source, `the tokenizer library rejected it: ${errorMessage(error)}`);
  }
}

function maxVocabularyId(library: Tokenizer): number {
  let max = -1;
  for (const id of library.get_vocab(true).values()) if (id > max) max = id;
  return max;
}

function collectSpecialIds(library: Tokenizer, config: object): Set<number> {
  const ids = new Set<number>();
  for (const [id, token] of library.get_added_tokens_decoder()) if (token.special) ids.add(id);
  const additional = (config as Record<string, unknown>).additional_special_tokens;
  if (Array.isArray(additional)) {
    for (const entry of additional) {
      const content = specialTokenContent(entry);
      const id = content === null ? undefined : library.token_to_id(content);
      if (id !== undefined) ids.add(id);
    }
  }
  return ids;
}

// tokenizer_config stores a special token either as its text or as an AddedToken object.
function specialTokenContent(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (isPlainObject(value) && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return null;
}

function otherSpecialTokens(config: Record<string, unknown>): Record<string, string> {
  const tokens: Record<string, string> = {};
  for (const field of ['unk_token', 'pad_token', 'sep_token', 'cls_token', 'mask_token']) {
    const content = specialTokenContent(config[field]);
    if (content !== null) tokens[field] = content;
  }
  return tokens;
}

function readJsonObject(path: string): object {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new TokenizerError(path, `could not be read: ${errorMessage(error)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new TokenizerError(path, `is not valid JSON: ${errorMessage(error)}`);
  }
  if (!isPlainObject(parsed)) throw new TokenizerError(path, 'expected a JSON object at the top level');
  return parsed as object;
}

function writeJsonAtomic(path: string, value: object): void {
  writeFileAtomic(path, [new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`)]);
}

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
