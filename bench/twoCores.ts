// Measures what a data-parallel split over two worker threads could give on this machine: the
// small CNN's training step at batch 64 in one thread, against two threads (each its own wasm
// backend) each stepping on half the batch at the same time. Run: npx tsx bench/twoCores.ts
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { cpus } from 'node:os';

async function measure(batch: number, steps: number): Promise<number> {
  const tf = await import('@tensorflow/tfjs');
  const { initBackend } = await import('../src/backend/index.js');
  const { smallCnn, trainStep } = await import('./smallCnn.js');
  await initBackend({ backend: 'wasm', announce: false });
  const model = smallCnn();
  const opt = tf.train.adam(1e-3);
  const x = tf.randomUniform([batch, 32, 32, 3]) as import('@tensorflow/tfjs').Tensor4D;
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'int32'), 10) as import('@tensorflow/tfjs').Tensor2D;
  trainStep(model, opt, x, y);
  const t = performance.now();
  for (let i = 0; i < steps; i++) trainStep(model, opt, x, y);
  return (performance.now() - t) / steps;
}

if (isMainThread) {
  const steps = 6;
  const one = await measure(64, steps);
  const run = () =>
    new Promise<number>((resolve, reject) => {
      // tsx's loader is not inherited by workers on Node 20: register it, then load this file.
      const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
      const w = new Worker(boot, { eval: true, workerData: { batch: 32, steps } });
      w.once('message', resolve);
      w.once('error', reject);
    });
  const t = performance.now();
  const [a, b] = await Promise.all([run(), run()]);
  const wall = performance.now() - t;
  const { machineLine, writeResultsSection } = await import('./results.js');
  const ips2 = (64 / Math.max(a, b)) * 1000;
  writeResultsSection(
    'two-cores',
    `## Using the second core (bench/twoCores.ts, \`npx tsx bench/twoCores.ts\`)

${machineLine()}.

| setup | ms per step | img/s |
| --- | --- | --- |
| one thread, batch 64 | ${one.toFixed(0)} | ${((64 / one) * 1000).toFixed(0)} |
| two worker threads at once, batch 32 each | ${a.toFixed(0)} / ${b.toFixed(0)} | ${ips2.toFixed(0)} (x${(ips2 / ((64 / one) * 1000)).toFixed(2)}) |

This is the ceiling of a data-parallel split before any weight or gradient exchange. The
alternative, tfjs-backend-wasm's threaded build, does not start in Node as shipped: it hands
its pthread workers Blob URLs, which worker_threads cannot load. With those swapped for eval'd
code and a temp file the workers load, but XNNPACK's pool still reports one thread and a conv
keeps its single-thread time (cpu time = wall time), so that route gave nothing.`,
  );
  console.log(
    JSON.stringify({ cores: cpus().length, oneThreadBatch64ms: +one.toFixed(1), oneThreadImgPerS: +((64 / one) * 1000).toFixed(0), twoThreadsBatch32ms: [+a.toFixed(1), +b.toFixed(1)], twoThreadsImgPerS: +((64 / Math.max(a, b)) * 1000).toFixed(0), wallMs: +wall.toFixed(0) }),
  );
} else {
  const { batch, steps } = workerData as { batch: number; steps: number };
  parentPort!.postMessage(await measure(batch, steps));
}
