import * as tf from '@tensorflow/tfjs';
import { mkdirSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { checkBatch, checkClasses, readLabels, SAMPLES_NAMES } from '../data/inputs.js';
import type { Samples } from '../data/samples.js';
import { type Classifier, resolveClassifier } from '../models/classifier.js';
import { cardOf } from '../models/io.js';
import { isOnnxModel } from '../models/onnx/index.js';
import { writeImagePng } from '../attribution/heatmap.js';
import { reportDir } from '../record/reportDir.js';
import { fileSafe, nextCall } from './callCounter.js';
import { type ClassCall, recordResult, type RobustnessRecord } from '../record/record.js';

/** The `this` Vitest gives a matcher (the parts used here). */
export interface MatcherThis {
  isNot: boolean;
  currentTestName?: string;
  testPath?: string;
  /** The running test (Vitest's matcher context), for numbering calls per attempt. */
  task?: unknown;
}

export interface MatcherOutcome {
  pass: boolean;
  message: () => string;
  actual?: unknown;
  expected?: unknown;
  /** What the awaited matcher call resolves to (when absent, `actual`). */
  measurement?: unknown;
}

/** Throws unless `value` is a Samples object with rank-4 float32 images in [0, 1] and one int32 label per image. */
export async function checkSamples(value: unknown, matcher: string): Promise<Samples> {
  const s = value as Samples;
  if (!s || typeof s !== 'object' || !(s.images instanceof tf.Tensor) || !(s.labels instanceof tf.Tensor)) {
    throw new TypeError(`${matcher}: expect() must receive Samples ({ images, labels, ids }), e.g. from cifar10.test({ count, seed }); got ${value === null ? 'null' : typeof value}.`);
  }
  if (s.images.isDisposed) throw new Error(`${matcher}: samples were disposed before the matcher ran; dispose them in afterAll.`);
  await checkBatch(matcher, s.images, s.labels, SAMPLES_NAMES);
  return s;
}

/** Values per image (H * W * C), the size an L2 budget is measured against. */
export function imageSize(samples: Samples): number {
  return samples.images.shape[1] * samples.images.shape[2] * samples.images.shape[3];
}

/** Throws unless `model` is a tf.LayersModel or an object with `predict` (a Classifier). */
export function checkModel(matcher: string, model: unknown): void {
  if (model instanceof tf.LayersModel) return;
  if (typeof model === 'object' && model !== null && typeof (model as { predict?: unknown }).predict === 'function') return;
  throw new TypeError(`${matcher}: the model must be a tf.LayersModel (e.g. from loadModel(dir)) or an object with predict(images) returning [N, K] logits or probabilities; got ${model === null ? 'null' : typeof model === 'object' ? `an object with keys ${Object.keys(model as object).join(', ') || 'none'}` : typeof model}.`);
}

/**
 * Throws on an option the matcher does not know: a misspelt threshold or setting would otherwise
 * be ignored and the check run with a default the caller did not mean.
 */
export function checkOptions(matcher: string, options: unknown, known: readonly string[]): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new TypeError(`${matcher}: options must be an object { ${known.join(', ')} }; got ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}.`);
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length) throw new TypeError(`${matcher}: unknown option ${unknown.map((k) => `'${k}'`).join(', ')}. Its options are: ${known.join(', ')}.`);
}

/** Throws unless `value` is undefined or a whole number >= 0 (counts such as saveWorst). */
export function checkCount(matcher: string, key: string, value: unknown): void {
  if (value !== undefined && !(typeof value === 'number' && Number.isInteger(value) && value >= 0)) throw new RangeError(`${matcher}: ${key} must be a whole number >= 0; got ${String(value)}.`);
}

/**
 * Refuses a check whose measurement means nothing (no sample counted, a value that is not a
 * number, maps with nothing to compare): records it as failed whatever `.not` says, then throws,
 * so neither `expect` nor `expect.not` can pass it.
 */
export function refuse(ctx: MatcherThis, model: unknown, r: Omit<RobustnessRecord, 'spec' | 'test' | 'model' | 'card' | 'backend' | 'time' | 'pass' | 'value'>, why: string): never {
  record(ctx, model, { ...r, value: Number.NaN, pass: false }, true);
  throw new Error(why);
}

/**
 * The samples' labels on the host (read from the device once per call, see readLabels), checked
 * against the model's classes where the model says how many it has (labels from another dataset).
 */
export async function checkedLabels(model: Classifier, samples: Samples, matcher: string): Promise<Int32Array> {
  const labels = await readLabels(samples.labels);
  if (!(model instanceof tf.LayersModel) && !isOnnxModel(model)) return labels;
  const shape = isOnnxModel(model) ? [model.numClasses] : model.outputs[0]?.shape;
  const k = shape?.[shape.length - 1];
  if (typeof k === 'number') checkClasses(matcher, 'label', labels, k);
  return labels;
}

/** The model's name as records and artefact paths give it: its card's name, else its own. */
export function modelName(model: unknown): string {
  const card = model instanceof tf.LayersModel ? cardOf(model) : isOnnxModel(model) ? model.card : undefined;
  return card?.name ?? (model instanceof tf.LayersModel ? model.name : 'unnamed model');
}

/**
 * <report dir>/<kind>/<spec>/<test>/<model>-<k>/ for the k-th check of this kind in the current test
 * attempt, emptied and made on demand, and its path relative to the working directory. Distinct
 * per spec, test, model and check, so two models (or two checks) in one test, or tests whose names
 * differ only in punctuation ("eps 8/255", "eps 8-255"), never overwrite each other's images.
 */
export function artefactDir(kind: string, ctx: MatcherThis, model: unknown): { dir: string; shown: string } {
  const spec = ctx.testPath ? relative(process.cwd(), ctx.testPath) : undefined;
  const dir = resolve(reportDir(), kind, fileSafe(spec, 'unknown-spec'), fileSafe(ctx.currentTestName), `${fileSafe(modelName(model), 'model')}-${nextCall(ctx, `artefacts:${kind}`)}`);
  // Only this check's images: a rerun that saves fewer samples leaves no stale ones beside them.
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return { dir, shown: relative(process.cwd(), dir) || dir };
}

export function fmt(x: number, digits = 3): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

export function paramsText(params: Record<string, unknown>): string {
  return Object.entries(params)
    .filter(([, v]) => v !== undefined && typeof v !== 'function')
    .map(([k, v]) => `${k} ${typeof v === 'number' ? Number(v.toPrecision(4)) : Array.isArray(v) ? `[${v.join(', ')}]` : String(v)}`)
    .join(', ');
}

export { join };

/**
 * Records a matcher call for the report and the release gate. `pass` is the assertion's verdict
 * (after `.not`), unless `final` says it is already the verdict (a refused check fails both ways).
 */
export function record(ctx: MatcherThis, model: unknown, r: Omit<RobustnessRecord, 'spec' | 'test' | 'model' | 'card' | 'backend' | 'time'>, final = false): void {
  // An imported model's card carries its source, classes and preprocessing into every record.
  const card = model instanceof tf.LayersModel ? cardOf(model) : isOnnxModel(model) ? model.card : undefined;
  recordResult({
    spec: ctx.testPath ? relative(process.cwd(), ctx.testPath) : 'unknown',
    test: ctx.currentTestName ?? 'unknown',
    model: modelName(model),
    card: card as unknown as Record<string, unknown> | undefined,
    backend: tf.getBackend(),
    time: new Date().toISOString(),
    ...r,
    pass: ctx.isNot && !final ? !r.pass : r.pass,
  });
}

/** A path relative to the project root, for records and messages. */
export function rel(path: string): string {
  return relative(process.cwd(), path);
}

/**
 * Saves one image panel per chosen sample as <artefactDir>/<sample id>.png (scaled x4),
 * disposing each panel; returns the folder as shown in messages and the files for the record.
 */
export async function savePanels(ctx: MatcherThis, kind: string, model: unknown, indices: readonly number[], ids: readonly string[], panel: (i: number) => tf.Tensor3D): Promise<{ shown: string; artefacts: string[] }> {
  const { dir, shown } = artefactDir(kind, ctx, model);
  const artefacts: string[] = [];
  for (const i of indices) {
    const image = tf.tidy(() => panel(i));
    try {
      const file = join(dir, `${String(ids[i] ?? i).replace(/[^a-zA-Z0-9._-]+/g, '_')}.png`);
      await writeImagePng(file, image, 4);
      artefacts.push(rel(file));
    } finally {
      image.dispose();
    }
  }
  return { shown, artefacts };
}

/** A class index as the samples name it ('cat'), or the index itself. */
export function className(samples: Pick<Samples, 'classNames'>, k: number): string {
  return samples.classNames[k] ?? String(k);
}

/**
 * The model's call (top class and its probability) on each image of a small batch, for the labels
 * of saved panels; the batch is the caller's.
 */
export async function classCalls(model: Classifier, images: tf.Tensor4D, samples: Pick<Samples, 'classNames'>): Promise<ClassCall[]> {
  const clf = await resolveClassifier(model, {}, images);
  const [top, p] = tf.tidy(() => {
    const probs = clf.probabilities(images);
    return [probs.argMax(1), probs.max(1)];
  });
  try {
    const [k, c] = await Promise.all([top.data(), p.data()]);
    return Array.from(k as Int32Array, (cls, i) => ({ class: className(samples, cls), confidence: c[i]! }));
  } finally {
    tf.dispose([top, p]);
  }
}
