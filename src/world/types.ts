// The generated world's shared vocabulary: the latent style of a reply (what the
// judges must recover from text alone), dialogues, and the feedback events the
// learning loop will consume later.

export type Directness = 'direct' | 'hedging';
export type Formality = 'casual' | 'formal';
export type Warmth = 'warm' | 'neutral';
export type Detail = 'brief' | 'detailed';

/** The four independent style axes of a home-assistant reply. */
export interface HomeStyle {
  directness: Directness;
  formality: Formality;
  warmth: Warmth;
  detail: Detail;
}

export type CodingRole = 'architect' | 'fixer' | 'techlead' | 'machine';
export type Naming = 'camel' | 'snake';
export type Semicolons = 'semicolons' | 'none';
export type Comments = 'sparse' | 'dense';

/** A coding-agent reply: its role and, independently, the syntax style of its code. */
export interface CodingStyle {
  role: CodingRole;
  naming: Naming;
  semicolons: Semicolons;
  comments: Comments;
}

export const homeAxes = {
  directness: ['direct', 'hedging'],
  formality: ['casual', 'formal'],
  warmth: ['warm', 'neutral'],
  detail: ['brief', 'detailed'],
} as const satisfies Record<keyof HomeStyle, readonly string[]>;

export const codingAxes = {
  role: ['architect', 'fixer', 'techlead', 'machine'],
  naming: ['camel', 'snake'],
  semicolons: ['semicolons', 'none'],
  comments: ['sparse', 'dense'],
} as const satisfies Record<keyof CodingStyle, readonly string[]>;

export type Role = 'system' | 'user' | 'assistant';

export interface ChatTurn {
  role: Role;
  content: string;
}

/** How a dialogue's style was made known to the assistant, if at all. */
export type ContextKind = 'profile' | 'memory' | 'correction';

/** A user's reaction to an assistant reply (the raw material of test-time learning). */
export type Feedback =
  | { kind: 'thumbs'; up: boolean }
  | { kind: 'correction'; text: string }
  | { kind: 'preference'; text: string };

export interface DialogueBase {
  id: string;
  userId: string;
  /** The context line stated in the system turn, or null when the style is unstated. */
  contextKind: ContextKind | null;
  turns: ChatTurn[];
  /** Feedback on the assistant turn at `turn`, as the user gave it (also rendered in `turns` when it is text). */
  feedback: { turn: number; feedback: Feedback }[];
}

export interface HomeDialogue extends DialogueBase {
  domain: 'home';
  /** home-assistant request kind: reminder, recipe, fact, smalltalk, emotional. */
  task: string;
  style: HomeStyle;
  /** For fact questions: the fact asked about, so the QA probe can check the answer. */
  factId: string | null;
}

export interface CodingDialogue extends DialogueBase {
  domain: 'coding';
  /** Which tiny function the task is about. */
  task: string;
  style: CodingStyle;
}

export type Dialogue = HomeDialogue | CodingDialogue;
