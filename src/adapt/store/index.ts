// The adapter store: one directory per adapter, a new version per update,
// rollback, retention, atomic writes and a writer lock.
export {
  AdapterStore, HEAD_FILE, PINS_FILE, VERSIONS_DIR,
  type AdapterStoreOptions, type CommitOptions, type CommitStep, type StoredLearnerFile, type StoredState, type VersionSummary,
} from './adapterStore.js';
export { LEARNER_FILE, LEARNER_FILE_FORMAT, type StoredLearnerState, type StoredTensor } from './learnerFile.js';
export { AdapterStoreError, AdapterStoreLockError } from './errors.js';
export { LOCK_FILE, StoreLock, type LockOptions, type LockOwner, removeLockOfEndedThread } from './lock.js';
export {
  TENSOR_FILE, VERSION_RECORD_FILE, VERSION_RECORD_FORMAT, VERSION_RECORD_FORMAT_VERSION,
  parseVersionDirName, versionDirName, type AdapterVersionRecord,
} from './versionRecord.js';
