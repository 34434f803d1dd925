// Public names of src/train, re-exported by src/index.ts.
export { train, evaluate } from './train.js';
export type { TrainOptions, TrainResult, EpochRecord } from './train.js';
export { augmentedBatch } from './augment.js';
export type { AugmentOptions } from './augment.js';
export { learningRateAt, SCHEDULES } from './schedule.js';
export type { ScheduleName } from './schedule.js';
export { adversarialSet, adversarialTraining } from './adversarial.js';
export type { AdversarialAttackSpec, AdversarialSet, AdversarialSetOptions, AdversarialSetStats, AdversarialTrainingOptions, AdversarialTrainingResult } from './adversarial.js';
export { continueFrom, checkContinueFrom } from './continueFrom.js';
export type { ContinuedFrom } from './continueFrom.js';
export { adversarialBatch, onTheFlyAdversarialTraining, resolveOnTheFlyAttack, ON_THE_FLY_METHODS } from './onTheFly.js';
export type { OnTheFlyAttack, OnTheFlyMethod, OnTheFlyTrainingOptions, ResolvedOnTheFlyAttack } from './onTheFly.js';
