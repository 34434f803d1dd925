import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { gaussianBlur } from '../data/blur.js';

/**
 * A generated image transformation: what it is, and how to apply it. Values shrink toward the
 * identity, so a failing property reports the smallest perturbation that still breaks it.
 */
export interface Perturbation {
  readonly kind: string;
  /** The effective parameters (after scaling), for messages and reports. */
  readonly params: Readonly<Record<string, number>>;
  /** Applies it to a batch [N, H, W, C] in [0, 1]; the result stays in [0, 1]. Caller disposes. */
  apply(images: tf.Tensor4D): tf.Tensor4D;
  toString(): string;
}

/** Steps in a magnitude: integers shrink to 0 cleanly, and 0 is the identity. */
const STEPS = 1000;
const magnitude = () => fc.integer({ min: 0, max: STEPS });
const signed = () => fc.integer({ min: -STEPS, max: STEPS });
// The noise pattern does not shrink: only its size does, toward the identity.
const noiseSeed = () => fc.noShrink(fc.integer({ min: 0, max: 0x7fffffff }));

function check(name: string, value: number, what: string, max = Infinity): void {
  if (!(Number.isFinite(value) && value >= 0 && value <= max)) throw new RangeError(`perturbations.${name}: ${what} must be a number in [0, ${max}]; got ${value}.`);
}

function make(kind: string, params: Record<string, number>, apply: (x: tf.Tensor4D) => tf.Tensor4D): Perturbation {
  const text = `${kind}(${Object.entries(params)
    .map(([k, v]) => `${k}=${Number(v.toPrecision(4))}`)
    .join(', ')})`;
  return { kind, params, apply: (x) => tf.tidy(() => apply(x).clipByValue(0, 1) as tf.Tensor4D), toString: () => text };
}

/** Uniform noise in the Linf ball of radius up to `eps`. */
export function linf(eps: number): fc.Arbitrary<Perturbation> {
  check('linf', eps, 'eps', 1);
  return fc.record({ m: magnitude(), seed: noiseSeed() }).map(({ m, seed }) => {
    const r = (eps * m) / STEPS;
    return make('linf', { eps: r, seed }, (x) => x.add(tf.randomUniform(x.shape, -r, r, 'float32', seed)));
  });
}

/** Gaussian direction scaled to an L2 norm of up to `eps` per image. */
export function l2(eps: number): fc.Arbitrary<Perturbation> {
  check('l2', eps, 'eps');
  return fc.record({ m: magnitude(), seed: noiseSeed() }).map(({ m, seed }) => {
    const r = (eps * m) / STEPS;
    return make('l2', { eps: r, seed }, (x) => {
      const d = tf.randomNormal(x.shape, 0, 1, 'float32', seed);
      const norm = d.square().sum([1, 2, 3], true).sqrt().maximum(1e-12);
      return x.add(d.div(norm).mul(r));
    });
  });
}

/** Additive Gaussian noise with sigma up to `maxSigma`. */
export function gaussianNoise(maxSigma: number): fc.Arbitrary<Perturbation> {
  check('gaussianNoise', maxSigma, 'maxSigma');
  return fc.record({ m: magnitude(), seed: noiseSeed() }).map(({ m, seed }) => {
    const sigma = (maxSigma * m) / STEPS;
    return make('gaussianNoise', { sigma, seed }, (x) => x.add(tf.randomNormal(x.shape, 0, sigma, 'float32', seed)));
  });
}

/** Gaussian blur with sigma up to `maxSigma` (the paper blurs by 0.5). */
export function blur(maxSigma: number): fc.Arbitrary<Perturbation> {
  check('blur', maxSigma, 'maxSigma', 10);
  return magnitude().map((m) => {
    const sigma = (maxSigma * m) / STEPS;
    return make('blur', { sigma }, (x) => gaussianBlur(x, sigma));
  });
}

/** Adds a brightness offset in [-maxDelta, maxDelta]. */
export function brightness(maxDelta: number): fc.Arbitrary<Perturbation> {
  check('brightness', maxDelta, 'maxDelta', 1);
  return signed().map((t) => {
    const delta = (maxDelta * t) / STEPS;
    return make('brightness', { delta }, (x) => x.add(delta));
  });
}

/** Scales contrast about each image's mean by a factor in `range` (which must contain 1). */
export function contrast(range: [number, number]): fc.Arbitrary<Perturbation> {
  const [lo, hi] = range;
  if (!(lo >= 0 && lo <= 1 && hi >= 1)) throw new RangeError(`perturbations.contrast: range must be [lo, hi] with 0 <= lo <= 1 <= hi; got [${lo}, ${hi}].`);
  return signed().map((t) => {
    const factor = t >= 0 ? 1 + ((hi - 1) * t) / STEPS : 1 + ((1 - lo) * t) / STEPS;
    return make('contrast', { factor }, (x) => {
      const mean = x.mean([1, 2, 3], true);
      return x.sub(mean).mul(factor).add(mean);
    });
  });
}

/** Shifts images by up to `maxPixels` in each direction, filling with black. */
export function translate(maxPixels: number): fc.Arbitrary<Perturbation> {
  if (!(Number.isInteger(maxPixels) && maxPixels >= 0)) throw new RangeError(`perturbations.translate: maxPixels must be an integer >= 0; got ${maxPixels}.`);
  return fc.record({ dx: fc.integer({ min: -maxPixels, max: maxPixels }), dy: fc.integer({ min: -maxPixels, max: maxPixels }) }).map(({ dx, dy }) =>
    make('translate', { dx, dy }, (x) => {
      const [, h, w] = x.shape;
      const padded = tf.pad(x, [[0, 0], [Math.max(dy, 0), Math.max(-dy, 0)], [Math.max(dx, 0), Math.max(-dx, 0)], [0, 0]]);
      return padded.slice([0, Math.max(-dy, 0), Math.max(-dx, 0), 0], [-1, h, w, -1]);
    }),
  );
}

/** A gray (0.5) square of side up to `maxSize` somewhere in the image. */
export function occlude(maxSize: number): fc.Arbitrary<Perturbation> {
  if (!(Number.isInteger(maxSize) && maxSize >= 0)) throw new RangeError(`perturbations.occlude: maxSize must be an integer >= 0; got ${maxSize}.`);
  return fc.record({ size: fc.integer({ min: 0, max: maxSize }), fx: fc.double({ min: 0, max: 1, noNaN: true }), fy: fc.double({ min: 0, max: 1, noNaN: true }) }).map(({ size, fx, fy }) =>
    make('occlude', { size, fx, fy }, (x) => {
      const [, h, w] = x.shape;
      const s = Math.min(size, h, w);
      if (s === 0) return x.clone();
      const top = Math.round(fy * (h - s));
      const left = Math.round(fx * (w - s));
      const mask = tf.pad(tf.ones([s, s]), [[top, h - s - top], [left, w - s - left]]).reshape([1, h, w, 1]);
      return x.mul(tf.scalar(1).sub(mask)).add(mask.mul(0.5));
    }),
  );
}

/** Applies several perturbations in order; each part shrinks on its own. */
export function compose(...parts: fc.Arbitrary<Perturbation>[]): fc.Arbitrary<Perturbation> {
  if (parts.length === 0) throw new Error('perturbations.compose needs at least one perturbation.');
  return fc.tuple(...parts).map((ps) => {
    const params: Record<string, number> = {};
    ps.forEach((p, i) => Object.entries(p.params).forEach(([k, v]) => (params[`${i}.${p.kind}.${k}`] = v)));
    const text = ps.map(String).join(' then ');
    return {
      kind: 'compose',
      params,
      apply: (x: tf.Tensor4D) => {
        let cur = x;
        for (const p of ps) {
          const next = p.apply(cur);
          if (cur !== x) cur.dispose();
          cur = next;
        }
        return cur;
      },
      toString: () => text,
    };
  });
}

const names = new WeakMap<fc.Arbitrary<Perturbation>, string>();

function named(arb: fc.Arbitrary<Perturbation>, text: string): fc.Arbitrary<Perturbation> {
  names.set(arb, text);
  return arb;
}

/** A builder whose arbitraries remember how they were built: 'occlude(16)', 'contrast([0.8, 1.2])'. */
function describing<A extends unknown[]>(name: string, build: (...args: A) => fc.Arbitrary<Perturbation>): (...args: A) => fc.Arbitrary<Perturbation> {
  return (...args) => named(build(...args), `${name}(${args.map((a) => (Array.isArray(a) ? `[${a.join(', ')}]` : String(a))).join(', ')})`);
}

/**
 * What a perturbation arbitrary draws, as its builder was called ('blur(0.5)'), for reports and
 * messages: an Arbitrary's own toString is '[object Object]'. One made elsewhere (a user's own
 * `.map`) is 'custom perturbation'.
 */
export function describePerturbation(arb: fc.Arbitrary<Perturbation>): string {
  return names.get(arb) ?? 'custom perturbation';
}

/**
 * fast-check arbitraries of image perturbations. Usable in any property, and with
 * `@fast-check/vitest`'s `test.prop`.
 *
 * @example
 * await expect(samples).toBeInvariantTo(model, perturbations.blur(0.5));
 */
export const perturbations = {
  linf: describing('linf', linf),
  l2: describing('l2', l2),
  gaussianNoise: describing('gaussianNoise', gaussianNoise),
  blur: describing('blur', blur),
  brightness: describing('brightness', brightness),
  contrast: describing('contrast', contrast),
  translate: describing('translate', translate),
  occlude: describing('occlude', occlude),
  compose: (...parts: fc.Arbitrary<Perturbation>[]) => named(compose(...parts), parts.map(describePerturbation).join(' then ')),
};
