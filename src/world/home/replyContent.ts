// What a reply says, before any style is applied. Content sentences carry no
// style markers at all (no hedges, no register words, no contractions, no
// empathy, no "!"), so that every marker in a finished reply comes from the style
// and the judges can attribute it to its axis.

export interface ReplyContent {
  /** One declarative sentence ending in "." that answers the request. */
  answer: string;
  /** Sentences giving a reason; each contains "because" or "since". Detailed replies use 1-2. */
  reasons: readonly string[];
  /** Further sentences (related facts, tips). Detailed replies use one. */
  extras: readonly string[];
  /** Emotional requests get the empathetic family of warm acknowledgements. */
  emotional: boolean;
}

/** A user request and the content of a correct reply to it. */
export interface HomeRequest {
  task: string;
  text: string;
  content: ReplyContent;
  factId: string | null;
}
