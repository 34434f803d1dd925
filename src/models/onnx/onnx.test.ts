// The importer against PyTorch: outputs, input gradients and FGSM on the committed fixtures
// (scripts/export-onnx-fixtures.py), plus tiny graphs for the operators the fixtures lack.
import * as tf from '@tensorflow/tfjs';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fgsm } from '../../attacks/fgsm.js';
import { gradcam } from '../../attribution/gradcam.js';
import { loadModel } from '../io.js';
import { loadOnnxModel } from './load.js';
import type { OnnxModel } from './model.js';
import { OPERATORS } from './ops/index.js';
import { FIXTURES, FIXTURE_NAMES, reference, writeTinyModel } from './testModels.js';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** ||a - b|| / ||b||. */
function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

/** The summed cross-entropy of the labels, as the fixture script differentiates it. */
function lossOf(model: OnnxModel, y: tf.Tensor1D) {
  return (x: tf.Tensor) => {
    const out = model.predict(x as tf.Tensor4D);
    const logp = model.outputKind === 'probabilities' ? tf.log(tf.maximum(out, 1e-30)) : tf.logSoftmax(out);
    return tf.neg(tf.sum(tf.mul(logp, tf.oneHot(y, model.numClasses)))) as tf.Scalar;
  };
}

describe.each(FIXTURE_NAMES)('ONNX fixture %s against PyTorch', (name) => {
  const ref = reference(name);
  let model: OnnxModel;
  let x: tf.Tensor4D;
  let y: tf.Tensor1D;
  beforeAll(async () => {
    model = await loadModel(`fixtures/onnx/${name}.onnx`);
    x = tf.tensor4d(ref.input, ref.shape);
    y = tf.tensor1d(ref.labels, 'int32');
  });
  afterAll(() => {
    model.dispose();
    tf.dispose([x, y]);
  });

  it(`outputs within 1e-4 of PyTorch's (${ref.outputKind})`, async () => {
    const before = tf.memory().numTensors;
    const out = model.predict(x);
    expect(out.shape).toEqual([ref.shape[0], 10]);
    expect(maxAbsDiff(await out.data(), ref.outputs)).toBeLessThan(1e-4);
    out.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(model.outputKind).toBe(ref.outputKind);
  });

  it('gives input gradients within 1e-3 relative error of PyTorch autograd', async () => {
    const before = tf.memory().numTensors;
    const g = tf.grad(lossOf(model, y))(x);
    const rel = relError(await g.data(), ref.gradient);
    g.dispose();
    expect(rel).toBeLessThan(1e-3);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("FGSM's adversarial predictions equal those PyTorch computed from its own gradients", async () => {
    const before = tf.memory().numTensors;
    const r = await fgsm.run(model, x, y, { eps: ref.fgsm.eps });
    r.adversarial.dispose();
    expect(Array.from(r.predsBefore)).toEqual(ref.fgsm.cleanPredictions);
    expect(Array.from(r.predsAfter)).toEqual(ref.fgsm.adversarialPredictions);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('gives each image the same output alone as in the batch (the batch axis stays symbolic)', async () => {
    const one = tf.tidy(() => model.predict(x.slice([1, 0, 0, 0], [1, -1, -1, -1])));
    expect(maxAbsDiff(await one.data(), ref.outputs.subarray(10, 20))).toBeLessThan(1e-4);
    one.dispose();
  });

  it('runs Grad-CAM on its default layer and on a layer named by node', async () => {
    const before = tf.memory().numTensors;
    const maps = await gradcam(model, x, { target: y });
    expect(maps.shape).toEqual([ref.shape[0], 32, 32]);
    const v = await maps.data();
    expect(Math.min(...v)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...v)).toBeCloseTo(1, 5);
    const layer = model.defaultGradCamValue();
    expect(layer.shape[2]! * layer.shape[3]!).toBeGreaterThan(1);
    const byNode = await gradcam(model, x, { target: y, layer: layer.node });
    expect(maxAbsDiff(await byNode.data(), v)).toBe(0);
    tf.dispose([maps, byNode]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('ONNX importer', () => {
  it('covers every operator it claims with a PyTorch fixture or a tiny graph below', () => {
    const fromFixtures = FIXTURE_NAMES.flatMap((n) => reference(n).operators);
    // Exercised by the tiny graphs of this file.
    const tiny = ['Identity', 'Dropout', 'GlobalMaxPool', 'Squeeze', 'Softmax', 'Shape', 'Slice', 'Cast', 'Constant', 'Concat', 'Reshape'];
    const covered = new Set([...fromFixtures, ...tiny]);
    expect(Object.keys(OPERATORS).filter((op) => !covered.has(op))).toEqual([]);
  });

  it('refuses an unsupported operator at load time, naming it and its node', async () => {
    const path = writeTinyModel({ inputShape: ['N', 3, 4, 4], output: 'y', nodes: [{ op: 'Celu', name: 'head/celu', inputs: ['input'], outputs: ['y'] }] });
    await expect(loadOnnxModel(path)).rejects.toThrow(/unsupported ONNX operator 'Celu' \(node 'head\/celu'\)/);
  });

  it('runs Identity, Dropout, GlobalMaxPool, Squeeze and Softmax (opset 13) as their definitions', async () => {
    const path = writeTinyModel({
      inputShape: ['N', 3, 4, 4],
      output: 'p',
      initializers: { ratio: { dims: [], values: [0.5] }, axes: { dims: [2], values: [2, 3], int64: true } },
      nodes: [
        { op: 'Identity', inputs: ['input'], outputs: ['a'] },
        { op: 'Dropout', inputs: ['a', 'ratio'], outputs: ['b'] },
        { op: 'GlobalMaxPool', inputs: ['b'], outputs: ['c'] },
        { op: 'Squeeze', inputs: ['c', 'axes'], outputs: ['d'] },
        { op: 'Softmax', inputs: ['d'], outputs: ['p'], attrs: { axis: 1 } },
      ],
    });
    const model = await loadOnnxModel(path);
    const x = tf.randomUniform([2, 4, 4, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const got = model.predict(x);
    const data = await x.data();
    // Independent: per image and channel the max over 16 pixels, then a softmax over channels.
    const want: number[] = [];
    for (let n = 0; n < 2; n++) {
      const m = [0, 1, 2].map((c) => Math.max(...Array.from({ length: 16 }, (_, p) => data[n * 48 + p * 3 + c]!)));
      const e = m.map((v) => Math.exp(v));
      want.push(...e.map((v) => v / e.reduce((s, t) => s + t, 0)));
    }
    expect(maxAbsDiff(await got.data(), want)).toBeLessThan(1e-6);
    expect(model.outputKind).toBe('probabilities');
    tf.dispose([x, got]);
    model.dispose();
  });

  it('runs a BatchNormalization it cannot fold (on the input) as its formula', async () => {
    const [scale, bias, mean, variance] = [[0.5, 2, 1], [0.1, -0.2, 0.3], [0.4, 0.5, 0.6], [0.25, 1, 4]];
    const path = writeTinyModel({
      inputShape: ['N', 3, 2, 2],
      output: 'y',
      initializers: { s: { dims: [3], values: scale }, b: { dims: [3], values: bias }, m: { dims: [3], values: mean }, v: { dims: [3], values: variance } },
      nodes: [
        { op: 'BatchNormalization', inputs: ['input', 's', 'b', 'm', 'v'], outputs: ['bn'], attrs: { epsilon: 0.01 } },
        { op: 'Flatten', inputs: ['bn'], outputs: ['y'] },
      ],
    });
    const model = await loadOnnxModel(path);
    const x = tf.randomUniform([2, 2, 2, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const got = await model.predict(x).data();
    const data = await x.data();
    // Flatten reads NCHW order: image n, channel c, pixel p is data[n * 12 + p * 3 + c].
    const want = Array.from({ length: 24 }, (_, i) => {
      const [n, c, p] = [Math.floor(i / 12), Math.floor((i % 12) / 4), i % 4];
      return ((data[n * 12 + p * 3 + c]! - mean[c]!) / Math.sqrt(variance[c]! + 0.01)) * scale[c]! + bias[c]!;
    });
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
    expect(model.graph.steps.map((st) => st.opType)).toEqual(['BatchNormalization', 'Flatten']);
    x.dispose();
    model.dispose();
  });

  it('folds each batch norm after a convolution into it, and says so when the conv output is named', async () => {
    const model = await loadOnnxModel(join(FIXTURES, 'mobilenet.onnx'));
    expect(model.graph.operators.BatchNormalization).toBeGreaterThan(0);
    expect(model.graph.steps.filter((st) => st.opType === 'BatchNormalization')).toEqual([]);
    const [raw, into] = [...model.graph.folded.entries()][0]!;
    const x = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
    await expect(gradcam(model, x, { layer: raw })).rejects.toThrow(new RegExp(`folded together with the batch norm after it; name the batch norm's output '${into}'`));
    x.dispose();
    model.dispose();
  });

  it('folds a Shape -> Slice -> Cast -> Unsqueeze chain and a Constant (opset 13), keeping the batch symbolic', async () => {
    const path = writeTinyModel({
      inputShape: ['N', 2, 3, 3],
      output: 'y',
      initializers: { starts: { dims: [1], values: [0], int64: true }, ends: { dims: [1], values: [1], int64: true }, zero: { dims: [1], values: [0], int64: true } },
      nodes: [
        { op: 'Shape', inputs: ['input'], outputs: ['s'] },
        { op: 'Slice', inputs: ['s', 'starts', 'ends'], outputs: ['n'] },
        { op: 'Cast', inputs: ['n'], outputs: ['n64'], attrs: { to: 7 } },
        { op: 'Constant', inputs: [], outputs: ['minus1'], attrs: { value_ints: [-1] } },
        { op: 'Concat', inputs: ['n64', 'minus1'], outputs: ['shape'], attrs: { axis: 0 } },
        { op: 'Reshape', inputs: ['input', 'shape'], outputs: ['y'] },
      ],
    });
    const model = await loadOnnxModel(path);
    for (const n of [1, 3]) {
      const x = tf.randomUniform([n, 3, 3, 2], 0, 1, 'float32', n) as tf.Tensor4D;
      const got = model.predict(x);
      // ONNX flattens NCHW: the NHWC input transposed to NCHW, then reshaped.
      const want = tf.tidy(() => tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [n, -1]));
      expect(got.shape).toEqual([n, 18]);
      expect(maxAbsDiff(await got.data(), await want.data())).toBe(0);
      tf.dispose([x, got, want]);
    }
    expect(model.graph.steps.map((s) => s.opType)).toEqual(['Reshape']);
    model.dispose();
  });

  it('applies declared preprocessing: options over the card file, and says which key is wrong', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onnx-card-'));
    const path = join(dir, 'net.onnx');
    copyFileSync(join(FIXTURES, 'resnet.onnx'), path);
    const ref = reference('resnet');
    const x = tf.tensor4d(ref.input, ref.shape);
    // No card: inputs go to the model unnormalized, so the outputs differ from PyTorch's.
    const bare = await loadOnnxModel(path);
    const raw = bare.predict(x);
    expect(maxAbsDiff(await raw.data(), ref.outputs)).toBeGreaterThan(1e-2);
    expect(bare.card.preprocessing).toEqual({ inputRange: [0, 1], mean: [0], std: [1], layout: 'NCHW' });
    bare.dispose();
    const card = JSON.parse(readFileSync(join(FIXTURES, 'resnet.card.json'), 'utf8'));
    const viaOptions = await loadOnnxModel(path, { mean: card.preprocessing.mean, std: card.preprocessing.std });
    const out = viaOptions.predict(x);
    expect(maxAbsDiff(await out.data(), ref.outputs)).toBeLessThan(1e-4);
    viaOptions.dispose();
    // The same from a card file beside the model; an option then overrides the card.
    writeFileSync(join(dir, 'net.card.json'), JSON.stringify({ name: 'net', source: 'test', classes: card.classes, preprocessing: card.preprocessing }));
    const viaCard = await loadOnnxModel(path);
    const out2 = viaCard.predict(x);
    expect(maxAbsDiff(await out2.data(), ref.outputs)).toBeLessThan(1e-4);
    expect(viaCard.card).toMatchObject({ name: 'net', source: 'test', format: 'onnx', preprocessing: { ...card.preprocessing } });
    viaCard.dispose();
    // [0, 255] range with means in 0-255 units is the same model.
    const scaled = await loadOnnxModel(path, { inputRange: [0, 255], mean: card.preprocessing.mean.map((m: number) => m * 255), std: card.preprocessing.std.map((s: number) => s * 255) });
    const out3 = scaled.predict(x);
    expect(maxAbsDiff(await out3.data(), ref.outputs)).toBeLessThan(1e-4);
    scaled.dispose();
    await expect(loadOnnxModel(path, { stdev: [1] } as never)).rejects.toThrow(/unknown option 'stdev'/);
    await expect(loadOnnxModel(path, { std: [0, 1, 1] })).rejects.toThrow(/std must be a list of positive numbers/);
    await expect(loadOnnxModel(path, { mean: [0.5, 0.5] })).rejects.toThrow(/mean has 2 values for a model with 3 input channels/);
    await expect(loadOnnxModel(path, { card: { classes: ['cat', 'dog'] } })).rejects.toThrow(/names 2 classes, but the model outputs 10/);
    tf.dispose([x, raw, out, out2, out3]);
  });

  it("takes a model whose input is NHWC (layout: 'NHWC'), such as a TensorFlow export with its own transpose", async () => {
    const w = [1, 2, 3, -1, 0.5, 0];
    const path = writeTinyModel({
      inputShape: ['N', 8, 8, 3],
      output: 'y',
      initializers: { w: { dims: [2, 3, 1, 1], values: w } },
      nodes: [
        { op: 'Transpose', inputs: ['input'], outputs: ['nchw'], attrs: { perm: [0, 3, 1, 2] } },
        { op: 'Conv', inputs: ['nchw', 'w'], outputs: ['c'], attrs: { kernel_shape: [1, 1] } },
        { op: 'Flatten', inputs: ['c'], outputs: ['y'] },
      ],
    });
    await expect(loadOnnxModel(path)).rejects.toThrow(/input 'input' has shape \[N, 8, 8, 3\], which looks channels-last \(NHWC\).*\{ layout: 'NHWC' \}/);
    const model = await loadOnnxModel(path, { layout: 'NHWC' });
    expect(model.imageShape).toEqual([8, 8, 3]);
    const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const got = await model.predict(x).data();
    const d = await x.data();
    // Output channel o at pixel p of image n, in NCHW order.
    const want = Array.from({ length: 256 }, (_, i) => {
      const [n, o, p] = [Math.floor(i / 128), Math.floor((i % 128) / 64), i % 64];
      return [0, 1, 2].reduce((sum, c) => sum + w[o * 3 + c]! * d[n * 192 + p * 3 + c]!, 0);
    });
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
    x.dispose();
    model.dispose();
  });

  it('refuses images of another size, naming the size it takes', async () => {
    const model = await loadOnnxModel(join(FIXTURES, 'vgg.onnx'));
    const x = tf.zeros([1, 28, 28, 3]) as tf.Tensor4D;
    expect(() => model.predict(x)).toThrow(/takes images \[N, 32, 32, 3\]/);
    x.dispose();
    model.dispose();
  });

  it('names the feature maps when a Grad-CAM layer is unknown', async () => {
    const model = await loadOnnxModel(join(FIXTURES, 'mobilenet.onnx'));
    const x = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
    await expect(gradcam(model, x, { layer: 'nope' })).rejects.toThrow(/No node or value named 'nope'.*HardSwish/);
    x.dispose();
    model.dispose();
  });

  it('leaves no tensor behind after load and dispose', async () => {
    const before = tf.memory().numTensors;
    const model = await loadOnnxModel(join(FIXTURES, 'normalized.onnx'));
    expect(tf.memory().numTensors).toBeGreaterThan(before);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
