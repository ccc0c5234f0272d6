import { parseArgs } from 'node:util';
import { contrastForms, contrastPairs, type ContrastForm } from '../world/contrastPairs.js';
import { codingAxes, homeAxes } from '../world/types.js';
import { parseNumberFlag } from './modelArgument.js';
import { writeJsonlTexts } from './textFiles.js';

// `imprint world`: data drawn from the generated world. `world pairs` writes the
// contrastive pairs that `features find` turns into a style direction.

const axisList = (axes: Record<string, readonly string[]>) => Object.entries(axes).map(([a, v]) => `${a} (${v.join('|')})`).join(', ');

const help = `usage: imprint world pairs --domain home|coding --axis NAME --count N --pos FILE --neg FILE [--seed S] [--side VALUE] [--form F] [--opening VALUE]

Writes contrastive pairs as JSONL ({"text": ...} per line): line i of --pos and of
--neg are the same request answered with the axis on one side and on the other,
every other style axis equal. Dialogues carry no system turn, so the style shows
in the reply alone. With --form prompts, line i is instead the same request behind
a system turn stating the axis on one side or the other, up to the assistant tag
(read it with features find --positions last). With --form openings, each of those
prompts is followed by the same first line of a reply, written with the axis on
the --opening side: its last token is where the line ends and the style decides
what comes next (an acknowledgement, a second line, the end), which is where
several axes show (read it with --positions last too).

  --domain D     home or coding
  --axis NAME    home: ${axisList(homeAxes)}
                 coding: ${axisList(codingAxes)}
  --count N      number of pairs
  --pos FILE     JSONL of the replies on the --side value
  --neg FILE     JSONL of the replies on the other value (for role: the other three roles, in turn)
  --side VALUE   the positive value (default: the axis's first value)
  --seed S       seed of the draw (default 0)
  --form F       replies (default), prompts or openings
  --opening V    with --form openings: the axis value the shared first reply line is written with`;

export async function runWorld(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    console.log(help);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'pairs') throw new RangeError(`imprint world: unknown subcommand '${sub}'; expected pairs`);
  const { values } = parseArgs({
    args: rest,
    options: {
      domain: { type: 'string' },
      axis: { type: 'string' },
      count: { type: 'string' },
      pos: { type: 'string' },
      neg: { type: 'string' },
      side: { type: 'string' },
      seed: { type: 'string', default: '0' },
      form: { type: 'string', default: 'replies' },
      opening: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  for (const flag of ['domain', 'axis', 'count', 'pos', 'neg'] as const) {
    if (values[flag] === undefined) throw new RangeError(`imprint world pairs: --${flag} is required (see --help)`);
  }
  const count = parseNumberFlag('count', values.count, (n) => Number.isSafeInteger(n) && n >= 1, 'a positive integer')!;
  const seed = parseNumberFlag('seed', values.seed, (n) => Number.isSafeInteger(n), 'an integer')!;
  if (!contrastForms.includes(values.form as ContrastForm)) throw new RangeError(`imprint world pairs: --form must be one of ${contrastForms.join(', ')}, got "${values.form}"`);
  const pairs = contrastPairs(values.domain!, values.axis!, count, seed, { side: values.side, form: values.form as ContrastForm, opening: values.opening });
  writeJsonlTexts(values.pos!, pairs.pos);
  writeJsonlTexts(values.neg!, pairs.neg);
  console.log(`wrote ${count} pairs on ${values.domain} ${values.axis}: ${pairs.posSide} -> ${values.pos}, ${pairs.negSide} -> ${values.neg}`);
  return 0;
}
