import type { TextTokenizer } from '../../io/tokenizer.js';
import type { ActivationDataset } from '../activations/dataset.js';
import type { LatentEncoder } from '../discovery/differentialRanking.js';
import { dotRow } from '../discovery/rows.js';
import { TopRows } from './topRows.js';

// The first thing to read when naming a feature: the tokens on which it is most
// active, each shown in its text with the activating token marked («token»).
// The dataset is streamed shard by shard, so labelling costs one shard of memory.

/** How a row of the dataset turns into one activation value. */
export type RowScorer =
  /** Projection of the row on a direction (length d). */
  | { direction: Float32Array }
  /** One SAE latent: encode rows, read column `latent`. */
  | { encode: LatentEncoder; dSae: number; latent: number; chunkRows?: number }
  /** Values already computed, one per dataset row in global row order. */
  | { values: Float32Array };

export interface TopContextOptions {
  tokenizer: TextTokenizer;
  /** The stored point to score; may be omitted when the dataset stores one point or the scorer gives values. */
  point?: string;
  /** Rows to return (default 20). */
  topN?: number;
  /** Tokens shown before and after the activating one (defaults 12 and 4). */
  before?: number;
  after?: number;
  /** Marks around the activating token (default « and »). */
  marks?: readonly [string, string];
}

export interface ActivatingContext {
  row: number;
  value: number;
  text: number;
  position: number;
  tokenId: number;
  /** The activating token, decoded. */
  token: string;
  /** before + «token» + after. */
  context: string;
  before: string;
  after: string;
}

function pointToScore(dataset: ActivationDataset, point: string | undefined): string {
  if (point !== undefined) {
    if (!dataset.points.includes(point)) throw new RangeError(`topActivatingContexts: point "${point}" is not in the dataset; it has ${dataset.points.join(', ')}`);
    return point;
  }
  if (dataset.points.length !== 1) throw new RangeError(`topActivatingContexts: the dataset stores ${dataset.points.length} points (${dataset.points.join(', ')}); name one with options.point`);
  return dataset.points[0];
}

/** Streams every row's value into `top`. */
function scoreRows(dataset: ActivationDataset, scorer: RowScorer, point: string | undefined, top: TopRows): void {
  if ('values' in scorer) {
    if (scorer.values.length !== dataset.rows) throw new RangeError(`topActivatingContexts: ${scorer.values.length} values for a dataset of ${dataset.rows} rows`);
    scorer.values.forEach((v, row) => top.offer(row, v));
    return;
  }
  const d = dataset.d;
  const name = pointToScore(dataset, point);
  if ('direction' in scorer && scorer.direction.length !== d) {
    throw new RangeError(`topActivatingContexts: direction has ${scorer.direction.length} entries, the dataset's rows have ${d}`);
  }
  if ('latent' in scorer && (!Number.isSafeInteger(scorer.latent) || scorer.latent < 0 || scorer.latent >= scorer.dSae)) {
    throw new RangeError(`topActivatingContexts: latent ${scorer.latent} is outside [0, dSae ${scorer.dSae})`);
  }
  for (let shard = 0; shard < dataset.shardCount; shard++) {
    const rows = dataset.readShard(shard, name);
    const n = rows.length / d;
    const start = dataset.shardStart(shard);
    if ('direction' in scorer) {
      for (let r = 0; r < n; r++) top.offer(start + r, dotRow(rows, r, scorer.direction, d));
      continue;
    }
    const chunk = scorer.chunkRows ?? 256;
    for (let first = 0; first < n; first += chunk) {
      const count = Math.min(chunk, n - first);
      const latents = scorer.encode(rows.subarray(first * d, (first + count) * d), count);
      if (latents.length !== count * scorer.dSae) throw new RangeError(`topActivatingContexts: encode returned ${latents.length} values for ${count} rows of dSae ${scorer.dSae}`);
      for (let r = 0; r < count; r++) top.offer(start + first + r, latents[r * scorer.dSae + scorer.latent]);
    }
  }
}

export function topActivatingContexts(dataset: ActivationDataset, scorer: RowScorer, options: TopContextOptions): ActivatingContext[] {
  const { tokenizer } = options;
  const before = options.before ?? 12;
  const after = options.after ?? 4;
  const [open, close] = options.marks ?? ['«', '»'];
  const top = new TopRows(options.topN ?? 20);
  scoreRows(dataset, scorer, options.point, top);
  return top.result().map(({ row, value }) => {
    const window = dataset.tokenWindow(row, before, after);
    const tokenId = window.tokens[window.focus];
    const token = tokenizer.decode([tokenId]);
    const left = tokenizer.decode(window.tokens.slice(0, window.focus));
    const right = tokenizer.decode(window.tokens.slice(window.focus + 1));
    return {
      row, value, text: window.text, position: window.position, tokenId, token,
      context: `${left}${open}${token}${close}${right}`, before: left, after: right,
    };
  });
}
