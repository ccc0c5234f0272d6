// Chat templates: the Jinja programs that models ship in tokenizer_config.json to turn
// a list of messages into the exact prompt text they were trained on. Rendering is
// done by @huggingface/jinja (which also defines raise_exception, strftime_now and
// range as transformers does); this file supplies the variables transformers passes
// and turns template failures into TokenizerErrors.

import { Template } from '@huggingface/jinja';
import { TokenizerError, type ChatMessage } from './tokenizer.js';

export interface ChatTemplateContext {
  bosToken?: string;
  eosToken?: string;
  addGenerationPrompt?: boolean;
  /** Further template variables (tools, documents, date strings, other special tokens). */
  extra?: Record<string, unknown>;
}

/** The template a config names, or why there is none (shown when one is needed). */
export type ChatTemplateChoice = { template: string; missingReason?: undefined } | { template: null; missingReason: string };

export function renderChatTemplate(template: string, messages: ChatMessage[], context: ChatTemplateContext): string {
  let program: Template;
  try {
    program = new Template(template);
  } catch (error) {
    throw new TokenizerError('chat template', `could not be parsed: ${errorMessage(error)}`);
  }
  try {
    return program.render({
      ...context.extra,
      messages,
      bos_token: context.bosToken ?? '',
      eos_token: context.eosToken ?? '',
      add_generation_prompt: context.addGenerationPrompt ?? false,
    });
  } catch (error) {
    // Templates reject bad conversations with raise_exception(message), which the
    // engine provides (as transformers does) and which throws a plain Error with
    // that message: it arrives here like any other rendering fault.
    throw new TokenizerError('chat template', `failed to render: ${errorMessage(error)}`);
  }
}

/**
 * tokenizer_config.chat_template is a string, or (for models with several, such as
 * tool use and RAG variants) a list of {name, template}; like transformers we take
 * the one named "default".
 */
export function selectChatTemplate(value: unknown, source: string): ChatTemplateChoice {
  if (value === undefined || value === null) {
    return { template: null, missingReason: 'this tokenizer has no chat template (tokenizer_config.json has no chat_template)' };
  }
  if (typeof value === 'string') return { template: value };
  if (Array.isArray(value)) {
    const names: string[] = [];
    for (const entry of value) {
      const named = entry as { name?: unknown; template?: unknown };
      if (typeof named !== 'object' || named === null || typeof named.name !== 'string' || typeof named.template !== 'string') {
        throw new TokenizerError(source, 'expected a list of {name, template} string pairs');
      }
      if (named.name === 'default') return { template: named.template };
      names.push(named.name);
    }
    return { template: null, missingReason: `${source} has templates named [${names.join(', ')}] but none named "default"` };
  }
  throw new TokenizerError(source, `expected a string or a list of {name, template}, got ${typeof value}`);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
