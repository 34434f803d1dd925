import * as tf from '@tensorflow/tfjs';
import { ImageDataset } from '../data/dataset.js';
import { createProgress } from '../util/progress.js';
import { getAttack, type AttackName } from '../attacks/registry.js';
import type { Attack } from '../attacks/types.js';
import type { Classifier } from '../models/classifier.js';
import { train, type TrainOptions, type TrainResult } from './train.js';

/** One attack of an adversarial-training recipe: a registry name or an Attack, and its settings. */
export interface AdversarialAttackSpec {
  attack: AttackName | Attack<any>;
  params?: Record<string, unknown>;
}

export interface AdversarialSetOptions {
  attacks: readonly AdversarialAttackSpec[];
  /** Training images attacked, drawn class-stratified with `seed`; every attack attacks all of them. */
  count: number;
  /** @defaultValue 0 */
  seed?: number;
  /** Images per attack call. @defaultValue 100 */
  batchSize?: number;
  /** Progress bar on stderr. @defaultValue false */
  progress?: boolean;
  signal?: AbortSignal;
}

/** Per attack: how the adversarial images came out. */
export interface AdversarialSetStats {
  attack: string;
  params: Record<string, unknown>;
  images: number;
  /** Share of the attacked images whose prediction the attack changed. */
  successRate: number;
  meanL2: number;
  meanLinf: number;
  seconds: number;
}

export interface AdversarialSet {
  /**
   * The adversarial images with their true labels, `count` per attack, in attack order. Stored as
   * 8-bit pixels like every dataset (as saved images would be): rounding can undo a perturbation
   * smaller than half a grey level, which matters only for the minimal DeepFool ones.
   */
  dataset: ImageDataset;
  /** Which images of the source dataset were attacked. */
  sourceIndices: Int32Array;
  stats: AdversarialSetStats[];
}

function checkCount(count: number, size: number): void {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer (training images to attack), got ${count}.`);
  if (count > size) throw new RangeError(`count ${count} exceeds the ${size} images in the dataset; attack at most all of them.`);
}

/**
 * Attacks `count` images of `data` with every attack of the recipe and returns the adversarial
 * images, labelled with their true classes, for adversarial training (the paper's section 4.2).
 * Leaves no tensors behind.
 *
 * @example
 * const { dataset, stats } = await adversarialSet(model, train, { attacks: [{ attack: 'fgsm', params: { eps: 8 / 255 } }, { attack: 'pgd', params: { eps: 8 / 255, steps: 10 } }], count: 1000, seed: 1 });
 */
export async function adversarialSet(model: Classifier, data: ImageDataset, options: AdversarialSetOptions): Promise<AdversarialSet> {
  checkCount(options.count, data.size);
  if (options.attacks.length === 0) throw new Error("adversarialSet needs at least one attack, e.g. { attack: 'fgsm', params: { eps: 8 / 255 } }.");
  const attacks = options.attacks.map((a) => ({ attack: getAttack(a.attack), params: { ...(a.params ?? {}) } }));
  const batchSize = options.batchSize ?? 100;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}.`);
  const sourceIndices = data.stratifiedIndices({ count: options.count, seed: options.seed ?? 0 });
  const per = data.height * data.width * data.channels;
  const n = sourceIndices.length;
  const pixels = new Uint8Array(attacks.length * n * per);
  const labels = new Int32Array(attacks.length * n);
  const ids: string[] = [];
  const stats: AdversarialSetStats[] = [];
  for (const [a, { attack, params }] of attacks.entries()) {
    const progress = options.progress ? createProgress({ label: `${attack.name} on ${n} training images`, total: n }) : undefined;
    const t0 = performance.now();
    let succeeded = 0;
    let l2 = 0;
    let linf = 0;
    for (let start = 0; start < n; start += batchSize) {
      if (options.signal?.aborted) throw new Error('adversarialSet: aborted.');
      const idx = sourceIndices.subarray(start, Math.min(n, start + batchSize));
      const xs = data.imagesTensor(idx);
      const ys = data.labelsTensor(idx);
      try {
        // Each chunk gets its own seed so that random starts differ between chunks.
        const r = await attack.run(model, xs, ys, { ...params, seed: (options.seed ?? 0) * 1000 + start, batchSize });
        const adv = await r.adversarial.data();
        r.adversarial.dispose();
        const offset = a * n + start;
        for (let i = 0; i < adv.length; i++) pixels[offset * per + i] = Math.round(Math.min(1, Math.max(0, adv[i]!)) * 255);
        for (let j = 0; j < idx.length; j++) {
          labels[offset + j] = data.labels[idx[j]!]!;
          ids.push(`${data.ids[idx[j]!]}~${attack.name}`);
          if (r.success[j]) succeeded++;
          l2 += r.l2[j]!;
          linf += r.linf[j]!;
        }
      } finally {
        tf.dispose([xs, ys]);
      }
      progress?.update(Math.min(n, start + batchSize), `fooled ${succeeded}`);
    }
    const seconds = (performance.now() - t0) / 1000;
    progress?.done(`fooled ${((100 * succeeded) / n).toFixed(1)}%`);
    stats.push({ attack: attack.name, params, images: n, successRate: succeeded / n, meanL2: l2 / n, meanLinf: linf / n, seconds });
  }
  const dataset = new ImageDataset(pixels, labels, ids, data.classNames, data.height, data.width, data.channels);
  return { dataset, sourceIndices, stats };
}

export interface AdversarialTrainingOptions extends Omit<TrainOptions, 'augment'> {
  attacks: readonly AdversarialAttackSpec[];
  /** Training images attacked by every attack (made once, from the model as it is on entry). */
  count: number;
  /** Clean training images retrained on beside the adversarial ones (class-stratified). @defaultValue 9000 */
  clean?: number;
  /** Images per attack call. @defaultValue 100 */
  attackBatchSize?: number;
  /**
   * The model the adversarial images are made from. @defaultValue the model being trained (as
   * it is on entry); a resumed run passes the original so that it retrains on the same images.
   */
  source?: Classifier;
}

export interface AdversarialTrainingResult extends TrainResult {
  adversarial: AdversarialSetStats[];
  /** Adversarial plus clean images in the retraining set. */
  trainImages: number;
}

/**
 * Adversarial training as in the paper's section 4.2: make adversarial images from the trained
 * model on part of the training set, then retrain the model on those plus clean training images.
 * No shift/flip augmentation in the retraining: it would move a perturbation off the pixels it
 * was computed for. The clean images and the attacked ones are drawn with different seeds.
 *
 * @example
 * const model = await loadModel('fixtures/models/resnet20-l1');
 * await adversarialTraining(model, trainSet, { attacks: [{ attack: 'pgd', params: { eps: 8 / 255, steps: 10 } }], count: 1000, epochs: 2, learningRate: 3e-4, out: 'models/resnet20-adv' });
 */
export async function adversarialTraining(model: tf.LayersModel, data: ImageDataset, options: AdversarialTrainingOptions): Promise<AdversarialTrainingResult> {
  const cleanCount = options.clean ?? 9000;
  if (!Number.isInteger(cleanCount) || cleanCount < 0 || cleanCount > data.size) {
    throw new RangeError(`clean must be an integer from 0 to ${data.size} (clean images retrained on), got ${cleanCount}.`);
  }
  const seed = options.seed ?? 0;
  const set = await adversarialSet(options.source ?? model, data, {
    attacks: options.attacks,
    count: options.count,
    seed,
    batchSize: options.attackBatchSize,
    progress: options.progress !== false,
    signal: options.signal,
  });
  const clean = data.subset(data.stratifiedIndices({ count: cleanCount, seed: seed + 1 }));
  const combined = ImageDataset.concat([clean, set.dataset]);
  const recipe = { attacks: set.stats, attackedImages: set.sourceIndices.length, cleanImages: cleanCount, seed };
  const card = options.card && { ...options.card, training: { ...options.card.training, adversarial: { ...(options.card.training?.adversarial ?? {}), ...recipe } } };
  const result = await train(model, combined, { ...options, card, augment: false });
  return { ...result, adversarial: set.stats, trainImages: combined.size };
}
