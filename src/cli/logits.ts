import { parseArgs } from 'node:util';
import { nextTokenLogprobs } from '../model/score.js';
import { loadModelArgument } from './modelArgument.js';

// `imprint logits`: next-token log-probabilities of a text, for other tools and
// cross-runtime checks. JSON: {"ids": [...], "logprobs": [[...vocab] per position]}.

const help = `usage: imprint logits --model DIR --text TEXT [--json] [--last] [--raw]

  --text TEXT   the text to score (encoded with the model's tokenizer)
  --json        print {"ids": [...], "logprobs": [[...vocab] per position]}
  --last        only the last position's distribution
  --raw         do not add special tokens (BOS) when encoding
Without --json, prints each position's token and its five most likely next tokens.`;

export async function runLogits(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' },
      text: { type: 'string' },
      json: { type: 'boolean', default: false },
      last: { type: 'boolean', default: false },
      raw: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  if (values.text === undefined) throw new RangeError('imprint logits: --text TEXT is required');
  const { model, tokenizer, dir } = loadModelArgument(values.model, 'logits');
  if (tokenizer === null) throw new RangeError(`imprint logits: ${dir} has no tokenizer.json, so text cannot be encoded`);
  const ids = tokenizer.encode(values.text, { addSpecialTokens: !values.raw });
  if (ids.length === 0) throw new RangeError('imprint logits: the text encodes to no tokens');
  const all = nextTokenLogprobs(model, ids);
  const rows = values.last ? all.slice(-1) : all;
  if (values.json) {
    // Float32 values printed at float32 precision keep the output compact and exact.
    const logprobs = rows.map((row) => Array.from(row, (v) => Number(v.toPrecision(9))));
    process.stdout.write(`${JSON.stringify({ ids, logprobs })}\n`);
    return 0;
  }
  const offset = values.last ? ids.length - 1 : 0;
  rows.forEach((row, i) => {
    const top = Array.from(row.keys()).sort((a, b) => row[b] - row[a]).slice(0, 5);
    const shown = top.map((id) => `${JSON.stringify(tokenizer.decode([id]))} ${row[id].toFixed(3)}`).join(', ');
    console.log(`${offset + i}\t${JSON.stringify(tokenizer.decode([ids[offset + i]]))}\t-> ${shown}`);
  });
  return 0;
}
