import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildModel } from '../models/build.js';
import { gradcam } from './gradcam.js';
import { featureMapSize, findGradCamLayer } from '../models/layers.js';

/** Bilinear resize with half-pixel centres (TF / OpenCV), written out for one map. */
function resizeBilinear(a: number[][], H: number, W: number): number[][] {
  const h = a.length;
  const w = a[0]!.length;
  const out: number[][] = [];
  for (let i = 0; i < H; i++) {
    const yi = Math.max(0, (i + 0.5) * (h / H) - 0.5);
    const y0 = Math.floor(yi);
    const y1 = Math.min(y0 + 1, h - 1);
    const fy = yi - y0;
    const row: number[] = [];
    for (let j = 0; j < W; j++) {
      const xj = Math.max(0, (j + 0.5) * (w / W) - 0.5);
      const x0 = Math.floor(xj);
      const x1 = Math.min(x0 + 1, w - 1);
      const fx = xj - x0;
      const top = a[y0]![x0]! * (1 - fx) + a[y0]![x1]! * fx;
      const bottom = a[y1]![x0]! * (1 - fx) + a[y1]![x1]! * fx;
      row.push(top * (1 - fy) + bottom * fy);
    }
    out.push(row);
  }
  return out;
}

/**
 * Input 4x4x1 -> Conv2D(2 filters, 1x1, stride 2) -> A [2, 2, 2] -> global average pool -> Dense(3).
 * A_k(i, j) = u_k x(2i, 2j) + c_k; d logit_t / d A_k(i, j) = V[k][t] / 4, so alpha_k = V[k][t] / 4.
 */
function handBuilt(u: number[], c: number[], v: number[][], nested: boolean): tf.LayersModel {
  const conv = tf.layers.conv2d({ filters: 2, kernelSize: 1, strides: 2, name: 'the_conv' });
  const head = [tf.layers.globalAveragePooling2d({}), tf.layers.dense({ units: 3, name: 'head' })];
  let model: tf.LayersModel;
  if (nested) {
    const backbone = tf.sequential({ name: 'backbone', layers: [tf.layers.inputLayer({ inputShape: [4, 4, 1] }), conv] });
    model = tf.sequential({ layers: [backbone, ...head] });
  } else {
    model = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: [4, 4, 1] }), conv, ...head] });
  }
  const t = [tf.tensor4d(u, [1, 1, 1, 2]), tf.tensor1d(c)];
  conv.setWeights(t);
  const d = [tf.tensor2d(v, [2, 3]), tf.zeros([3])];
  head[1]!.setWeights(d);
  tf.dispose([...t, ...d]);
  return model;
}

const num = fc.double({ min: -2, max: 2, noNaN: true });

describe('gradcam', () => {
  it('equals ReLU(sum_k alpha_k A_k), upsampled bilinearly and divided by its max, on a hand-built model (plain and nested)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(num, { minLength: 2, maxLength: 2 }),
        fc.array(num, { minLength: 2, maxLength: 2 }),
        fc.array(fc.array(num, { minLength: 3, maxLength: 3 }), { minLength: 2, maxLength: 2 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 16, maxLength: 16 }),
        fc.integer({ min: 0, max: 2 }),
        fc.boolean(),
        async (u, c, v, pixels, target, nested) => {
          const model = handBuilt(u, c, v, nested);
          const x = tf.tensor4d(pixels, [1, 4, 4, 1]);
          const before = tf.memory().numTensors;
          const maps = await gradcam(model, x, { target });
          expect(tf.memory().numTensors).toBe(before + 1);
          const got = await maps.data();
          tf.dispose([maps, x]);
          model.dispose();
          const A = (k: number, i: number, j: number) => u[k]! * pixels[2 * i * 4 + 2 * j]! + c[k]!;
          const cam = [0, 1].map((i) => [0, 1].map((j) => Math.max(0, (v[0]![target]! / 4) * A(0, i, j) + (v[1]![target]! / 4) * A(1, i, j))));
          const up = resizeBilinear(cam, 4, 4).flat();
          const top = Math.max(...up);
          const expected = up.map((e) => (top > 0 ? e / top : 0));
          // Near-zero maps are all rounding noise; normalising them magnifies it.
          if (top < 1e-4) return;
          expected.forEach((e, i) => expect(got[i]).toBeCloseTo(e, 4));
        },
      ),
      { numRuns: 30 },
    );
  });

  it('finds the last conv block (conv -> batch norm -> relu) in a functional graph, and takes a layer by name', async () => {
    const input = tf.input({ shape: [8, 8, 3] });
    const c1 = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'c1' }).apply(input) as tf.SymbolicTensor;
    const c2 = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'c2' }).apply(c1) as tf.SymbolicTensor;
    const bn = tf.layers.batchNormalization({ name: 'bn' }).apply(c2) as tf.SymbolicTensor;
    const sum = tf.layers.add({ name: 'add' }).apply([bn, c1]) as tf.SymbolicTensor;
    const act = tf.layers.activation({ activation: 'relu', name: 'out_relu' }).apply(sum) as tf.SymbolicTensor;
    const pooled = tf.layers.globalAveragePooling2d({}).apply(act) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 5, activation: 'softmax' }).apply(pooled) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    expect(findGradCamLayer(model).name).toBe('out_relu');
    const x = tf.randomUniform([3, 8, 8, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const auto = await gradcam(model, x);
    const named = await gradcam(model, x, { layer: 'out_relu' });
    const other = await gradcam(model, x, { layer: 'c1', target: [0, 1, 2] });
    expect(auto.shape).toEqual([3, 8, 8]);
    expect(Array.from(await named.data())).toEqual(Array.from(await auto.data()));
    const [lo, hi] = [(await other.min().data())[0]!, (await other.max().data())[0]!];
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThanOrEqual(1);
    tf.dispose([auto, named, other]);
    expect(tf.memory().numTensors).toBe(before + 2); // the two scalars read above
    x.dispose();
    model.dispose();
  });

  it('says what to do for a model without a conv layer, an unknown layer name, or a { predict } model', async () => {
    const mlp = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [4, 4, 1] }), tf.layers.dense({ units: 3 })] });
    const x = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
    await expect(gradcam(mlp, x)).rejects.toThrow(/needs a convolutional layer.*Use 'saliency'/);
    const model = handBuilt([1, 1], [0, 0], [[1, 0, 0], [0, 1, 0]], false);
    await expect(gradcam(model, x, { layer: 'nope' })).rejects.toThrow(/No layer named 'nope'.*the_conv/);
    await expect(gradcam({ predict: (v: tf.Tensor4D) => model.predict(v) as tf.Tensor }, x)).rejects.toThrow(/needs a tf.LayersModel/);
    tf.dispose(x);
    mlp.dispose();
    model.dispose();
  });
});

describe('gradcam: default layer and 1x1 feature maps', () => {
  it('skips VGG16\'s last pool (1x1 on 32x32 images) and takes the last feature map larger than 1x1', () => {
    const model = buildModel({ arch: 'vgg16', width: 1 / 16 });
    const layer = findGradCamLayer(model);
    expect(featureMapSize(layer)).toEqual([2, 2]);
    expect(layer.getClassName()).toBe('ReLU');
    model.dispose();
  });

  it('keeps the 8x8 last block of ResNet-20 and MobileNet\'s 2x2 last block', () => {
    const resnet = buildModel({ arch: 'resnet', depth: 8, width: 1 / 4 });
    expect(featureMapSize(findGradCamLayer(resnet))).toEqual([8, 8]);
    resnet.dispose();
    const mobilenet = buildModel({ arch: 'mobilenet', width: 1 / 16 });
    expect(featureMapSize(findGradCamLayer(mobilenet))).toEqual([2, 2]);
    mobilenet.dispose();
  });

  it('refuses a named layer with 1x1 feature maps, and a model whose maps are all 1x1', async () => {
    const input = tf.input({ shape: [4, 4, 1] });
    const conv = tf.layers.conv2d({ filters: 2, kernelSize: 1, name: 'c' }).apply(input) as tf.SymbolicTensor;
    const pool = tf.layers.maxPooling2d({ poolSize: 4, name: 'pool' }).apply(conv) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 3 }).apply(tf.layers.flatten().apply(pool) as tf.SymbolicTensor) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    expect(findGradCamLayer(model).name).toBe('c');
    const x = tf.randomUniform([2, 4, 4, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    await expect(gradcam(model, x, { layer: 'pool' })).rejects.toThrow(/layer 'pool' outputs 1x1 feature maps, so every map would be the same value at every pixel/);
    expect(tf.memory().numTensors).toBe(before);
    const tiny = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [1, 1, 2], filters: 2, kernelSize: 1 }), tf.layers.flatten(), tf.layers.dense({ units: 2 })] });
    expect(() => findGradCamLayer(tiny)).toThrow(/every convolutional feature map of model .* is 1x1/);
    tf.dispose(x);
    model.dispose();
    tiny.dispose();
  });
});
