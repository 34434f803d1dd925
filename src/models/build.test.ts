import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { buildModel } from './build.js';
import { regularizationLoss, regularizerSpec } from './regularizers.js';

// Parameter counts from the architectures' definitions, written out independently of the
// builders. Batch norm holds 4 numbers per channel (gamma, beta, moving mean and variance).
const bn = (c: number) => 4 * c;
const ch = (c: number, w: number) => Math.max(1, Math.round(c * w));

function resnetParams(depth: number, w: number): number {
  const n = (depth - 2) / 6;
  let cin = ch(16, w);
  let p = 27 * cin + bn(cin);
  for (const [stage, base] of [16, 32, 64].entries()) {
    const c = ch(base, w);
    for (let b = 0; b < n; b++) {
      const down = stage > 0 && b === 0;
      p += 9 * cin * c + bn(c) + 9 * c * c + bn(c);
      if (down || cin !== c) p += cin * c + bn(c);
      cin = c;
    }
  }
  return p + cin * 10 + 10;
}

function mobilenetParams(w: number, depth = 5): number {
  let cin = ch(32, w);
  let p = 27 * cin + bn(cin);
  for (const f of [64, 128, 128, 256, 256, 512, ...Array(depth).fill(512), 1024, 1024]) {
    const c = ch(f, w);
    p += 9 * cin + bn(cin) + cin * c + bn(c);
    cin = c;
  }
  return p + cin * 10 + 10;
}

function vggParams(w: number): number {
  let cin = 3;
  let p = 0;
  for (const f of [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]) {
    const c = ch(f, w);
    p += 9 * cin * c + bn(c);
    cin = c;
  }
  const fc = ch(512, w);
  return p + cin * fc + fc + fc * 10 + 10;
}

function resnet50Params(w: number): number {
  let cin = ch(64, w);
  let p = 27 * cin + bn(cin);
  for (const [stage, [base, blocks]] of ([[64, 3], [128, 4], [256, 6], [512, 3]] as const).entries()) {
    const mid = ch(base, w);
    const out = 4 * mid;
    for (let b = 0; b < blocks; b++) {
      p += cin * mid + bn(mid) + 9 * mid * mid + bn(mid) + mid * out + bn(out);
      if ((stage > 0 && b === 0) || cin !== out) p += cin * out + bn(out);
      cin = out;
    }
  }
  return p + cin * 10 + 10;
}

describe('architectures', () => {
  it.each([
    ['resnet20', () => buildModel({ arch: 'resnet', depth: 20, width: 1 }), resnetParams(20, 1)],
    ['resnet20 x0.5', () => buildModel({ arch: 'resnet', depth: 20, width: 0.5 }), resnetParams(20, 0.5)],
    ['resnet32 x0.25', () => buildModel({ arch: 'resnet', depth: 32, width: 0.25 }), resnetParams(32, 0.25)],
    ['mobilenet', () => buildModel({ arch: 'mobilenet', width: 1 }), mobilenetParams(1)],
    ['mobilenet x0.25 depth 2', () => buildModel({ arch: 'mobilenet', width: 0.25, depth: 2 }), mobilenetParams(0.25, 2)],
    ['vgg16', () => buildModel({ arch: 'vgg16', width: 1 }), vggParams(1)],
    ['vgg16 x0.25', () => buildModel({ arch: 'vgg16', width: 0.25 }), vggParams(0.25)],
    ['resnet50 x0.25', () => buildModel({ arch: 'resnet50', width: 0.25 }), resnet50Params(0.25)],
    ['resnet50 x0.125', () => buildModel({ arch: 'resnet50', width: 0.125 }), resnet50Params(0.125)],
    ['cnn1', () => buildModel({ arch: 'cnn1' }), 5 * 5 * 3 * 50 + 50 + 28 * 28 * 50 * 10 + 10],
    ['cnn1 x0.5', () => buildModel({ arch: 'cnn1', width: 0.5 }), 5 * 5 * 3 * 25 + 25 + 28 * 28 * 25 * 10 + 10],
  ])('%s has the parameter count of its definition and outputs [N, 10] logits', (_name, make, expected) => {
    const model = make();
    expect(model.countParams()).toBe(expected);
    expect(model.outputs[0]!.shape).toEqual([null, 10]);
    const out = tf.tidy(() => (model.predict(tf.zeros([2, 32, 32, 3])) as tf.Tensor).shape);
    expect(out).toEqual([2, 10]);
    model.dispose();
  });

  it('gives the Fig. 1 CNN 39,200 hidden units in a layer named hidden', () => {
    const model = buildModel({ arch: 'cnn1' });
    expect(model.getLayer('hidden').outputShape).toEqual([null, 28, 28, 50]);
    model.dispose();
  });

  it('rejects a ResNet depth that is not 6n+2, an unknown arch and a bad width', () => {
    expect(() => buildModel({ arch: 'resnet', depth: 21 })).toThrow(/6n\+2/);
    expect(() => buildModel({ arch: 'alexnet' as never })).toThrow(/Unknown architecture 'alexnet'. Known: resnet, resnet50/);
    expect(() => buildModel({ arch: 'vgg16', width: 0 })).toThrow(/width must be a positive number/);
  });
});

describe('regularizers', () => {
  function kernelSums(model: tf.LayersModel): { abs: number; sq: number } {
    let abs = 0;
    let sq = 0;
    for (const w of model.trainableWeights) {
      if (!/kernel$/.test(w.originalName)) continue;
      const v = w.read().dataSync();
      for (const x of v) {
        abs += Math.abs(x);
        sq += x * x;
      }
    }
    return { abs, sq };
  }

  it.each([
    ['l1', 0.01, (s: { abs: number; sq: number }) => 0.01 * s.abs],
    ['l2', 0.001, (s: { abs: number; sq: number }) => 0.001 * s.sq],
    ['elasticnet', 0.01, (s: { abs: number; sq: number }) => 0.01 * s.abs + 0.01 * s.sq],
    ['base', 0.01, () => 0],
  ] as const)('%s adds exactly its factor times the kernel norm to the loss', (name, factor, expected) => {
    for (const arch of ['cnn1', 'mobilenet'] as const) {
      const model = buildModel({ arch, width: 0.25, depth: 1, regularizer: regularizerSpec(name, { factor }) });
      const before = tf.memory().numTensors;
      const loss = regularizationLoss(model);
      expect(loss.dataSync()[0]).toBeCloseTo(expected(kernelSums(model)), 2);
      loss.dispose();
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    }
  });

  it('rejects an unknown name or a negative factor', () => {
    expect(() => regularizerSpec('l3' as never)).toThrow(/Unknown regularizer 'l3'. Use one of base, l1, l2, elasticnet/);
    expect(() => regularizerSpec('l1', { factor: -1 })).toThrow(/factor must be a finite number >= 0/);
  });
});
