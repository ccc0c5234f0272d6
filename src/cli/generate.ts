import { parseArgs } from 'node:util';
import { generateText } from '../model/generate.js';
import { steeringHooksForArguments } from './bundle.js';
import { loadModelArgument, parseNumberFlag } from './modelArgument.js';

// `imprint generate`: stream a completion to stdout.

const help = `usage: imprint generate --model DIR --prompt TEXT [options]

Streams a completion of TEXT to stdout.

  --model DIR        Hugging Face model directory (default: the shipped model in models/)
  --prompt TEXT      the prompt
  --chat             wrap the prompt as a user message with the model's chat template
  --max-tokens N     new tokens at most (default 64)
  --temperature T    0 = greedy (default 0.8)
  --top-k K          keep the K most likely tokens (0 = off, default 0)
  --top-p P          nucleus sampling threshold in (0, 1] (default 1)
  --seed S           fix the sampling (printed to stderr when not given)
  --stop STRING      stop before this string (repeatable)
  --steer B:F=S      add S x feature F of bundle B to the residual stream (repeatable); B is a
                     .bundle.json path or a bundle name in the model's bundles/ folder`;

export async function runGenerate(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' },
      prompt: { type: 'string' },
      chat: { type: 'boolean', default: false },
      'max-tokens': { type: 'string', default: '64' },
      temperature: { type: 'string', default: '0.8' },
      'top-k': { type: 'string', default: '0' },
      'top-p': { type: 'string', default: '1' },
      seed: { type: 'string' },
      stop: { type: 'string', multiple: true },
      steer: { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  if (values.prompt === undefined) throw new RangeError('imprint generate: --prompt TEXT is required');
  const maxTokens = parseNumberFlag('max-tokens', values['max-tokens'], (n) => Number.isInteger(n) && n >= 1, 'a positive integer')!;
  const temperature = parseNumberFlag('temperature', values.temperature, (n) => n >= 0 && Number.isFinite(n), 'a number >= 0')!;
  const topK = parseNumberFlag('top-k', values['top-k'], (n) => Number.isInteger(n) && n >= 0, 'an integer >= 0')!;
  const topP = parseNumberFlag('top-p', values['top-p'], (n) => n > 0 && n <= 1, 'a number in (0, 1]')!;
  const seed = parseNumberFlag('seed', values.seed, (n) => Number.isSafeInteger(n), 'an integer');
  const { model, tokenizer, dir } = loadModelArgument(values.model, 'generate');
  if (tokenizer === null) throw new RangeError(`imprint generate: ${dir} has no tokenizer.json, so text cannot be encoded`);
  const hooks = values.steer.length > 0 ? steeringHooksForArguments(model, values.steer, values.model) : undefined;
  const prompt = values.chat ? tokenizer.applyChatTemplate([{ role: 'user', content: values.prompt }], { addGenerationPrompt: true }) : values.prompt;
  // In chat mode the assistant's turn ends at the template's end-of-turn token, if it has one.
  const endOfTurn = values.chat ? tokenizer.tokenToId('<|end|>') ?? tokenizer.tokenToId('<|eot_id|>') ?? tokenizer.tokenToId('<|im_end|>') : null;
  const stopTokenIds = endOfTurn === null ? undefined : [...model.spec.eosTokenIds, ...(tokenizer.eosTokenId === null ? [] : [tokenizer.eosTokenId]), endOfTurn];
  const run = await generateText(model, tokenizer, prompt, {
    maxTokens, temperature, topK, topP, seed, stop: values.stop, hooks, stopTokenIds,
    onText: (delta) => process.stdout.write(delta),
  });
  process.stdout.write('\n');
  const result = run.results[0];
  if (seed === undefined && temperature > 0) console.error(`(seed ${run.seed}; pass --seed ${run.seed} to repeat)`);
  if (process.env.IMPRINT_VERBOSE) console.error(`(${result.tokenIds.length} tokens, finished by ${result.finishReason})`);
  return 0;
}
