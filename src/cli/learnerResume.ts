import { AdapterStoreError, type AdapterStore, type StoredLearnerState } from '../adapt/index.js';
import { type OnlineLearner, decodeLearnerState, encodeLearnerState } from '../learn/index.js';

// What `imprint learn` and `imprint chat` do with the learner's state: save it
// with every version they commit, and restore it when they continue from a
// version that has it, so that a session continued later takes the steps an
// uninterrupted one would have (the same AdamW moments and bias correction,
// replay buffer and generators) instead of restarting the optimiser.

/** The learner's state as a commit saves it beside the version. */
export function learnerStateToSave(learner: OnlineLearner): StoredLearnerState {
  return encodeLearnerState(learner.exportState());
}

/**
 * Restores the state saved with `version` into a new learner on that version's
 * adapter, and says so in one line. When the version has none, or it cannot be
 * read or does not fit (the line says why), the learner starts fresh: the
 * adapter itself is unaffected, and refusing to continue would help nobody.
 */
export function resumeLearner(learner: OnlineLearner, store: AdapterStore, version: number): { resumed: boolean; line: string } {
  const fresh = 'the optimiser and replay buffer start fresh';
  try {
    const saved = store.readLearnerState(version);
    if (saved === null) return { resumed: false, line: `version ${version} has no saved learner state; ${fresh}` };
    learner.restoreState(decodeLearnerState(saved.state, saved.path));
  } catch (error) {
    if (!(error instanceof AdapterStoreError || error instanceof RangeError)) throw error;
    return { resumed: false, line: `could not resume the learner's state from version ${version} (${(error as Error).message}); ${fresh}` };
  }
  const state = learner.exportState();
  return {
    resumed: true,
    line: `resumed the learner's optimiser state from version ${version} (AdamW step ${state.optimiser.stepCount}, ${state.replay.items.length} replay item${state.replay.items.length === 1 ? '' : 's'})`,
  };
}
