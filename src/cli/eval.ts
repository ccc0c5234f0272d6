import { runEvalBase } from './evalBase.js';
import { runEvalBench } from './evalBench.js';
import { runEvalLearnProof } from './evalLearnProof.js';

// `imprint eval --suite NAME`: picks the suite; each suite's file parses its own
// flags (--suite included, so its strict parsing accepts it) and prints its help.

interface Suite {
  summary: string;
  run: (args: string[]) => Promise<number>;
}

const suites: Record<string, Suite> = {
  quick: { summary: 'the continual-learning benchmark, small: every method on every scenario, one seed (under 10 minutes)', run: runEvalBench },
  full: { summary: 'the continual-learning benchmark, full size: 3 seeds, 8 users, 50 interactions (hours; resumable per cell)', run: runEvalBench },
  tune: { summary: 'how the benchmark\'s learning rates were chosen: every learning method at each candidate rate on seed 0 (about half an hour)', run: runEvalBench },
  base: { summary: 'the base probes of a model (style following, QA, general-text loss)', run: runEvalBase },
  'learn-proof': { summary: 'the learner\'s proof: FC-LoRA against plain LoRA learning a simulated user\'s preference, with forgetting, plots and resume', run: runEvalLearnProof },
};

const suiteList = Object.entries(suites).map(([name, s]) => `${name} (${s.summary})`).join(' or ');

const help = `usage: imprint eval --suite SUITE [options]

Suites:
${Object.entries(suites).map(([name, s]) => `  ${name.padEnd(12)} ${s.summary}`).join('\n')}

Run \`imprint eval --suite SUITE --help\` for a suite's options.`;

/** The value of --suite (as "--suite X" or "--suite=X"), or undefined. */
function suiteArgument(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--suite') return args[i + 1];
    if (args[i].startsWith('--suite=')) return args[i].slice('--suite='.length);
  }
  return undefined;
}

export async function runEval(args: string[]): Promise<number> {
  const name = suiteArgument(args);
  if (name === undefined && (args.includes('--help') || args.includes('-h'))) {
    console.log(help);
    return 0;
  }
  const suite = name !== undefined && Object.hasOwn(suites, name) ? suites[name] : undefined;
  if (suite === undefined) {
    throw new RangeError(`imprint eval: --suite must be ${suiteList}, got ${name === undefined ? 'nothing' : `'${name}'`}`);
  }
  return suite.run(args);
}
