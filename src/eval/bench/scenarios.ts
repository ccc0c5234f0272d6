import { createCodingEnvironments } from '../../world/coding/environments.js';
import { createHomeUsers } from '../../world/home/users.js';
import { type Agent, type GarbageKind, GARBAGE_KINDS, codingAgent, homeAgent } from './agents.js';

// The benchmark's scenarios, each a pure function of its seed:
//   home            several users with hidden preferences on the style axes
//                   (1–4 axes each), each with their own adapter (or memory);
//   coding          environments that each need a role and a syntax style;
//   adversarial-R   home users whose stream has garbage interactions mixed in at
//                   rate R (random text, contradictory thumbs, wrong corrections,
//                   in turn); adversarial-0 is the same users clean, the
//                   reference the drift is measured from;
//   sequential      coding environments one after another on ONE shared method
//                   state (the agent moving between teams): forgetting of
//                   earlier environments is measured as backward transfer.
// Each stream's requests and reactions come from its own generator, so two
// methods see the same requests until their replies differ.

export type Domain = 'home' | 'coding';

export interface Scenario {
  name: string;
  domain: Domain;
  agents: Agent[];
  /** One method state for every agent, in order (sequential), or one per agent. */
  shared: boolean;
  /** Interactions per agent. */
  interactions: number;
  /** Share of interactions replaced by garbage (adversarial), and the kinds cycled through. */
  garbage: { rate: number; kinds: readonly GarbageKind[] } | null;
  /** Interaction counts (per agent) after which each agent is measured; 0 and `interactions` always. */
  evaluateAt: number[];
}

export interface ScenarioSizes {
  homeUsers: number;
  codingEnvironments: number;
  adversarialUsers: number;
  sequentialEnvironments: number;
  interactions: number;
  /** Interactions per environment in the sequential scenario. */
  sequentialInteractions: number;
  evaluateEvery: number;
  garbageRates: number[];
}

export const SCENARIO_NAMES = ['home', 'coding', 'adversarial', 'sequential'] as const;
export type ScenarioFamily = (typeof SCENARIO_NAMES)[number];

function checkpoints(interactions: number, every: number): number[] {
  const points = new Set([0, interactions]);
  for (let n = every; n < interactions; n += every) points.add(n);
  return [...points].sort((a, b) => a - b);
}

export function adversarialName(rate: number): string {
  return `adversarial-${Math.round(rate * 100)}`;
}

/** Every scenario of the sizes, from `seed` (the same seed gives the same users, environments and streams). */
export function buildScenarios(seed: number, sizes: ScenarioSizes, families: readonly ScenarioFamily[] = SCENARIO_NAMES): Scenario[] {
  const out: Scenario[] = [];
  const at = checkpoints(sizes.interactions, sizes.evaluateEvery);
  if (families.includes('home')) {
    out.push({ name: 'home', domain: 'home', agents: createHomeUsers(seed, sizes.homeUsers).map(homeAgent), shared: false, interactions: sizes.interactions, garbage: null, evaluateAt: at });
  }
  if (families.includes('coding')) {
    out.push({ name: 'coding', domain: 'coding', agents: createCodingEnvironments(seed + 1, sizes.codingEnvironments).map(codingAgent), shared: false, interactions: sizes.interactions, garbage: null, evaluateAt: at });
  }
  if (families.includes('adversarial')) {
    const users = createHomeUsers(seed + 2, sizes.adversarialUsers).map(homeAgent);
    for (const rate of [0, ...sizes.garbageRates]) {
      out.push({ name: adversarialName(rate), domain: 'home', agents: users, shared: false, interactions: sizes.interactions, garbage: rate === 0 ? null : { rate, kinds: GARBAGE_KINDS }, evaluateAt: at });
    }
  }
  if (families.includes('sequential')) {
    const n = sizes.sequentialInteractions;
    out.push({ name: 'sequential', domain: 'coding', agents: createCodingEnvironments(seed + 3, sizes.sequentialEnvironments).map(codingAgent), shared: true, interactions: n, garbage: null, evaluateAt: [0, n] });
  }
  return out;
}
