#!/usr/bin/env node
import { runActivations } from './activations.js';
import { runAdapter } from './adapter.js';
import { runBundle } from './bundle.js';
import { runChat } from './chat.js';
import { runConvert } from './convert.js';
import { runEval } from './eval.js';
import { runFeatures } from './features.js';
import { runGenerate } from './generate.js';
import { runLearn } from './learn.js';
import { runLogits } from './logits.js';
import { runPerf } from './perf.js';
import { runPretrain } from './pretrain.js';
import { runSae } from './sae.js';
import { runWorld } from './world.js';

// The `imprint` command. Each subcommand lives in its own file and parses its own flags.
// serve, users and loadtest are loaded when run: they bring Fastify and SQLite's native module, which no
// other command needs (nor should fail for).

interface Command {
  summary: string;
  run: (args: string[]) => Promise<number> | number;
}

const commands: Record<string, Command> = {
  generate: { summary: 'stream a completion from a model directory', run: runGenerate },
  logits: { summary: 'next-token log-probabilities of a text (--json for other tools)', run: runLogits },
  convert: { summary: 'export a model directory to another format (--to gguf)', run: runConvert },
  pretrain: { summary: 'pretrain the shipped model from scratch on the generated world (--resume to continue)', run: runPretrain },
  eval: { summary: 'evaluate a model: --suite base (the base probes) or --suite learn-proof (the learner\'s proof, FC-LoRA against LoRA)', run: runEval },
  world: { summary: 'data from the generated world: pairs writes contrastive pairs along a style axis', run: runWorld },
  activations: { summary: 'store the residual stream of a corpus at hook points as a sharded dataset', run: runActivations },
  sae: { summary: 'sparse autoencoders: train (TopK, SAELens format), eval, show a latent', run: runSae },
  features: { summary: 'find a contrastive direction (and SAE latents) from text pairs; label a feature', run: runFeatures },
  bundle: { summary: 'bundles of features: create, show (--html), export a llama.cpp control vector', run: runBundle },
  learn: { summary: 'learn an adapter from a file of interactions (JSONL) into a versioned adapter store', run: runLearn },
  chat: { summary: 'a terminal chat that learns live into your adapter (/up /down /correct /prefer /note /undo)', run: runChat },
  adapter: { summary: 'versions of an adapter store: list, show, rollback, export (--format peft|gguf)', run: runAdapter },
  serve: { summary: 'an OpenAI-compatible chat server; each API key\'s adapter learns from its feedback in the background', run: async (args) => (await import('./serve.js')).runServe(args) },
  users: { summary: 'users and API keys of imprint serve: add, list, revoke (--data DIR)', run: async (args) => (await import('./users.js')).runUsers(args) },
  loadtest: { summary: 'a bounded load test of imprint serve over loopback: throughput, latency p50/p95/p99, no feedback lost', run: async (args) => (await import('./loadtest.js')).runLoadtestCommand(args) },
  perf: { summary: 'benchmark the compute core and inference (GEMM, training, prefill, decode); --json for machine-readable output', run: runPerf },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(11)} ${c.summary}`);
  return ['usage: imprint <command> [options]', '', 'commands:', ...lines, '', 'Run `imprint <command> --help` for its options.'].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return 0;
  }
  const command = commands[name];
  if (command === undefined) {
    console.error(`imprint: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  return command.run(rest);
}

// A reader that stops early (`imprint logits ... | head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error: unknown) => {
    console.error(`imprint: ${error instanceof Error ? error.message : String(error)}`);
    if (process.env.IMPRINT_DEBUG) console.error(error);
    process.exitCode = 1;
  },
);
