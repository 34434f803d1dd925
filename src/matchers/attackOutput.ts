import * as tf from '@tensorflow/tfjs';
import { getAttack } from '../attacks/registry.js';
import type { Attack, AttackResult } from '../attacks/types.js';

/**
 * The attack a matcher was given, or an error saying what is wrong with its shape: a custom attack
 * is an object { name, defaults, run } (see defineAttack), not a bare function or a partial object.
 */
export function attackFrom(matcher: string, attack: unknown): Attack<any> {
  if (typeof attack === 'string') return getAttack(attack);
  if (typeof attack === 'function') {
    throw new TypeError(`${matcher}: the attack is a bare function; give an attack object { name, defaults, run } (wrap your function with defineAttack({ name, defaults, perturb }) or write { name: 'mine', defaults: {}, run }).`);
  }
  if (typeof attack !== 'object' || attack === null) {
    throw new TypeError(`${matcher}: the attack must be a name ('fgsm', 'pgd', ...) or an attack object { name, defaults, run }; got ${attack === null ? 'null' : typeof attack}.`);
  }
  const a = attack as Partial<Attack<any>>;
  const problems = [
    typeof a.name === 'string' && a.name ? '' : 'a non-empty string "name"',
    typeof a.run === 'function' ? '' : 'a "run" function (model, images, labels, params) => Promise<AttackResult>',
    a.defaults === undefined || (typeof a.defaults === 'object' && a.defaults !== null) ? '' : 'a "defaults" object (or none)',
  ].filter(Boolean);
  if (problems.length) throw new TypeError(`${matcher}: the attack object needs ${problems.join(' and ')}; it has keys ${Object.keys(a).join(', ') || 'none'}. See defineAttack.`);
  return a as Attack<any>;
}

/** What the matcher measured itself on an attack's output: nothing of it is taken on trust. */
export interface CheckedAttackOutput {
  predsBefore: Int32Array;
  predsAfter: Int32Array;
  linf: Float32Array;
  l2: Float32Array;
}

/**
 * Checks an attack's result against the budget the matcher asked for, whoever wrote the attack:
 * the adversarial batch is a tensor shaped like the images, holds numbers in [0, 1], and every
 * image lies within eps of its original in the given norm. Returns the per-sample norms computed
 * here. Throws an error naming the attack, the sample and the excess.
 */
export async function checkAttackOutput(matcher: string, attackName: string, result: AttackResult<any> | undefined, images: tf.Tensor4D, eps: number, norm: 'linf' | 'l2'): Promise<{ linf: Float32Array; l2: Float32Array }> {
  const who = `${matcher}: attack '${attackName}'`;
  if (!result || typeof result !== 'object') throw new TypeError(`${who} returned ${result === null ? 'null' : typeof result}; run must resolve to an AttackResult { adversarial, ... }.`);
  const adv = result.adversarial as unknown;
  if (!(adv instanceof tf.Tensor) || adv.isDisposed) throw new TypeError(`${who} returned no adversarial tensor (got ${adv instanceof tf.Tensor ? 'a disposed tensor' : typeof adv}); run must resolve to { adversarial: Tensor4D [N, H, W, C], ... }.`);
  if (!tf.util.arraysEqual(adv.shape, images.shape)) throw new RangeError(`${who} returned adversarial images of shape [${adv.shape.join(', ')}] for images of shape [${images.shape.join(', ')}]; it must return one image per input, of the same size.`);
  const [linfT, l2T, bad, lo, hi] = tf.tidy(() => {
    const d = tf.sub(adv.toFloat(), images);
    return [tf.max(tf.abs(d), [1, 2, 3]), tf.sqrt(tf.sum(tf.square(d), [1, 2, 3])), tf.any(tf.logicalNot(tf.isFinite(adv.toFloat()))), tf.min(adv), tf.max(adv)];
  });
  try {
    if ((await bad!.data())[0]) throw new RangeError(`${who} returned adversarial images containing NaN or Infinity; its output cannot be judged.`);
    const [min, max] = [(await lo!.data())[0]!, (await hi!.data())[0]!];
    if (min < 0 || max > 1) throw new RangeError(`${who} returned pixels outside [0, 1] (from ${min} to ${max}); an attack must clip its images to the valid range.`);
    const linf = new Float32Array(await linfT!.data());
    const l2 = new Float32Array(await l2T!.data());
    const dist = norm === 'l2' ? l2 : linf;
    // Float32 rounding: per pixel far below 1e-6 (Linf); an L2 norm sums thousands of rounded
    // squares, so its slack is relative (1e-4 of eps; a real overshoot is far larger).
    const allowed = norm === 'l2' ? eps * (1 + 1e-4) + 1e-6 : eps + 1e-6;
    const over = dist.findIndex((v) => !(v <= allowed));
    if (over >= 0) {
      throw new RangeError(`${who} exceeded its budget: image ${over} is ${dist[over]} away from its original in the ${norm === 'l2' ? 'L2' : 'Linf'} norm, above eps = ${eps}. Project the perturbation onto the eps-ball (defineAttack does it when its spec has a budget).`);
    }
    return { linf, l2 };
  } finally {
    tf.dispose([linfT!, l2T!, bad!, lo!, hi!]);
  }
}
