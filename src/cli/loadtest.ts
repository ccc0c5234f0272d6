import { parseArgs } from 'node:util';
import { readKeys, formatReport, runLoadtest } from '../serve/loadtest/run.js';
import { parseNumberFlag } from './modelArgument.js';

// `imprint loadtest`: a bounded load test of `imprint serve` over loopback
// (src/serve/loadtest). Exits 1 when anything was lost: an acknowledged
// feedback missing, a queued job not applied, a 5xx, a request with no answer.

export const MAX_DURATION_S = 60;

const help = `usage: imprint loadtest [options]

Starts imprint serve (a child process on a fresh temporary data directory, rate
limit lifted) with N new users, runs N concurrent client loops over loopback for
the duration (chat completions, streamed or not, and feedback on some of them),
then waits for the learning queues to drain and checks that every acknowledged
feedback is stored with its job and every job was applied. Reports throughput,
latency p50/p95/p99 (completions and feedback), errors by status, drain time and
learner updates. Exit status 1 if anything was lost or failed.

  --users N            concurrent users (default 8)
  --duration S         seconds of load, at most ${MAX_DURATION_S} (default 30)
  --max-tokens T       max_tokens of each completion (default 16)
  --feedback-rate R    share of completions that get feedback, 0 to 1 (default 0.5)
  --stream-rate R      share of completions streamed, 0 to 1 (default 0.5)
  --seed S             seed of the request mix (default 0)
  --drain-timeout S    longest wait for the learning queues after the load (default 180)
  --json               the report as JSON on stdout
  Own server (default):
  --data DIR           its data directory (default: a temporary one, removed afterwards)
  --model DIR          its model (default: the shipped model); --bundle NAME|PATH its bundle
  --serve-arg FLAG     one more flag for imprint serve (repeatable, e.g. --serve-arg=--no-quality)
  --keep               keep the temporary data directory (and the server's log)
  A running server instead:
  --url URL            e.g. http://127.0.0.1:8080 (its rate limit applies: 429s wait Retry-After)
  --keys FILE          its users' API keys: one a line, or imprint users add --json lines`;

export async function runLoadtestCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args, strict: true,
    options: {
      users: { type: 'string', default: '8' }, duration: { type: 'string', default: '30' }, 'max-tokens': { type: 'string', default: '16' },
      'feedback-rate': { type: 'string', default: '0.5' }, 'stream-rate': { type: 'string', default: '0.5' }, seed: { type: 'string', default: '0' },
      'drain-timeout': { type: 'string', default: '180' }, json: { type: 'boolean', default: false },
      data: { type: 'string' }, model: { type: 'string' }, bundle: { type: 'string' }, 'serve-arg': { type: 'string', multiple: true, default: [] },
      keep: { type: 'boolean', default: false }, url: { type: 'string' }, keys: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  const positive = (n: number) => Number.isSafeInteger(n) && n >= 1;
  const share = (n: number) => n >= 0 && n <= 1;
  const users = parseNumberFlag('users', values.users, (n) => positive(n) && n <= 1000, 'an integer in [1, 1000]')!;
  const durationS = parseNumberFlag('duration', values.duration, (n) => n > 0 && n <= MAX_DURATION_S, `a number of seconds in (0, ${MAX_DURATION_S}]`)!;
  const maxTokens = parseNumberFlag('max-tokens', values['max-tokens'], (n) => positive(n) && n <= 4096, 'a positive integer')!;
  const feedbackRate = parseNumberFlag('feedback-rate', values['feedback-rate'], share, 'a number in [0, 1]')!;
  const streamRate = parseNumberFlag('stream-rate', values['stream-rate'], share, 'a number in [0, 1]')!;
  const seed = parseNumberFlag('seed', values.seed, (n) => Number.isSafeInteger(n) && n >= 0, 'a non-negative integer')!;
  const drainTimeoutS = parseNumberFlag('drain-timeout', values['drain-timeout'], (n) => n >= 0 && n <= 3600, 'a number of seconds in [0, 3600]')!;
  if ((values.url === undefined) !== (values.keys === undefined)) throw new RangeError('--url and --keys go together (a running server and its users\' keys)');
  if (values.url !== undefined && (values.data !== undefined || values.model !== undefined || values.bundle !== undefined || values['serve-arg'].length > 0 || values.keep)) {
    throw new RangeError('--data, --model, --bundle, --serve-arg and --keep are for the server loadtest starts; with --url the server is already running');
  }

  const report = await runLoadtest({
    users, durationS, maxTokens, feedbackRate, streamRate, seed, drainTimeoutS,
    ...(values.data === undefined ? {} : { dataDir: values.data }), ...(values.model === undefined ? {} : { modelDir: values.model }),
    ...(values.bundle === undefined ? {} : { bundle: values.bundle }), serveArgs: values['serve-arg'], keepData: values.keep,
    ...(values.url === undefined ? {} : { url: values.url, keys: readKeys(values.keys!) }),
    log: (line) => process.stderr.write(`imprint loadtest: ${line}\n`),
  });
  console.log(values.json ? JSON.stringify(report, null, 2) : formatReport(report));
  return report.ok ? 0 : 1;
}
