// Run by src/workers/pool.test.ts as its own process: attacks with the worker threads and never
// closes them; the process must still exit (the idle threads do not hold it).
import * as tf from '@tensorflow/tfjs';
import { attacks } from '../attacks/registry.js';
import { initBackend } from '../backend/select.js';
import { workerThreads } from '../workers/pool.js';

await initBackend({ backend: 'wasm', announce: false });
const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [4, 4, 3] }), tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) })] });
const x = tf.randomUniform([6, 4, 4, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
const y = tf.tensor1d([0, 1, 0, 1, 0, 1], 'int32');
const r = await attacks.pgd.run(model, x, y, { steps: 2 });
console.log(`pooled ${workerThreads().length} threads, ${r.adversarial.shape[0]} rows`);
