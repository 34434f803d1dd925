import { existsSync, readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { checkCard, readForeignCard, type ForeignModelCard } from './card.js';
import { compileGraph } from './graph.js';
import { OnnxModel } from './model.js';
import { resolvePreprocessing, type Preprocessing } from './preprocessing.js';
import { decodeModel } from './proto.js';

/** Options of loading a model file: its preprocessing, and card fields that override its card file. */
export interface LoadOptions extends Partial<Preprocessing> {
  /** Card fields (name, source, classes, output) over those of `<model>.card.json`. */
  card?: Partial<ForeignModelCard>;
}

const OPTION_KEYS = ['inputRange', 'mean', 'std', 'layout', 'card'];

/**
 * Imports an ONNX image classifier as tfjs operations (see {@link OnnxModel}). Preprocessing comes
 * from `options`, else from `<model>.card.json` beside the file, else the defaults (inputs in
 * [0, 1], no normalization, NCHW); an unsupported operator is refused here, naming it and its node.
 *
 * @example
 * ```ts
 * const model = await loadOnnxModel('models/resnet18.onnx', { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
 * ```
 */
export async function loadOnnxModel(path: string, options: LoadOptions = {}): Promise<OnnxModel> {
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) throw new Error(`loadModel('${path}'): unknown option '${key}'. Its options are: ${OPTION_KEYS.join(', ')}.`);
  }
  if (!existsSync(path)) throw new Error(`No model at ${resolve(path)}. Check the path, or export one with torch.onnx.export(model, example, '${basename(path)}').`);
  const started = performance.now();
  const fileCard = readForeignCard(path) ?? {};
  if (options.card) checkCard(options.card, `loadModel('${path}') card option`);
  const { card: cardOption, ...pre } = options;
  const given = { ...fileCard, ...cardOption };
  const where = Object.keys(pre).length > 0 ? `loadModel('${path}') options` : `${path} card`;
  const preprocessing = resolvePreprocessing({ ...(fileCard.preprocessing ?? {}), ...(cardOption?.preprocessing ?? {}), ...pre }, where);
  const proto = decodeModel(readFileSync(path), path);
  const explicit = [pre.layout, cardOption?.preprocessing?.layout, fileCard.preprocessing?.layout].some((l) => l !== undefined);
  const graph = compileGraph(proto, path, { layout: preprocessing.layout, explicit });
  const k = graph.output.shape[1]!;
  const card = {
    ...given,
    name: given.name ?? basename(path).replace(/\.onnx$/i, ''),
    output: given.output ?? (graph.steps[graph.steps.length - 1]?.opType === 'Softmax' ? 'probabilities' : 'logits'),
    preprocessing,
    format: 'onnx' as const,
  };
  if (card.classes && card.classes.length !== k) {
    graph.kept.forEach((t) => t.dispose());
    throw new Error(`${path}: the card names ${card.classes.length} classes, but the model outputs ${k} scores. Fix the card's classes.`);
  }
  return new OnnxModel(path, graph, card, performance.now() - started);
}
