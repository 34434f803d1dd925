import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { tempPathFor } from '../data/atomic.js';
import type { ModelCard } from './card.js';
import { float32ToFloat16 } from './float16.js';

const cards = new WeakMap<tf.LayersModel, ModelCard>();

/** The card a model was loaded with, if any. */
export function cardOf(model: tf.LayersModel): ModelCard | undefined {
  return cards.get(model);
}

function concatWeights(data: ArrayBuffer | ArrayBuffer[]): Uint8Array {
  if (!Array.isArray(data)) return new Uint8Array(data);
  return Buffer.concat(data.map((d) => new Uint8Array(d)));
}

/** Writes files into a fresh folder and swaps it in whole: readers see the old model or the new one, never a mix. */
export function replaceDirAtomic(dir: string, files: Record<string, string | Uint8Array>): void {
  const target = resolve(dir);
  mkdirSync(dirname(target), { recursive: true });
  const staging = tempPathFor(target);
  mkdirSync(staging);
  try {
    for (const [name, data] of Object.entries(files)) writeFileSync(join(staging, name), data);
    if (existsSync(target)) {
      const old = tempPathFor(target);
      renameSync(target, old);
      renameSync(staging, target);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(staging, target);
    }
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
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
        modelTopology: a.modelTopology,
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
  const path = join(dir, 'card.json');
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as ModelCard;
  } catch (err) {
    throw new Error(`${path} is not valid JSON (${(err as Error).message}). Restore it from version control or retrain the model.`);
  }
}

/**
 * Loads a model saved in the tfjs LayersModel format from a folder (model.json + weights.bin),
 * on whatever backend is current. Its card, when present, is available through {@link cardOf}.
 *
 * @example
 * const model = await loadModel('fixtures/models/resnet20-base');
 */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  const modelJson = join(dir, 'model.json');
  if (!existsSync(modelJson)) {
    throw new Error(`No model in ${resolve(dir)}: model.json is missing. Train one with \`npx robustness train --out ${dir}\`, or check the path.`);
  }
  let json: { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  try {
    json = JSON.parse(readFileSync(modelJson, 'utf8'));
  } catch (err) {
    throw new Error(`${modelJson} is not valid JSON (${(err as Error).message}); the model is damaged. Restore it or retrain.`);
  }
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
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.length) as ArrayBuffer }),
  );
  const card = readCard(dir);
  if (card) cards.set(model, card);
  return model;
}
