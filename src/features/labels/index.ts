// Naming features: top-activating contexts and the logit lens.
export { topActivatingContexts, type ActivatingContext, type RowScorer, type TopContextOptions } from './topContexts.js';
export { promotedTokens, directionAfterFinalNorm, type PromotedTokens, type TokenScore, type LogitLensOptions } from './logitLens.js';
export { TopRows, type RankedRow } from './topRows.js';
