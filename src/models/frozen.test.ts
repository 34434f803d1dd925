import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it } from 'vitest';
import { gradcam } from '../attribution/gradcam.js';
import { cifar10 } from '../data/cifar10.js';
import { mulberry32 } from '../util/random.js';
import { relErr } from '../test-support/numeric.js';
import { buildModel, type ModelSpec } from './build.js';
import { resolveClassifier } from './classifier.js';
import { frozenGraph, frozenHead, frozenOcclusion, setFrozenGraphBackward, setFrozenInference, usesGraphBackward, type Occluders } from './frozen.js';
import { patchOffsets } from '../attribution/occlusion.js';
import { attacks } from '../attacks/index.js';
import { initBackend } from '../backend/select.js';
import { loadModel } from './io.js';

// The frozen graph (folded batch norm, fused conv + bias + ReLU, input-gradient-only backward)
// against the stock layer-by-layer path on the same weights: the same predictions, logits and
// input gradients to float32 tolerance, on the shipped fixture and on every architecture the
// package builds with random batch-norm statistics (so the folding is not an identity).

const FIXTURE = fileURLToPath(new URL('../../fixtures/models/resnet20-base', import.meta.url));

afterEach(() => {
  setFrozenInference(true);
  setFrozenGraphBackward(true);
});

/** Logits and the input gradient of the summed cross-entropy through resolveClassifier, both paths. */
async function bothPaths(model: tf.LayersModel, x: tf.Tensor4D, labels: tf.Tensor1D) {
  const out: Record<'stock' | 'frozen', { logits: Float32Array; grad: Float32Array; preds: number[] }> = {} as never;
  for (const mode of ['stock', 'frozen'] as const) {
    setFrozenInference(mode === 'frozen');
    const clf = await resolveClassifier(model);
    const before = tf.memory().numTensors;
    const [logits, grad] = tf.tidy(() => {
      const onehot = tf.oneHot(labels, clf.numClasses);
      const g = tf.grad((v: tf.Tensor) => tf.neg(tf.sum(tf.mul(tf.logSoftmax(clf.logits(v as tf.Tensor4D)), onehot))) as tf.Scalar)(x);
      return [clf.logits(x), g];
    });
    out[mode] = { logits: (await logits!.data()) as Float32Array, grad: (await grad!.data()) as Float32Array, preds: Array.from(await logits!.argMax(1).data()) };
    tf.dispose([logits!, grad!]);
    expect(tf.memory().numTensors - before).toBe(1); // the argMax read above, disposed by nobody yet
  }
  return out;
}

/** Random gamma, beta, moving mean and variance for every batch-norm layer (a fresh model's are 1, 0, 0, 1). */
function randomizeBatchNorm(model: tf.LayersModel, seed: number): number {
  const rand = mulberry32(seed);
  let count = 0;
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const c = layer.getWeights()[0]!.shape[0]!;
    const vec = (f: () => number) => tf.tensor1d(Float32Array.from({ length: c }, f));
    const w = [vec(() => 0.5 + rand()), vec(() => rand() - 0.5), vec(() => 0.4 * (rand() - 0.5)), vec(() => 0.2 + rand())];
    layer.setWeights(w);
    tf.dispose(w);
    count++;
  }
  return count;
}

/** Every `h` x `w` rectangle on the sliding patch's grid (stride `stride`, the far edges included). */
function grid(H: number, W: number, h: number, w: number, stride: number, fill: number): Occluders {
  const ys = patchOffsets(H, h, stride);
  const xs = patchOffsets(W, w, stride);
  return { y: Int32Array.from(ys.flatMap((a) => xs.map(() => a))), x: Int32Array.from(ys.flatMap(() => xs)), h, w, fill };
}

/** The copies of `img` [1, H, W, C] with each rectangle filled, built on the host. */
function occludedCopies(img: tf.Tensor4D, o: Occluders): tf.Tensor4D {
  const [, H, W, C] = img.shape;
  const src = img.dataSync();
  const P = o.y.length;
  const buf = new Float32Array(P * H * W * C);
  for (let p = 0; p < P; p++) {
    buf.set(src, p * H * W * C);
    for (let r = o.y[p]!; r < o.y[p]! + o.h; r++) buf.fill(o.fill, (p * H * W + r * W + o.x[p]!) * C, (p * H * W + r * W + o.x[p]! + o.w) * C);
  }
  return tf.tensor4d(buf, [P, H, W, C]);
}

/** frozenOcclusion's outputs against the whole graph on the occluded copies; no tensors left. */
async function expectWindowedEqual(model: tf.LayersModel, img: tf.Tensor4D, sets: Occluders[], preSoftmax = false): Promise<void> {
  const occ = frozenOcclusion(model);
  expect(occ).toBeDefined();
  const before = tf.memory().numTensors;
  const h = occ!.prepare(img);
  for (const o of sets) {
    const got = h.run(o, preSoftmax);
    const want = tf.tidy(() => frozenGraph(model)!.run(occludedCopies(img, o), preSoftmax));
    expect(got.shape).toEqual(want.shape);
    expect(relErr(await got.data(), await want.data())).toBeLessThan(1e-6);
    tf.dispose([got, want]);
  }
  h.dispose();
  expect(tf.memory().numTensors).toBe(before);
}

describe('frozen inference graph', () => {
  it('on the shipped resnet20-base: same predictions, logits and input gradients as the stock path, no tensors left', async () => {
    const model = await loadModel(FIXTURE);
    const { images, labels } = await cifar10.test({ count: 64, seed: 3 });
    expect(frozenGraph(model)).toBeDefined();
    const r = await bothPaths(model, images, labels);
    expect(r.frozen.preds).toEqual(r.stock.preds);
    expect(relErr(r.frozen.logits, r.stock.logits)).toBeLessThan(1e-5);
    // The gradient passes every ReLU mask; a pre-activation within rounding of 0 can fall on the
    // other side after folding, which moves a few entries (measured about 1e-5 relative here).
    expect(relErr(r.frozen.grad, r.stock.grad)).toBeLessThan(1e-3);
    tf.dispose([images, labels]);
    model.dispose();
  });

  const specs: ModelSpec[] = [
    { arch: 'resnet', depth: 8, width: 0.25, seed: 1 },
    { arch: 'mobilenet', depth: 2, width: 0.25, seed: 2 },
    { arch: 'vgg16', width: 0.125, seed: 3 },
    { arch: 'cnn1', seed: 4 },
  ];
  for (const spec of specs) {
    it(`on a ${spec.arch} with random batch-norm statistics: same logits and input gradients`, async () => {
      const model = buildModel(spec);
      const bns = randomizeBatchNorm(model, spec.seed!);
      if (spec.arch !== 'cnn1') expect(bns).toBeGreaterThan(0);
      expect(frozenGraph(model)).toBeDefined();
      const x = tf.randomUniform([6, 32, 32, 3], 0, 1, 'float32', spec.seed) as tf.Tensor4D;
      const y = tf.tensor1d([0, 1, 2, 3, 4, 5], 'int32');
      const r = await bothPaths(model, x, y);
      expect(r.frozen.preds).toEqual(r.stock.preds);
      expect(relErr(r.frozen.logits, r.stock.logits)).toBeLessThan(1e-5);
      expect(relErr(r.frozen.grad, r.stock.grad)).toBeLessThan(1e-3);
      tf.dispose([x, y]);
      model.dispose();
    });
  }

  it('runs occluded copies from the occluders\' windows (frozenOcclusion): the same outputs as the whole graph, on resnet20-base', async () => {
    const model = await loadModel(FIXTURE);
    const { images, labels } = await cifar10.test({ count: 2, seed: 5 });
    const img = images.slice([1, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
    // The windows are used: the stem's 3x3 conv computes the 6x6 outputs a 4x4 patch reaches, from
    // an 8x8 crop of the image.
    const engine = tf.engine() as unknown as { runKernel: (name: string, inputs: Record<string, tf.Tensor>, attrs: unknown) => unknown };
    const runKernel = engine.runKernel;
    const convInputs: string[] = [];
    engine.runKernel = function (this: unknown, name, inputs, attrs) {
      if (name === 'FusedConv2D') convInputs.push(inputs.x!.shape.join('x'));
      return runKernel.call(this, name, inputs, attrs);
    };
    try {
      await expectWindowedEqual(model, img, [grid(32, 32, 4, 4, 2, 0.5), grid(32, 32, 2, 2, 2, 0.5), grid(32, 32, 3, 5, 3, 0), grid(32, 32, 32, 32, 1, 1)]);
      await expectWindowedEqual(model, img, [grid(32, 32, 4, 4, 2, 0.5)], true);
    } finally {
      engine.runKernel = runKernel;
    }
    expect(convInputs).toContain('225x8x8x3');
    tf.dispose([images, labels, img]);
    model.dispose();
  });

  for (const spec of specs) {
    it(`runs occluded copies from the occluders' windows on a ${spec.arch} with random batch-norm statistics: the same outputs`, async () => {
      const model = buildModel(spec);
      randomizeBatchNorm(model, spec.seed!);
      const img = tf.randomUniform([1, 32, 32, 3], 0, 1, 'float32', spec.seed) as tf.Tensor4D;
      await expectWindowedEqual(model, img, [grid(32, 32, 4, 4, 3, 0.5), grid(32, 32, 2, 3, 5, 0.25)]);
      img.dispose();
      model.dispose();
    });
  }

  it('folds again when the weights change (a model trained between attacks is never stale)', async () => {
    const model = buildModel({ arch: 'resnet', depth: 8, width: 0.25, seed: 5 });
    randomizeBatchNorm(model, 5);
    const x = tf.randomUniform([4, 32, 32, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const clf = await resolveClassifier(model);
    const first = await tf.tidy(() => clf.logits(x)).array();
    randomizeBatchNorm(model, 6);
    const conv = model.layers.find((l) => l.getClassName() === 'Conv2D')!;
    const k = conv.getWeights()[0]!;
    const doubled = tf.mul(k, 2);
    conv.setWeights([doubled, ...conv.getWeights().slice(1)]);
    doubled.dispose();
    const frozen = tf.tidy(() => clf.logits(x));
    setFrozenInference(false);
    const stock = tf.tidy(() => clf.logits(x));
    const [a, b] = [(await frozen.data()) as Float32Array, (await stock.data()) as Float32Array];
    expect(relErr(a, b)).toBeLessThan(1e-5);
    expect(relErr(a, Float32Array.from(first.flat()))).toBeGreaterThan(1e-2);
    tf.dispose([frozen, stock, x]);
    model.dispose();
  });

  it('gives pre-softmax logits for a model that ends in softmax, equal to the stock peeled path', async () => {
    const input = tf.input({ shape: [8, 8, 3] });
    let h = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: tf.initializers.heNormal({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
    h = tf.layers.batchNormalization().apply(h) as tf.SymbolicTensor;
    h = tf.layers.activation({ activation: 'relu' }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotNormal({ seed: 2 }) }).apply(h) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    randomizeBatchNorm(model, 7);
    expect(frozenGraph(model)?.endsInSoftmax).toBe(true);
    const x = tf.randomUniform([3, 8, 8, 3], 0, 1, 'float32', 8) as tf.Tensor4D;
    const r = await bothPaths(model, x, tf.tensor1d([0, 1, 2], 'int32'));
    expect(relErr(r.frozen.logits, r.stock.logits)).toBeLessThan(1e-5);
    expect(relErr(r.frozen.grad, r.stock.grad)).toBeLessThan(1e-4);
    // The probabilities come out of the frozen graph too.
    const clf = await resolveClassifier(model);
    const p = tf.tidy(() => clf.probabilities(x).sum(1));
    (await p.data()).forEach((v) => expect(v).toBeCloseTo(1, 5));
    tf.dispose([p, x]);
    model.dispose();
  });

  it('keeps a hooked layer as its own step: Grad-CAM maps equal the stock path', async () => {
    const model = buildModel({ arch: 'resnet', depth: 8, width: 0.25, seed: 9 });
    randomizeBatchNorm(model, 9);
    const x = tf.randomUniform([4, 32, 32, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
    const maps: Float32Array[] = [];
    for (const on of [false, true]) {
      setFrozenInference(on);
      const before = tf.memory().numTensors;
      const m = await gradcam(model, x);
      maps.push((await m.data()) as Float32Array);
      m.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
    expect(relErr(maps[1]!, maps[0]!)).toBeLessThan(1e-4);
    tf.dispose(x);
    model.dispose();
  });

  it('runs the layers after an inner layer from its output (frozenHead), and declines a layer a skip connection passes over', async () => {
    const model = buildModel({ arch: 'resnet', depth: 8, width: 0.25, seed: 10 });
    randomizeBatchNorm(model, 10);
    const x = tf.randomUniform([3, 32, 32, 3], 0, 1, 'float32', 10) as tf.Tensor4D;
    const relus = model.layers.filter((l) => l.getClassName() === 'ReLU' || l.getClassName() === 'Activation');
    const last = relus[relus.length - 1]!;
    const head = frozenHead(model, last);
    expect(head).toBeDefined();
    // The last ReLU's output through a truncated model, then the head, against the whole model.
    const trunk = tf.model({ inputs: model.inputs, outputs: last.output as tf.SymbolicTensor });
    const before = tf.memory().numTensors;
    const [viaHead, whole] = tf.tidy(() => [head!.run(trunk.predict(x) as tf.Tensor), model.predict(x) as tf.Tensor]);
    expect(relErr((await viaHead!.data()) as Float32Array, (await whole!.data()) as Float32Array)).toBeLessThan(1e-5);
    tf.dispose([viaHead!, whole!]);
    expect(tf.memory().numTensors).toBe(before);
    // The ReLU inside the first residual block: the add after it also reads the block's input.
    const inner = model.layers.find((l) => l.getClassName() === 'Add')!.inboundNodes[0]!.inboundLayers.find((l) => l.getClassName() !== 'ReLU' && l.getClassName() !== 'Activation')!;
    expect(frozenHead(model, inner)).toBeUndefined();
    tf.dispose(x);
    model.dispose();
  });

  it('declines a layer it does not fold (a tanh conv), and the model then runs as usual', async () => {
    const model = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 2, kernelSize: 3, activation: 'tanh' }), tf.layers.flatten(), tf.layers.dense({ units: 2 })] });
    expect(frozenGraph(model)).toBeUndefined();
    // Dense on a feature map (it acts on the last axis) is declined too.
    const perPixel = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4, 4, 2], units: 3 }), tf.layers.flatten(), tf.layers.dense({ units: 2 })] });
    expect(frozenGraph(perPixel)).toBeUndefined();
    perPixel.dispose();
    const clf = await resolveClassifier(model);
    const x = tf.randomUniform([2, 6, 6, 1]) as tf.Tensor4D;
    const a = tf.tidy(() => clf.logits(x));
    const b = model.predict(x) as tf.Tensor;
    expect(relErr((await a.data()) as Float32Array, (await b.data()) as Float32Array)).toBeLessThan(1e-6);
    tf.dispose([a, b, x]);
    model.dispose();
  });

  /** Logits and input gradient of the summed cross-entropy through the frozen graph, with the graph backward on or off. */
  async function graphAndTape(model: tf.LayersModel, x: tf.Tensor4D, labels: tf.Tensor1D) {
    const out: Float32Array[][] = [];
    for (const graph of [true, false]) {
      setFrozenGraphBackward(graph);
      expect(usesGraphBackward(model)).toBe(graph);
      const clf = await resolveClassifier(model);
      const before = tf.memory().numTensors;
      const [logits, grad] = tf.tidy(() => {
        const onehot = tf.oneHot(labels, clf.numClasses);
        const g = tf.grad((v: tf.Tensor) => tf.neg(tf.sum(tf.mul(tf.logSoftmax(clf.logits(v as tf.Tensor4D)), onehot))) as tf.Scalar)(x);
        return [clf.logits(x), g];
      });
      out.push([(await logits!.data()) as Float32Array, (await grad!.data()) as Float32Array]);
      tf.dispose([logits!, grad!]);
      expect(tf.memory().numTensors).toBe(before);
    }
    setFrozenGraphBackward(true);
    return { graph: out[0]!, tape: out[1]! };
  }

  it('graph backward (the graph as one op) equals the per-conv tape backward on resnet20-base: logits, input gradients and PGD images', async () => {
    const model = await loadModel(FIXTURE);
    const { images, labels } = await cifar10.test({ count: 32, seed: 4 });
    const r = await graphAndTape(model, images, labels);
    expect(relErr(r.graph[0]!, r.tape[0]!)).toBeLessThan(1e-6);
    // Same kernels on the same values (the masks, sums and transposed convolutions of the tape
    // route, in one pass where they meet): equal up to the order of a few float32 sums.
    expect(relErr(r.graph[1]!, r.tape[1]!)).toBeLessThan(1e-6);
    const adv: Float32Array[] = [];
    for (const graph of [true, false]) {
      setFrozenGraphBackward(graph);
      const before = tf.memory().numTensors;
      const res = await attacks.pgd.run(model, images, labels, { eps: 8 / 255, steps: 3, seed: 5 });
      adv.push((await res.adversarial.data()) as Float32Array);
      res.adversarial.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
    let maxDiff = 0;
    for (let i = 0; i < adv[0]!.length; i++) maxDiff = Math.max(maxDiff, Math.abs(adv[0]![i]! - adv[1]![i]!));
    expect(maxDiff).toBeLessThan(1e-6);
    tf.dispose([images, labels]);
    model.dispose();
  });

  for (const spec of [
    { arch: 'resnet', depth: 8, width: 0.25, seed: 11 },
    { arch: 'resnet', depth: 14, width: 0.5, seed: 12 },
  ] as ModelSpec[]) {
    it(`graph backward equals the tape backward on a ${spec.arch}-${spec.depth} with random batch-norm statistics, on wasm and on cpu`, async () => {
      for (const backend of ['wasm', 'cpu'] as const) {
        await initBackend({ backend, announce: false });
        const model = buildModel(spec);
        randomizeBatchNorm(model, spec.seed!);
        const x = tf.randomUniform([5, 32, 32, 3], 0, 1, 'float32', spec.seed) as tf.Tensor4D;
        const y = tf.tensor1d([0, 1, 2, 3, 4], 'int32');
        const r = await graphAndTape(model, x, y);
        expect(relErr(r.graph[0]!, r.tape[0]!), backend).toBeLessThan(1e-6);
        expect(relErr(r.graph[1]!, r.tape[1]!), backend).toBeLessThan(1e-5);
        // and the stock layer-by-layer path
        const s = await bothPaths(model, x, y);
        expect(relErr(r.graph[1]!, s.stock.grad), backend).toBeLessThan(1e-3);
        tf.dispose([x, y]);
        model.dispose();
      }
      await initBackend({ announce: false });
    });
  }

  it('leaves models with a step it cannot differentiate in one pass (depthwise convolutions, max pooling) to the tape', () => {
    for (const spec of [{ arch: 'mobilenet', depth: 2, width: 0.25, seed: 2 }, { arch: 'vgg16', width: 0.125, seed: 3 }] as ModelSpec[]) {
      const model = buildModel(spec);
      expect(frozenGraph(model)).toBeDefined();
      expect(usesGraphBackward(model)).toBe(false);
      model.dispose();
    }
  });

  it('is off when turned off', () => {
    const model = buildModel({ arch: 'cnn1', seed: 1 });
    setFrozenInference(false);
    expect(frozenGraph(model)).toBeUndefined();
    setFrozenInference(true);
    expect(frozenGraph(model)).toBeDefined();
    model.dispose();
  });
});
