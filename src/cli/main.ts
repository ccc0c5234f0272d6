#!/usr/bin/env node
import { runPerf } from './perf.js';

// The `imprint` command. Each subcommand lives in its own file and parses its own flags.

interface Command {
  summary: string;
  run: (args: string[]) => Promise<number> | number;
}

const commands: Record<string, Command> = {
  perf: { summary: 'benchmark the compute core (GEMM GFLOP/s, training tokens/s); --json for machine-readable output', run: runPerf },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
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

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error: unknown) => {
    console.error(`imprint: ${error instanceof Error ? error.message : String(error)}`);
    if (process.env.IMPRINT_DEBUG) console.error(error);
    process.exitCode = 1;
  },
);
