import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { recoverDir, replaceDir } from '../util/atomicDir.js';
import type { ModelCard } from './card.js';
import { float32ToFloat16 } from './float16.js';
import { loadOnnxModel, OnnxModel, type LoadOptions } from './onnx/index.js';

const cards = new WeakMap<tf.LayersModel, ModelCard>();

/** The card a model was loaded with, if any. */
export function cardOf(model: tf.LayersModel): ModelCard | undefined {
  return cards.get(model);
}

function concatWeights(data: ArrayBuffer | ArrayBuffer[]): Uint8Array {
  if (!Array.isArray(data)) return new Uint8Array(data);
  return Buffer.concat(data.map((d) => new Uint8Array(d)));
}

/*
 * tfjs-layers (4.22 and earlier) DepthwiseConv2D.getConfig writes the depthwise regularizer in the
 * place of the depthwise constraint (tensorflow/tfjs pull request 8564 fixes it upstream). A saved
 * regularized depthwise layer then fails to load: the regularizer, applied as a constraint after
 * each weight write, turns the kernel into its scalar penalty. So saving writes the constraint from
 * the layer itself, and loading drops a "constraint" that is a copy of the layer's regularizer
 * (files saved before this fix); no real constraint has a regularizer's configuration.
 */

type Json = { [key: string]: unknown };

/** Every object in a JSON tree whose class_name is DepthwiseConv2D. */
function depthwiseConfigs(node: unknown, out: Json[] = []): Json[] {
  if (Array.isArray(node)) for (const n of node) depthwiseConfigs(n, out);
  else if (node && typeof node === 'object') {
    const o = node as Json;
    if (o.class_name === 'DepthwiseConv2D' && o.config && typeof o.config === 'object') out.push(o.config as Json);
    for (const v of Object.values(o)) depthwiseConfigs(v, out);
  }
  return out;
}

function layersByName(model: tf.LayersModel, out = new Map<string, tf.layers.Layer>()): Map<string, tf.layers.Layer> {
  for (const layer of model.layers) {
    out.set(layer.name, layer);
    if (layer instanceof tf.LayersModel) layersByName(layer, out);
  }
  return out;
}

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The saved topology with each DepthwiseConv2D's depthwise_constraint taken from the live layer. */
export function writeDepthwiseConstraints<T>(topology: T, model: tf.LayersModel): T {
  const configs = depthwiseConfigs(topology);
  if (configs.length === 0) return topology;
  const layers = layersByName(model);
  for (const config of configs) {
    const layer = layers.get(config.name as string) as unknown as { depthwiseConstraint?: tf.serialization.Serializable | null } | undefined;
    if (!layer) continue;
    const c = layer.depthwiseConstraint;
    config.depthwise_constraint = c ? { class_name: c.getClassName(), config: Object.fromEntries(Object.entries(c.getConfig()).map(([k, v]) => [snake(k), v])) } : null;
  }
  return topology;
}

/** Drops a DepthwiseConv2D "constraint" that is a copy of its regularizer (see above). */
export function repairDepthwiseConstraints<T>(topology: T): T {
  for (const config of depthwiseConfigs(topology)) {
    const c = config.depthwise_constraint;
    if (c && JSON.stringify(c) === JSON.stringify(config.depthwise_regularizer)) config.depthwise_constraint = null;
  }
  return topology;
}

/** The files a model folder of ours holds; a new save replaces or retires each of them. */
const MODEL_FILES = ['model.json', 'weights.bin', 'card.json', 'history.json', 'train-state.json', 'optimizer.json', 'optimizer.bin'];

/** The weight files the model.json in `dir` names (a converter's shards), so a new save retires them too. */
function namedWeightFiles(dir: string): string[] {
  try {
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { weightsManifest?: { paths?: unknown[] }[] };
    return (json?.weightsManifest ?? []).flatMap((g) => (g?.paths ?? []).filter((p): p is string => typeof p === 'string' && !p.includes('/')));
  } catch {
    return [];
  }
}

/**
 * Replaces the model folder `dir` with one holding `files`, whole (see replaceDir): readers see
 * the old model or the new one, never a mix, and a kill at any point leaves one of them. The
 * model files of the old folder that `files` leaves out are retired (an optimizer state after
 * training ends); anything else in it (a user's notes, subfolders) is kept. A non-empty folder
 * without model.json is refused, so a mistyped --out never replaces someone's files.
 */
export function replaceDirAtomic(dir: string, files: Record<string, string | Uint8Array>): void {
  const target = resolve(dir);
  replaceDir(target, files, { marker: 'model.json', what: 'a model folder (one with model.json)', drop: [...MODEL_FILES, ...namedWeightFiles(target)] });
}

/**
 * Puts back a model folder that a kill left half replaced, and removes the temp folders a killed
 * save left beside it. Every load and save does this first.
 */
export function recoverModelDir(dir: string): void {
  recoverDir(resolve(dir));
}

/** Whether a model folder holds a finished model, and if not, why (see {@link trainingStatus}). */
export type TrainingStatus = { finished: true; card: ModelCard } | { finished: false; card: ModelCard | undefined; why: string };

/**
 * Whether the model in `dir` has finished training: it has a card with a clean accuracy (written
 * once the last epoch is measured) and no optimizer state left for a resume (optimizer.json,
 * removed when training ends). The one place that decides it; `why` says what is missing.
 *
 * @example
 * const s = trainingStatus('models/resnet20');
 * if (!s.finished) throw new Error(`models/resnet20 ${s.why}`);
 */
export function trainingStatus(dir: string): TrainingStatus {
  const card = existsSync(dir) ? readCard(dir) : undefined;
  if (!card) return { finished: false, card, why: 'holds no model card (card.json)' };
  if (existsSync(join(dir, 'optimizer.json'))) return { finished: false, card, why: 'is still training (optimizer.json is there for a resume)' };
  if (!card.cleanAccuracy) return { finished: false, card, why: 'has not finished training (no clean accuracy on its card)' };
  return { finished: true, card };
}

/** Shorthand for `trainingStatus(dir).finished`. */
export function isFinished(dir: string): boolean {
  return trainingStatus(dir).finished;
}

export interface SaveOptions {
  /**
   * Store float32 weights as float16 (half the bytes; tfjs decodes them on load, so the model
   * computes in float32 with weights rounded to 11 significant bits). Default float32.
   */
  weights?: 'float32' | 'float16';
}

/** Bytes a weight spec occupies in weights.bin. */
function specBytes(s: tf.io.WeightsManifestEntry): number {
  const n = s.shape.reduce((a, b) => a * b, 1);
  const q = s.quantization?.dtype;
  return n * (q === 'uint8' ? 1 : q === 'uint16' || q === 'float16' ? 2 : 4);
}

/** Rewrites float32 weights as float16, in the manifest and the data. */
function toFloat16(specs: tf.io.WeightsManifestEntry[], data: Uint8Array): { specs: tf.io.WeightsManifestEntry[]; data: Uint8Array } {
  const parts: Uint8Array[] = [];
  const out: tf.io.WeightsManifestEntry[] = [];
  let offset = 0;
  for (const s of specs) {
    const bytes = specBytes(s);
    const chunk = data.subarray(offset, offset + bytes);
    offset += bytes;
    if (s.dtype !== 'float32' || s.quantization) {
      parts.push(chunk);
      out.push(s);
      continue;
    }
    const values = new Float32Array(chunk.slice().buffer);
    const half = float32ToFloat16(values);
    parts.push(new Uint8Array(half.buffer));
    out.push({ ...s, quantization: { dtype: 'float16' } });
  }
  return { specs: out, data: Buffer.concat(parts) };
}

/** The model's files in the tfjs LayersModel format (model.json + weights.bin). */
export async function modelArtifacts(model: tf.LayersModel, options: SaveOptions = {}): Promise<{ 'model.json': string; 'weights.bin': Uint8Array }> {
  let out: { 'model.json': string; 'weights.bin': Uint8Array } | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      let specs = a.weightSpecs ?? [];
      let data = concatWeights(a.weightData ?? new ArrayBuffer(0));
      if (options.weights === 'float16') ({ specs, data } = toFloat16(specs, data));
      const json = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
        convertedBy: null,
        modelTopology: writeDepthwiseConstraints(a.modelTopology, model),
        weightsManifest: [{ paths: ['weights.bin'], weights: specs }],
      };
      out = { 'model.json': JSON.stringify(json), 'weights.bin': data };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return out!;
}

/**
 * Saves a model as model.json + weights.bin (+ card.json, + any extra files) in `dir`,
 * replacing what was there atomically; `options.weights` 'float16' halves weights.bin.
 */
export async function saveModel(model: tf.LayersModel, dir: string, card?: ModelCard, extra: Record<string, string | Uint8Array> = {}, options: SaveOptions = {}): Promise<void> {
  const files: Record<string, string | Uint8Array> = { ...(await modelArtifacts(model, options)), ...extra };
  if (card) files['card.json'] = `${JSON.stringify(card, null, 2)}\n`;
  replaceDirAtomic(dir, files);
}

/** Reads card.json of a model folder, or undefined when it has none. */
export function readCard(dir: string): ModelCard | undefined {
  recoverModelDir(dir);
  const path = join(dir, 'card.json');
  if (!existsSync(path)) return undefined;
  let card: unknown;
  try {
    card = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path} is not valid JSON (${(err as Error).message}). Restore it from version control or retrain the model.`);
  }
  const c = card as Partial<ModelCard> | null;
  const missing = !c || typeof c !== 'object' || Array.isArray(c) ? ['an object'] : (['spec', 'training', 'data'] as const).filter((k) => !c[k] || typeof c[k] !== 'object');
  if (missing.length) {
    throw new Error(`${path} is not a model card: it lacks ${missing.join(', ')} (it holds ${JSON.stringify(card).slice(0, 60)}). Restore it from version control or retrain the model.`);
  }
  return c as ModelCard;
}

type ModelJson = { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };

/** Parses model.json and checks it is a tfjs LayersModel file, naming what is wrong. */
function readModelJson(path: string): ModelJson {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path} is not valid JSON (${(err as Error).message}); the model is damaged. Restore it or retrain.`);
  }
  const j = json as Partial<ModelJson> | null;
  const problem =
    !j || typeof j !== 'object' || Array.isArray(j)
      ? `it holds ${JSON.stringify(json)?.slice(0, 40)}, not an object`
      : !j.modelTopology || typeof j.modelTopology !== 'object'
        ? 'it has no modelTopology'
        : !Array.isArray(j.weightsManifest) || !j.weightsManifest.every((g) => g && Array.isArray(g.paths) && g.paths.every((p) => typeof p === 'string') && Array.isArray(g.weights))
          ? 'its weightsManifest is not a list of { paths, weights }'
          : undefined;
  if (problem) {
    throw new Error(`${path} is not a tfjs LayersModel file: ${problem}. Restore it, retrain, or convert the model with tensorflowjs_converter --output_format tfjs_layers_model.`);
  }
  return j as ModelJson;
}

/**
 * The problems of weights against a model, weight by weight (tfjs itself says only "Shape
 * mismatch: [a] vs. [b]", naming neither the weight nor the file).
 */
function weightProblems(model: tf.LayersModel, specs: tf.io.WeightsManifestEntry[]): string[] {
  const wanted = new Map(model.weights.map((w) => [w.originalName, w.shape]));
  const problems: string[] = [];
  for (const s of specs) {
    const shape = wanted.get(s.name);
    if (!shape) problems.push(`weight '${s.name}' is in the file but not in the model`);
    else if (shape.join(',') !== s.shape.join(',')) problems.push(`weight '${s.name}' is [${s.shape.join(', ')}] in the file, but the model needs [${shape.join(', ')}]`);
  }
  const have = new Set(specs.map((s) => s.name));
  for (const name of wanted.keys()) if (!have.has(name)) problems.push(`weight '${name}' of the model is not in the file`);
  return problems;
}

/** Builds the model model.json describes and puts its weights in, naming what does not fit. */
async function buildWithWeights(modelJson: string, topology: object, specs: tf.io.WeightsManifestEntry[], weightData: ArrayBuffer): Promise<tf.LayersModel> {
  let model: tf.LayersModel;
  try {
    model = await tf.models.modelFromJSON({ modelTopology: topology } as tf.io.ModelJSON);
  } catch (err) {
    throw new Error(`${modelJson}: its modelTopology cannot be built (${(err as Error).message}). Restore the file or retrain.`);
  }
  try {
    const problems = weightProblems(model, specs);
    if (problems.length) {
      const what = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
      throw new Error(`The weights in ${modelJson} do not fit its model: ${what}. model.json and its weights come from different models or were edited; restore them or retrain.`);
    }
    const named = tf.io.decodeWeights(weightData, specs);
    try {
      model.loadWeights(named);
    } finally {
      tf.dispose(Object.values(named));
    }
    return model;
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/**
 * Loads a model: a tfjs LayersModel folder (model.json + weights.bin), or an ONNX file (a path
 * ending in .onnx, imported as tfjs operations: see `loadOnnxModel` for its options), on whatever
 * backend is current. A folder's card is available through {@link cardOf}; an ONNX model carries
 * its own (`model.card`). For a path known only at run time, {@link loadClassifier} types both.
 *
 * @example
 * const model = await loadModel('fixtures/models/resnet20-base');
 * const onnx = await loadModel('fixtures/onnx/resnet.onnx', { mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26] });
 */
export async function loadModel(path: `${string}.onnx`, options?: LoadOptions): Promise<OnnxModel>;
export async function loadModel(dir: string): Promise<tf.LayersModel>;
export async function loadModel(path: string, options?: LoadOptions): Promise<tf.LayersModel | OnnxModel> {
  if (/\.onnx$/i.test(path)) return loadOnnxModel(path, options);
  if (options !== undefined) throw new Error(`loadModel('${path}'): options (preprocessing, card) apply to ONNX files; a LayersModel folder takes [0, 1] NHWC images as saved.`);
  return loadLayersFolder(path);
}

/** {@link loadModel} for a path known only at run time (a CLI flag): a LayersModel or an ONNX model. */
export async function loadClassifier(path: string, options?: LoadOptions): Promise<tf.LayersModel | OnnxModel> {
  return /\.onnx$/i.test(path) ? loadOnnxModel(path, options) : loadModel(path);
}

async function loadLayersFolder(dir: string): Promise<tf.LayersModel> {
  recoverModelDir(dir);
  const modelJson = join(dir, 'model.json');
  if (!existsSync(modelJson)) {
    throw new Error(`No model in ${resolve(dir)}: model.json is missing. Save one there with saveModel() or train() (out), or check the path.`);
  }
  const json = readModelJson(modelJson);
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const buffers = json.weightsManifest.flatMap((g) =>
    g.paths.map((p) => {
      const path = join(dir, p);
      if (!existsSync(path)) throw new Error(`${path} is missing: model.json of ${basename(resolve(dir))} names it. Restore it or retrain.`);
      return readFileSync(path);
    }),
  );
  const weightData = Buffer.concat(buffers);
  const expected = specs.reduce((n, s) => n + specBytes(s), 0);
  if (weightData.length !== expected) {
    throw new Error(`The weights of ${resolve(dir)} hold ${weightData.length} bytes but model.json describes ${expected}: the files are truncated or from different models. Restore them or retrain.`);
  }
  const topology = repairDepthwiseConstraints(json.modelTopology);
  const model = await buildWithWeights(modelJson, topology, specs, weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.length) as ArrayBuffer);
  const card = readCard(dir);
  if (card) cards.set(model, card);
  return model;
}
