// The online learner: experiences, their objectives, the gate, forgetting
// control, and the learner that turns interactions into adapter updates.
export {
  REACTION_KINDS, acceptedReply, experienceLabel, promptTurns, teacherPromptTurns,
  type Experience, type ExperienceContext, type Reaction, type ReactionKind,
} from './experience.js';
export { checkExperience, type ExperienceCheck, type ExperienceLimits } from './validateExperience.js';
export {
  describeLineErrors, parseExperiencesJsonl, readExperiencesFile,
  type ExperienceLineError, type ParseExperiencesOptions, type ParsedExperience, type ParsedExperiences,
} from './parseExperiences.js';
export { worldChatEncoding, type ChatEncoding } from './chatEncoding.js';
export { encodeExperience, type EncodedExperience, type PreferenceData } from './encodeExperience.js';
export { drawToken, sampleReply, type SampleReplyOptions, type SampledReply } from './sampleReply.js';
export { referenceRows, scoringInput, sequenceLogprob, studentRows, type Policy, type StudentForward } from './objectives/policy.js';
export { argmaxAgreement, contextDistillationLoss, type DistillationResult } from './objectives/contextDistillation.js';
export { replyNll, sftLoss, type ReplyNll } from './objectives/sft.js';
export { dpoLoss, implicitReward, ktoLoss, type KtoOptions, type ScoredReply } from './objectives/preference.js';
export { backgroundKlLoss } from './objectives/backgroundKl.js';
export { weightedSum, type LossTerm } from './objectives/combine.js';
export { addConstant, negativeLogSigmoid, sigmoidOf } from './objectives/scalarOps.js';
export {
  defaultObjectiveConfig, experienceObjective,
  type ExperienceObjective, type ObjectiveConfig, type ObjectiveWeights,
} from './objectives/experienceObjective.js';
export {
  checkGateConfig, defaultGateConfig, gateDecision, trustOf, weightBound,
  type GateConfig, type GateDecision, type GateSignals, type QualityReading,
} from './gating.js';
export { subspaceFraction, type SubspaceFraction } from './gating/subspaceFraction.js';
export { GradientProbe } from './gating/gradientProbe.js';
export {
  buildQualityDetector, coherentTexts, garbageTexts, loadOrBuildQualityDetector, loadQualityDetector, meanActivation,
  qualityOfIds, saveQualityDetector, scoreProjection, textIds,
  type QualityDetector, type QualityDetectorOptions, type QualityScore,
} from './gating/qualityDetector.js';
export { BackgroundPool, ReplayBuffer, defaultBackgroundSequences, type BackgroundPoolState, type ReplayItem, type ReplayState } from './forgetting.js';
export {
  LEARNER_STATE_FORMAT, LEARNER_STATE_VERSION, type LearnerState, type Moments, checkRestorable, decodeLearnerState, encodeLearnerState, parameterNames,
} from './learnerState.js';
export {
  DEFAULT_LEARNING_RATE, defaultLearnerConfig, resolveLearnerConfig,
  type ForgettingConfig, type LearnerConfig, type LearnerOptions,
} from './learnerConfig.js';
export { OnlineLearner, type ExperienceLog, type ExperienceRecord, type LearnerInit, type StepLog } from './learner.js';
export { loadBundleFeatureSpace } from './bundleFeatureSpace.js';
export {
  checkAxisTarget, generalTextLoss, generalTextProbe, heldOutHomePrompts, heldOutHomeRequests, measureAxis, teacherGap, teacherSamples, wantedScore,
  type AxisMeasurement, type AxisTarget, type MeasureOptions, type TeacherSample,
} from './measure.js';
export {
  reactionFromFeedback, simulateLearning, userContext,
  type SimulationOptions, type SimulationPoint, type SimulationResult,
} from './simulate.js';
export {
  DEFAULT_EVALUATE_AT, DEFAULT_PROOF_SELECTION, FC_PROOF_KINDS, PROOF_KINDS, matchedComparisons, prepareProof, proofConfig, proofRun, proofRunOne, proofSettings, proofTargets,
  summariseKind, summariseProof,
  type KindSummary, type MatchedComparison, type ProofConfig, type ProofKind, type ProofRunOptions, type ProofRunRecord, type ProofRunResult, type ProofSettings, type ProofSetup, type ProofSelection,
} from './proofRun.js';
export { describeLevelRow, describeProofRun, formatLr, kindLabel } from './proofReport.js';
export {
  DEFAULT_LEVEL_FRACTIONS, forgettingAtLevels, gapReduction, judgeGain, lossShiftAtLevel,
  type ForgettingAtLevel, type LevelEntry, type Trajectory,
} from './adaptationLevels.js';
export {
  checkFeatureSelectionConfig, defaultFeatureSelection, rankFeaturesByContextShift, selectUserFeatures, selectedFeatureIds,
  type FeatureRanking, type FeatureSelectionConfig, type FeatureShift,
} from './featureSelection.js';
