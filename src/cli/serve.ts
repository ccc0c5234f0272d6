import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_LIMITS, DEFAULT_RATE_LIMIT, startServer } from '../serve/server.js';
import { DEFAULT_BUNDLE, parseKindFlag, parseRankFlag } from './learnSetup.js';
import { parseNumberFlag, shippedModelDir } from './modelArgument.js';

// `imprint serve`: the OpenAI-compatible HTTP server whose users each have an
// adapter that learns from their feedback in the background (src/serve).

const help = `usage: imprint serve [options]

An OpenAI-compatible chat server on one base model; each user's API key selects
their adapter, which learns from their feedback in a background thread.
  POST /v1/chat/completions   (stream: true for server-sent events)
  GET  /v1/models
  POST /v1/feedback           up, down, correction, preference on a completion
  GET  /v1/adapter            versions, metrics, learning queue
  POST /v1/adapter/rollback   {"version": N};  POST /v1/adapter/reset
  GET  /v1/adapter/export?format=peft|gguf
Users and keys: imprint users add|list|revoke --data DIR.

  --data DIR             data directory: database, adapters (default: $IMPRINT_HOME/serve or ~/.imprint/serve)
  --model DIR            model directory (default: the shipped model)
  --bundle NAME|PATH     bundle constraining new adapters (default: ${DEFAULT_BUNDLE})
  --host H               address to listen on (default 127.0.0.1)
  --port N               port (default 8080; 0 picks a free one, printed on start)
  --kind K               kind of a new user's adapter: write | read | reft | gain | lora (default write)
  --rank R               rank of a new user's write or lora adapter (default 4)
  --rate-limit N         requests per minute per key (default ${DEFAULT_RATE_LIMIT.perMinute}), --burst B at once (default ${DEFAULT_RATE_LIMIT.burst})
  --max-tokens-limit N   largest max_tokens a request may ask for (default ${DEFAULT_LIMITS.maxTokensLimit})
  --max-tokens N         max_tokens when a request gives none (default ${DEFAULT_LIMITS.defaultMaxTokens})
  --temperature T        temperature when a request gives none (default ${DEFAULT_LIMITS.defaultTemperature})
  --body-limit BYTES     largest request body (default ${DEFAULT_LIMITS.bodyLimit})
  --lr X, --sample-tokens N, --gate-threshold X, --seed S   the learner's, as in imprint learn
  --no-quality           do not gate on the feature-based quality detector
  --no-learn             store feedback and queue it, but run no learner`;

export function defaultDataDir(): string {
  return join(process.env.IMPRINT_HOME ?? join(homedir(), '.imprint'), 'serve');
}

export async function runServe(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      data: { type: 'string' }, model: { type: 'string' }, bundle: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '8080' },
      kind: { type: 'string' }, rank: { type: 'string' }, 'rate-limit': { type: 'string' }, burst: { type: 'string' }, 'max-tokens-limit': { type: 'string' }, 'max-tokens': { type: 'string' },
      temperature: { type: 'string' }, 'body-limit': { type: 'string' }, lr: { type: 'string' }, 'sample-tokens': { type: 'string' }, 'gate-threshold': { type: 'string' },
      seed: { type: 'string', default: '0' }, 'no-quality': { type: 'boolean', default: false }, 'no-learn': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  const positive = (n: number) => Number.isSafeInteger(n) && n >= 1;
  const port = parseNumberFlag('port', values.port, (n) => Number.isSafeInteger(n) && n >= 0 && n <= 65535, 'a port number (0 to 65535)')!;
  const kind = parseKindFlag(values.kind);
  const rank = parseRankFlag(values.rank);
  const seed = parseNumberFlag('seed', values.seed, (n) => Number.isSafeInteger(n), 'an integer')!;
  const perMinute = parseNumberFlag('rate-limit', values['rate-limit'], (n) => n > 0 && Number.isFinite(n), 'a positive number') ?? DEFAULT_RATE_LIMIT.perMinute;
  const burst = parseNumberFlag('burst', values.burst, positive, 'a positive integer') ?? DEFAULT_RATE_LIMIT.burst;
  const maxTokensLimit = parseNumberFlag('max-tokens-limit', values['max-tokens-limit'], positive, 'a positive integer') ?? DEFAULT_LIMITS.maxTokensLimit;
  const defaultMaxTokens = parseNumberFlag('max-tokens', values['max-tokens'], positive, 'a positive integer') ?? Math.min(DEFAULT_LIMITS.defaultMaxTokens, maxTokensLimit);
  if (defaultMaxTokens > maxTokensLimit) throw new RangeError(`--max-tokens ${defaultMaxTokens} is over --max-tokens-limit ${maxTokensLimit}`);
  const defaultTemperature = parseNumberFlag('temperature', values.temperature, (n) => n >= 0 && n <= 2, 'a number in [0, 2]') ?? DEFAULT_LIMITS.defaultTemperature;
  const bodyLimit = parseNumberFlag('body-limit', values['body-limit'], (n) => positive(n) && n >= 1024, 'an integer >= 1024 (bytes)') ?? DEFAULT_LIMITS.bodyLimit;
  const lr = parseNumberFlag('lr', values.lr, (n) => n > 0 && Number.isFinite(n), 'a positive number');
  const sampleTokens = parseNumberFlag('sample-tokens', values['sample-tokens'], positive, 'a positive integer');
  const threshold = parseNumberFlag('gate-threshold', values['gate-threshold'], (n) => n >= 0 && n <= 1, 'a number in [0, 1]');

  const log = (line: string) => process.stderr.write(`imprint serve: ${line}\n`);
  const server = await startServer({
    dataDir: values.data ?? defaultDataDir(), modelDir: values.model ?? shippedModelDir(), bundle: values.bundle ?? DEFAULT_BUNDLE,
    host: values.host, port, ...(kind === undefined ? {} : { kind }), ...(rank === undefined ? {} : { rank }), seed, learn: !values['no-learn'], quality: !values['no-quality'],
    learner: { seed, ...(lr === undefined ? {} : { lr }), ...(sampleTokens === undefined ? {} : { sampleTokens }), ...(threshold === undefined ? {} : { gate: { threshold } }) },
    rateLimit: { perMinute, burst }, limits: { maxTokensLimit, defaultMaxTokens, defaultTemperature, bodyLimit }, log,
  });
  // Tests and scripts read the bound port from this line (--port 0).
  console.log(`imprint serve: listening on ${server.url} (port ${server.port}), data ${values.data ?? defaultDataDir()}`);
  console.log(`imprint serve: web UI at ${server.url}/ui (enter a key from imprint users add)`);
  await new Promise<void>((resolve) => {
    const stop = () => { log('stopping: finishing the current request and learner step'); resolve(); };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  return 0;
}
