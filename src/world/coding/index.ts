// The coding-agent half of the generated world: tasks, replies per role, contexts,
// dialogues and the environments the learning benchmark runs against.
export { codingTasks, codingTask, buggyLines, type CodingTask } from './tasks.js';
export { randomCodingStyle, observableAxes, codingAxisNames, type CodingAxis } from './style.js';
export { renderCodingContext, statedCodingAxes } from './contexts.js';
export { codingContextPhrases } from './contextPhrases.js';
export { codingFeedbackTexts, feedbackTextFor } from './feedbackTexts.js';
export { renderCodingRequest } from './requests.js';
export { renderCodingReply, fixerDiff, signatureStub } from './replies.js';
export { generateCodingDialogue, type CodingDialogueOptions } from './dialogue.js';
export { createCodingEnvironments, environmentReaction, type CodingEnvironment } from './environments.js';
export type { SyntaxStyle, CodeLine } from './codeModel.js';
