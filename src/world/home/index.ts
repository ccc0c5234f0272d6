// The home-assistant half of the world: requests, styled replies, contexts,
// dialogues and simulated users.
export { generateHomeDialogue, randomHomeStyle, homeTasks, defaultStatedRate, defaultFeedbackRate } from './dialogue.js';
export type { GeneratedHomeDialogue, HomeDialogueOptions } from './dialogue.js';
export { renderHomeContext, contextKinds } from './contexts.js';
export { createHomeUsers, userReaction, violatedAxes } from './users.js';
export type { HomeUser } from './users.js';
export { statedStyle, oppositeValue, homeAxisNames, corrections, preferences, profilePhrases, memoryNotes } from './styleStatements.js';
export type { HomeAxis } from './styleStatements.js';
export { realiseReply } from './styleRealisation.js';
export type { ReplyContent, HomeRequest } from './replyContent.js';
