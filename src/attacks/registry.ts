import type { Classifier } from '../models/classifier.js';
import type * as tf from '@tensorflow/tfjs';
import { apgd } from './apgd.js';
import { apgdTargeted } from './apgdTargeted.js';
import { autoattack } from './autoattack.js';
import { cw } from './cw.js';
import { deepfool } from './deepfool.js';
import { fgsm } from './fgsm.js';
import { pgd } from './pgd.js';
import { square } from './square.js';
import type { Attack, AttackResult, CommonParams } from './types.js';

/** The built-in attacks by name. */
export const attacks = Object.freeze({ fgsm, pgd, deepfool, cw, apgd, 'apgd-t': apgdTargeted, square, autoattack });

/** Names of the built-in attacks. */
export type AttackName = keyof typeof attacks;

/** The built-in attack names, in registry order. */
export const ATTACK_NAMES = Object.keys(attacks) as AttackName[];

function isAttack(value: unknown): value is Attack {
  return typeof value === 'object' && value !== null && typeof (value as Attack).name === 'string' && typeof (value as Attack).run === 'function';
}

/**
 * The attack called `name`, or `attack` itself when given an {@link Attack} object (a user's own,
 * made with `defineAttack` or written by hand with `{ name, defaults, run }`).
 * @throws Error listing the known names for an unknown one
 * @example `const attack = getAttack('pgd');`
 */
export function getAttack(attack: AttackName | string | Attack<any>): Attack<any> {
  if (isAttack(attack)) return attack;
  if (typeof attack === 'string' && Object.hasOwn(attacks, attack)) return attacks[attack as AttackName];
  throw new Error(
    `Unknown attack ${JSON.stringify(typeof attack === 'string' ? attack : String(attack))}; known attacks: ${ATTACK_NAMES.map((n) => `'${n}'`).join(', ')}. A custom attack is an object { name, defaults, run } (see defineAttack).`,
  );
}

/**
 * Runs an attack given by name or object.
 * @example
 * ```ts
 * const r = await runAttack('pgd', model, images, labels, { eps: 8 / 255 });
 * ```
 */
export function runAttack(attack: AttackName | string | Attack<any>, model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, params?: Partial<CommonParams> & Record<string, unknown>): Promise<AttackResult<any>> {
  return getAttack(attack).run(model, x, y, params);
}
