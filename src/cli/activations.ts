import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildActivationDataset } from '../features/activations/index.js';
import { corpusDocument } from '../world/corpus.js';
import { loadModelArgument, parseNumberFlag } from './modelArgument.js';
import { readJsonlTexts } from './textFiles.js';

// `imprint activations`: runs texts through a model and stores the residual
// stream at chosen hook points as a sharded dataset, the input of `sae train`,
// `sae eval` and `features label`.

const help = `usage: imprint activations --model DIR (--texts FILE.jsonl | --world N [--seed S]) --points blocks.K.post[,..] --out DIR [options]

Builds an activation dataset: one row per token, at every listed hook point,
in safetensors shards with a manifest. Progress goes to stderr; a one-line
summary to stdout.

  --model DIR          model directory (default: the shipped model)
  --texts FILE.jsonl   the corpus, one {"text": ...} per line
  --world N            or N documents of the generated world corpus
  --seed S             seed of the world corpus (default 1; pretraining draws from its own seed)
  --points LIST        comma-separated hook points, e.g. blocks.3.post,blocks.5.post
  --out DIR            the dataset directory (must not hold a dataset unless --resume)
  --rows-per-shard N   rows per shard file (default 65536)
  --max-tokens N       keep the first N tokens of each text (default: the model's context)
  --batch N            texts per forward pass (default 8)
  --resume             continue an interrupted build in --out`;

export async function runActivations(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' },
      texts: { type: 'string' },
      world: { type: 'string' },
      seed: { type: 'string', default: '1' },
      points: { type: 'string' },
      out: { type: 'string' },
      'rows-per-shard': { type: 'string', default: '65536' },
      'max-tokens': { type: 'string' },
      batch: { type: 'string', default: '8' },
      resume: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  if ((values.texts === undefined) === (values.world === undefined)) throw new RangeError('imprint activations: give exactly one of --texts FILE.jsonl and --world N');
  if (values.points === undefined) throw new RangeError('imprint activations: --points blocks.K.post[,..] is required');
  if (values.out === undefined) throw new RangeError('imprint activations: --out DIR is required');
  const positive = (n: number) => Number.isSafeInteger(n) && n >= 1;
  const rowsPerShard = parseNumberFlag('rows-per-shard', values['rows-per-shard'], positive, 'a positive integer')!;
  const batchSize = parseNumberFlag('batch', values.batch, positive, 'a positive integer')!;
  const worldCount = parseNumberFlag('world', values.world, positive, 'a positive integer');
  const seed = parseNumberFlag('seed', values.seed, (n) => Number.isSafeInteger(n), 'an integer')!;
  const points = values.points.split(',').map((p) => p.trim()).filter((p) => p !== '');

  const { model, tokenizer, dir } = loadModelArgument(values.model, 'activations');
  if (tokenizer === null) throw new RangeError(`imprint activations: ${dir} has no tokenizer.json, so texts cannot be encoded`);
  const maxTokens = parseNumberFlag('max-tokens', values['max-tokens'], positive, 'a positive integer') ?? model.spec.maxPositions;
  if (maxTokens > model.spec.maxPositions) throw new RangeError(`--max-tokens ${maxTokens} exceeds the model's context of ${model.spec.maxPositions} positions`);

  // The world corpus is generated lazily: a large --world N never sits in memory.
  const texts = values.texts !== undefined
    ? readJsonlTexts(values.texts, '--texts')
    : (function* () { for (let i = 0; i < worldCount!; i++) yield corpusDocument(seed, i).text; })();
  const manifest = await buildActivationDataset({
    model, tokenizer, texts, points, outDir: values.out, rowsPerShard, maxTokensPerText: maxTokens, batchSize,
    progress: true, resume: values.resume, modelName: basename(resolve(dir)), totalTexts: worldCount,
  });
  console.log(`${manifest.rows} rows from ${manifest.nextText} texts in ${manifest.shards.length} shard${manifest.shards.length === 1 ? '' : 's'} at ${manifest.points.join(', ')} -> ${values.out}`);
  return 0;
}
