import type { FeatureSpace } from '../../../adapt/index.js';
import type { TextTokenizer } from '../../../io/tokenizer.js';
import type { ChatEncoding, Experience, LearnerOptions, QualityDetector, StudentForward } from '../../../learn/index.js';
import type { CausalLm } from '../../../model/causalLm.js';
import type { ChatTurn } from '../../../world/types.js';

// A method of the continual-learning benchmark: how one user's (or one shared
// agent's) behaviour is kept and updated. Every method is driven the same way
// by the runner (runCell.ts): it replies to a request, the agent reacts, the
// interaction becomes an experience, and the method learns from it (or not);
// at checkpoints the runner measures it. The only differences between methods
// are what `learn` changes and where: adapter weights, a copy of the base
// weights, a neural memory, notes in the prompt, or nothing.

export interface MethodContext {
  model: CausalLm;
  tokenizer: TextTokenizer;
  encoding: ChatEncoding;
  /** The bundle of the scenario's domain (assistant-style for home, coding-roles for coding). */
  space: FeatureSpace;
  /** The learner's feature-based garbage detector at the bundle's hook point (null: not gated on quality). */
  quality: QualityDetector | null;
  seed: number;
  /** Learner options shared by every learning method (lr aside, which each method may set). */
  learner: LearnerOptions;
}

export interface LearnOutcome {
  /** Wall time of the update (0 when the method does not learn). */
  ms: number;
  /** Whether anything changed. */
  updated: boolean;
}

export interface MethodState {
  /** The model the method replies with (its own copy for full fine-tuning, the shared base otherwise). */
  model: CausalLm;
  /** Forward options for replies and probes: adapters, residual hooks. */
  forward(): StudentForward;
  /** The prompt sent for a request: memory methods add their notes when `withMemory`; others return it unchanged. */
  prompt(turns: ChatTurn[], withMemory: boolean): ChatTurn[];
  learn(experience: Experience): LearnOutcome;
  /** What the method stores for this user (adapter tensors, notes, memory weights, a weight copy). */
  bytes(): number;
}

export interface BenchMethod {
  /** Short name used in tables and the results file, e.g. "fc-write", "lora-r8". */
  name: string;
  description: string;
  /** The learning rate it runs at (tunedRates.ts, or the @rate of its name); absent for methods that learn nothing. */
  learningRate?: number;
  /** True for methods whose knowledge lives in the prompt (measured with and without it). */
  memoryInPrompt: boolean;
  /** Why the method cannot run with this bundle (e.g. no layer reads after the hook point), or null. */
  unavailable(ctx: Pick<MethodContext, 'model' | 'space'>): string | null;
  create(ctx: MethodContext): MethodState;
}

export function float32Bytes(tensors: readonly { size: number }[]): number {
  return 4 * tensors.reduce((s, t) => s + t.size, 0);
}
