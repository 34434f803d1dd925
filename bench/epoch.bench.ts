// One epoch of the small CNN on 10,000 CIFAR-10 training images on the chosen backend (wasm
// here), with the loss curve: the issue-3 check that training works and its loss falls.
// Writes the "epoch" section of bench/RESULTS.md.
import * as tf from '@tensorflow/tfjs';
import { afterAll, bench } from 'vitest';
import { currentBackend } from '../src/backend/index.js';
import { cifar10 } from '../src/data/index.js';
import { machineLine, writeResultsSection } from './results.js';
import { smallCnn, trainStep } from './smallCnn.js';

const IMAGES = 10_000;
const BATCH = 64;
const summary: string[] = [];

bench(
  `one epoch, ${IMAGES} images, batch ${BATCH}`,
  async () => {
    const train = await cifar10.dataset('train');
    const subset = train.subset(train.stratifiedIndices({ count: IMAGES, seed: 1 }));
    const test = await cifar10.test({ count: 1000, seed: 1 });
    const model = smallCnn(1);
    const opt = tf.train.adam(1e-3);
    const losses: number[] = [];
    const t0 = performance.now();
    for (const { xs, ys } of subset.batches({ batchSize: BATCH, shuffle: true, seed: 1 })) {
      const y = tf.oneHot(ys, 10) as tf.Tensor2D;
      losses.push(trainStep(model, opt, xs, y));
      tf.dispose([xs, ys, y]);
    }
    const secs = (performance.now() - t0) / 1000;
    const acc = tf.tidy(() => (model.predict(test.images) as tf.Tensor).argMax(1).equal(test.labels).mean().dataSync()[0]!);
    test.dispose();
    model.dispose();
    opt.dispose();
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    const chunks = 8;
    const per = Math.ceil(losses.length / chunks);
    const curve = Array.from({ length: chunks }, (_, i) => mean(losses.slice(i * per, (i + 1) * per)).toFixed(3));
    const info = await currentBackend();
    summary.push(
      `Backend ${info?.name ?? tf.getBackend()}; data: ${IMAGES} class-stratified training images (seed 1) of ${cifar10.locate().caveat}; Adam 1e-3, batch ${BATCH}, no augmentation.`,
      '',
      `| images | seconds | train img/s | loss, first 20 batches | loss, last 20 batches | test accuracy (1,000 images) |`,
      `| --- | --- | --- | --- | --- | --- |`,
      `| ${IMAGES} | ${secs.toFixed(1)} | ${(IMAGES / secs).toFixed(0)} | ${mean(losses.slice(0, 20)).toFixed(3)} | ${mean(losses.slice(-20)).toFixed(3)} | ${(acc * 100).toFixed(1)}% |`,
      '',
      `Mean loss over eighths of the epoch: ${curve.join(', ')}.`,
    );
  },
  { iterations: 1, warmupIterations: 0, time: 0, warmupTime: 0 },
);

afterAll(() => {
  if (summary.length) writeResultsSection('epoch', `## One training epoch (bench/epoch.bench.ts)\n\n${machineLine()}.\n\n${summary.join('\n')}`);
});
