import { METHOD_NAMES } from './methods/registry.js';
import { SCENARIO_NAMES } from './scenarios.js';
import type { BenchSuiteConfig } from './benchSuite.js';
import { TUNE_SUITE } from './tuning.js';

// The two benchmark suites, on every scenario.
//   quick  one seed, 2 users or environments per scenario, 4 interactions,
//          every method: the smoke run the README shows, minutes on a 2-core
//          machine. Too small to rank methods (one seed has no interval): it
//          shows the harness works end to end.
//   full   the real comparison: 3 seeds, 8 home users with 50 interactions
//          each, 4 coding environments, garbage at 10/30/50%, 4 environments in
//          sequence. Hours per seed on this machine; every cell is saved as it
//          finishes, so it runs across several sittings.
//   tune   every learning method at each candidate rate on seed 0 (tuning.ts):
//          how the rates in methods/tunedRates.ts were chosen.

export const QUICK_SUITE: BenchSuiteConfig = {
  name: 'quick',
  seeds: [1],
  sizes: { homeUsers: 2, codingEnvironments: 2, adversarialUsers: 1, sequentialEnvironments: 2, interactions: 4, sequentialInteractions: 3, evaluateEvery: 4, garbageRates: [0.3] },
  scenarios: [...SCENARIO_NAMES],
  methods: [...METHOD_NAMES],
  settings: { heldOut: 3, replyTokens: 32, temperature: 0.7, facts: 4 },
  generalPassages: 4,
  // Half the default student sample: sampling is most of a learner step.
  learner: { sampleTokens: 32 },
};

export const FULL_SUITE: BenchSuiteConfig = {
  name: 'full',
  seeds: [1, 2, 3],
  sizes: { homeUsers: 8, codingEnvironments: 4, adversarialUsers: 2, sequentialEnvironments: 4, interactions: 50, sequentialInteractions: 20, evaluateEvery: 10, garbageRates: [0.1, 0.3, 0.5] },
  scenarios: [...SCENARIO_NAMES],
  methods: [...METHOD_NAMES],
  settings: { heldOut: 16, replyTokens: 48, temperature: 0.7, facts: 24 },
  generalPassages: 16,
  learner: {},
};

export const BENCH_SUITES: Record<string, BenchSuiteConfig> = { quick: QUICK_SUITE, full: FULL_SUITE, tune: TUNE_SUITE };
