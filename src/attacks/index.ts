// Public names of src/attacks, re-exported by src/index.ts.
export type { Attack, AttackContext, AttackResult, AttackSpec, CommonParams, NormName, QueryCounts } from './types.js';
export { defineAttack, COMMON_DEFAULTS } from './defineAttack.js';
export { gradientLoop, crossEntropySum } from './gradientLoop.js';
export type { GradientLoopOptions } from './gradientLoop.js';
export { getNorm, linfNorm, l2Norm } from './norms.js';
export type { Norm } from './norms.js';
export { fgsm, FGSM_DEFAULTS } from './fgsm.js';
export type { FgsmParams } from './fgsm.js';
export { pgd, PGD_DEFAULTS } from './pgd.js';
export type { PgdParams } from './pgd.js';
export { deepfool, DEEPFOOL_DEFAULTS } from './deepfool.js';
export type { DeepFoolParams } from './deepfool.js';
export { cw, CW_DEFAULTS } from './cw.js';
export type { CwParams } from './cw.js';
export { attacks, getAttack, runAttack, ATTACK_NAMES } from './registry.js';
export type { AttackName } from './registry.js';
