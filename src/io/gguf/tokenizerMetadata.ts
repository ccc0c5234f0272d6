// Turns a Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) into
// the tokenizer.* metadata llama.cpp reads. Only byte-level BPE is supported:
// llama.cpp re-implements the pre-tokenizer regex itself and picks it by the name
// in tokenizer.ggml.pre, so we name a regex only when it is exactly one we know;
// anything else would tokenize differently and is refused.

import { GgufTokenType, type GgufMetadataValue } from './format.js';

export interface TokenizerMetadataOptions {
  /** Pad the token list with "[PAD{id}]" entries up to this size (the model's embedding rows). */
  vocabSize?: number;
}

const GPT2_REGEX = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** Split regexes we recognise, by the llama.cpp pre-tokenizer name that implements them. */
const KNOWN_SPLIT_REGEXES: ReadonlyArray<[string, string]> = [
  [GPT2_REGEX, 'gpt-2'],
  [LLAMA3_REGEX, 'llama-bpe'],
  [QWEN2_REGEX, 'qwen2'],
];

export function tokenizerToGgufMetadata(tokenizerJson: any, tokenizerConfig: any, options: TokenizerMetadataOptions = {}): Array<[string, GgufMetadataValue]> {
  const model = tokenizerJson?.model;
  if (model?.type !== 'BPE') {
    throw new Error(`tokenizer.json: model.type is ${JSON.stringify(model?.type)}; only byte-level BPE tokenizers can be exported to GGUF`);
  }
  if (model.byte_fallback === true || containsType(tokenizerJson.pre_tokenizer, 'Metaspace')) {
    throw new Error('tokenizer.json: SentencePiece-style BPE (byte_fallback / Metaspace, as in Llama 1/2) is not supported yet for GGUF export');
  }
  checkNormalizer(tokenizerJson.normalizer);
  const pre = preTokenizerName(tokenizerJson.pre_tokenizer);
  const config = tokenizerConfig ?? {};

  const { tokens, types } = tokenTable(tokenizerJson, options.vocabSize);
  const idOf = (field: string): number | undefined => {
    const content = tokenContent(config[field]);
    if (content === undefined) return undefined;
    const id = tokens.indexOf(content);
    if (id < 0) throw new Error(`tokenizer_config.json: ${field} ${JSON.stringify(content)} is not a token of the vocabulary`);
    return id;
  };
  const bos = idOf('bos_token');
  const eos = idOf('eos_token');
  const pad = idOf('pad_token');
  const unk = idOf('unk_token');

  const metadata: Array<[string, GgufMetadataValue]> = [
    ['tokenizer.ggml.model', { type: 'string', value: 'gpt2' }],
    ['tokenizer.ggml.pre', { type: 'string', value: pre }],
    ['tokenizer.ggml.tokens', { type: 'array', itemType: 'string', value: tokens }],
    ['tokenizer.ggml.token_type', { type: 'array', itemType: 'int32', value: types }],
    ['tokenizer.ggml.merges', { type: 'array', itemType: 'string', value: mergeStrings(model.merges) }],
  ];
  if (bos !== undefined) metadata.push(['tokenizer.ggml.bos_token_id', { type: 'uint32', value: bos }]);
  if (eos !== undefined) metadata.push(['tokenizer.ggml.eos_token_id', { type: 'uint32', value: eos }]);
  if (unk !== undefined) metadata.push(['tokenizer.ggml.unknown_token_id', { type: 'uint32', value: unk }]);
  if (pad !== undefined) metadata.push(['tokenizer.ggml.padding_token_id', { type: 'uint32', value: pad }]);
  const bosContent = tokenContent(config.bos_token);
  const eosContent = tokenContent(config.eos_token);
  // llama.cpp has its own per-vocabulary defaults for these, so both are always written.
  metadata.push(['tokenizer.ggml.add_bos_token', {
    type: 'bool',
    value: typeof config.add_bos_token === 'boolean' ? config.add_bos_token : templateAdds(tokenizerJson.post_processor, bosContent, 'first'),
  }]);
  metadata.push(['tokenizer.ggml.add_eos_token', {
    type: 'bool',
    value: typeof config.add_eos_token === 'boolean' ? config.add_eos_token : templateAdds(tokenizerJson.post_processor, eosContent, 'last'),
  }]);
  metadata.push(...chatTemplates(config.chat_template));
  return metadata;
}

function preTokenizerName(pre: any): string {
  const describe = (): string => JSON.stringify(pre)?.slice(0, 300) ?? 'null';
  if (pre?.type === 'ByteLevel') {
    if (pre.use_regex === false) throw new Error(`tokenizer.json: ByteLevel pre-tokenizer without its regex is not supported for GGUF export: ${describe()}`);
    checkNoPrefixSpace(pre, describe);
    return 'gpt-2';
  }
  const steps = pre?.type === 'Sequence' && Array.isArray(pre.pretokenizers) ? pre.pretokenizers : [];
  if (steps.length === 2 && steps[0]?.type === 'Split' && steps[1]?.type === 'ByteLevel' && steps[1].use_regex === false) {
    const split = steps[0];
    const regex = split.pattern?.Regex;
    const known = KNOWN_SPLIT_REGEXES.find(([pattern]) => pattern === regex);
    if (known !== undefined && split.behavior === 'Isolated' && split.invert !== true) {
      checkNoPrefixSpace(steps[1], describe);
      return known[1];
    }
  }
  throw new Error(`tokenizer.json: unsupported pre-tokenizer for GGUF export (expected GPT-2 ByteLevel, or Split with the GPT-2, Llama-3 or Qwen2 regex followed by ByteLevel): ${describe()}`);
}

function checkNoPrefixSpace(byteLevel: any, describe: () => string): void {
  // llama.cpp's BPE tokenizers never insert a leading space, so ids would differ.
  if (byteLevel.add_prefix_space === true) throw new Error(`tokenizer.json: ByteLevel add_prefix_space=true is not supported for GGUF export: ${describe()}`);
}

function checkNormalizer(normalizer: any): void {
  if (normalizer === null || normalizer === undefined) return;
  // Qwen2 declares NFC; llama.cpp does not normalise, which only matters for
  // text that is not already NFC (rare: most text is produced in NFC).
  if (normalizer.type === 'NFC') return;
  throw new Error(`tokenizer.json: normalizer ${JSON.stringify(normalizer).slice(0, 200)} is not supported for GGUF export (llama.cpp would not apply it)`);
}

function containsType(node: any, type: string): boolean {
  if (node === null || typeof node !== 'object') return false;
  if (node.type === type) return true;
  return Object.values(node).some((child) => containsType(child, type));
}

function tokenTable(tokenizerJson: any, vocabSize: number | undefined): { tokens: string[]; types: number[] } {
  const byId = new Map<number, { text: string; type: number }>();
  const place = (id: unknown, text: string, type: number, source: string): void => {
    if (!Number.isInteger(id) || (id as number) < 0) throw new Error(`tokenizer.json: ${source} ${JSON.stringify(text)} has invalid id ${String(id)}`);
    const existing = byId.get(id as number);
    if (existing !== undefined && existing.text !== text) {
      throw new Error(`tokenizer.json: id ${String(id)} is both ${JSON.stringify(existing.text)} and ${JSON.stringify(text)}`);
    }
    byId.set(id as number, { text, type });
  };
  const vocab = tokenizerJson.model.vocab;
  if (vocab === null || typeof vocab !== 'object') throw new Error('tokenizer.json: model.vocab is missing');
  for (const [text, id] of Object.entries(vocab)) place(id, text, GgufTokenType.NORMAL, 'model.vocab token');
  for (const added of tokenizerJson.added_tokens ?? []) {
    place(added.id, added.content, added.special === true ? GgufTokenType.CONTROL : GgufTokenType.USER_DEFINED, 'added token');
  }
  const highest = Math.max(-1, ...byId.keys());
  if (vocabSize !== undefined && highest >= vocabSize) {
    throw new Error(`tokenizer.json: token id ${highest} does not fit the model's vocab_size ${vocabSize}`);
  }
  const size = Math.max(highest + 1, vocabSize ?? 0);
  const tokens = new Array<string>(size);
  const types = new Array<number>(size);
  for (let id = 0; id < size; id++) {
    const entry = byId.get(id);
    // Unused rows still need a unique text: llama.cpp maps text back to ids.
    tokens[id] = entry?.text ?? `[PAD${id}]`;
    types[id] = entry?.type ?? GgufTokenType.UNUSED;
  }
  return { tokens, types };
}

function mergeStrings(merges: unknown): string[] {
  if (!Array.isArray(merges)) throw new Error('tokenizer.json: model.merges is missing; a BPE tokenizer needs its merges');
  return merges.map((merge, index) => {
    if (typeof merge === 'string') return merge;
    if (Array.isArray(merge) && merge.length === 2 && merge.every((part) => typeof part === 'string' && !part.includes(' '))) {
      return `${merge[0]} ${merge[1]}`;
    }
    throw new Error(`tokenizer.json: merge ${index} is ${JSON.stringify(merge)}; expected "a b" or ["a", "b"] without spaces inside the parts`);
  });
}

/** tokenizer_config.json writes special tokens as a string or as an AddedToken object. */
function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return undefined;
}

/** Whether the post-processor's single-sequence template puts `content` first (or last). */
function templateAdds(postProcessor: any, content: string | undefined, where: 'first' | 'last'): boolean {
  if (content === undefined || postProcessor === null || postProcessor === undefined) return false;
  if (postProcessor.type === 'Sequence') {
    return (postProcessor.processors ?? []).some((p: any) => templateAdds(p, content, where));
  }
  if (postProcessor.type !== 'TemplateProcessing' || !Array.isArray(postProcessor.single) || postProcessor.single.length === 0) return false;
  const item = where === 'first' ? postProcessor.single[0] : postProcessor.single[postProcessor.single.length - 1];
  const special = item?.SpecialToken;
  if (special === undefined) return false;
  const tokens: string[] | undefined = postProcessor.special_tokens?.[special.id]?.tokens;
  return special.id === content || (tokens !== undefined && tokens.includes(content));
}

function chatTemplates(template: unknown): Array<[string, GgufMetadataValue]> {
  if (typeof template === 'string') return [['tokenizer.chat_template', { type: 'string', value: template }]];
  if (!Array.isArray(template)) return [];
  // The list form holds named templates; "default" is the one tools use without a name.
  const out: Array<[string, GgufMetadataValue]> = [];
  for (const entry of template) {
    if (typeof entry?.name !== 'string' || typeof entry?.template !== 'string') continue;
    const key = entry.name === 'default' ? 'tokenizer.chat_template' : `tokenizer.chat_template.${entry.name}`;
    out.push([key, { type: 'string', value: entry.template }]);
  }
  return out;
}
