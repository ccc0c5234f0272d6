import type { BenchSuiteConfig } from './benchSuite.js';
import { METHOD_NAMES } from './methods/registry.js';
import { CANDIDATE_RATES, TUNED_RATES } from './methods/tunedRates.js';
import type { MethodScenarioSummary } from './summary.js';

// `imprint eval --suite tune`: every learning method at each candidate rate of
// its family (tunedRates.ts) on seed 0, home and coding, and the rule that
// picks one rate per method from the result: the highest final score averaged
// over the scenarios the method can run; rates within TIE_MARGIN of it are
// tied, and the tie goes to the rate that moves general text least (forgetting
// breaks the tie because a rate that adapts no better but forgets more is the
// worse baseline).

export const TIE_MARGIN = 0.02;

function candidatesFor(method: string): readonly number[] {
  if (method === 'full-ft') return CANDIDATE_RATES['full-ft'];
  if (method === 'titans') return CANDIDATE_RATES.titans;
  return CANDIDATE_RATES.adapter;
}

/** Every learning method at each of its candidate rates, as NAME@RATE. */
export function tuneMethodNames(): string[] {
  return METHOD_NAMES.filter((m) => m in TUNED_RATES).flatMap((m) => candidatesFor(m).map((rate) => `${m}@${rate}`));
}

export const TUNE_SUITE: BenchSuiteConfig = {
  name: 'tune',
  seeds: [0],
  sizes: { homeUsers: 3, codingEnvironments: 2, adversarialUsers: 1, sequentialEnvironments: 2, interactions: 50, sequentialInteractions: 20, evaluateEvery: 10, garbageRates: [] },
  scenarios: ['home', 'coding'],
  methods: tuneMethodNames(),
  settings: { heldOut: 16, replyTokens: 48, temperature: 0.7, facts: 24 },
  generalPassages: 16,
  learner: {},
};

export interface RateCandidate {
  rate: number;
  /** Mean over the scenarios of the final score and of the general-text loss shift (null: a scenario had none). */
  score: number | null;
  lossShift: number | null;
}

export interface RateChoice {
  method: string;
  chosen: number | null;
  /** Why, in a phrase: the best score, or the least forgetting among the tied. */
  reason: string;
  candidates: RateCandidate[];
}

/** One choice per method that was run at two or more rates (NAME@RATE rows of a summary). */
export function chooseRates(summary: readonly MethodScenarioSummary[]): RateChoice[] {
  const byMethod = new Map<string, Map<number, MethodScenarioSummary[]>>();
  for (const row of summary) {
    const at = row.method.indexOf('@');
    if (at < 0) continue;
    const method = row.method.slice(0, at);
    const rate = Number(row.method.slice(at + 1));
    if (!byMethod.has(method)) byMethod.set(method, new Map());
    const rates = byMethod.get(method)!;
    if (!rates.has(rate)) rates.set(rate, []);
    rates.get(rate)!.push(row);
  }
  const choices: RateChoice[] = [];
  for (const [method, rates] of byMethod) {
    if (rates.size < 2) continue;
    // Only the scenarios where every rate of the method ran, so the means compare like with like.
    const scenarios = [...new Set([...rates.values()].flat().map((r) => r.scenario))]
      .filter((s) => [...rates.values()].every((rows) => rows.some((r) => r.scenario === s && r.status === 'ok')));
    const mean = (rows: MethodScenarioSummary[], pick: (r: MethodScenarioSummary) => number | null | undefined): number | null => {
      const values = scenarios.map((s) => pick(rows.find((r) => r.scenario === s)!));
      return values.length === 0 || values.some((v) => v === null || v === undefined || !Number.isFinite(v)) ? null : (values as number[]).reduce((a, b) => a + b, 0) / values.length;
    };
    const candidates: RateCandidate[] = [...rates].sort((a, b) => a[0] - b[0]).map(([rate, rows]) => ({
      rate, score: mean(rows, (r) => r.scoreAfter?.mean), lossShift: mean(rows, (r) => r.generalLossShift?.mean),
    }));
    const scored = candidates.filter((c) => c.score !== null);
    if (scored.length === 0) {
      choices.push({ method, chosen: null, reason: 'no rate has a score in every scenario it runs', candidates });
      continue;
    }
    const best = Math.max(...scored.map((c) => c.score!));
    const tied = scored.filter((c) => c.score! >= best - TIE_MARGIN);
    const chosen = tied.reduce((a, b) => ((b.lossShift ?? Infinity) < (a.lossShift ?? Infinity) ? b : a));
    const reason = tied.length === 1
      ? 'the best final score'
      : `least forgetting among the ${tied.length} rates within ${TIE_MARGIN} of the best final score`;
    choices.push({ method, chosen: chosen.rate, reason, candidates });
  }
  return choices;
}
