// The perturbation arbitraries work with @fast-check/vitest's test.prop, as users will write them.
import { fc, test } from '@fast-check/vitest';
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { perturbations } from './perturbation.js';

const image = tf.randomUniform([1, 8, 8, 3], 0, 1, 'float32', 11) as tf.Tensor4D;

test.prop([perturbations.compose(perturbations.blur(1), perturbations.brightness(0.2)), fc.constant(image)], { numRuns: 20, seed: 5 })(
  'a perturbed image keeps its shape and range (test.prop)',
  (p, x) => {
    const y = p.apply(x);
    expect(y.shape).toEqual(x.shape);
    expect(tf.tidy(() => y.max().dataSync()[0])).toBeLessThanOrEqual(1);
    y.dispose();
  },
);
