import { existsSync, readFileSync } from 'node:fs';
import type { Preprocessing } from './preprocessing.js';

/**
 * The card of a model trained elsewhere (an ONNX export), read from `<model>.card.json` beside the
 * file and completed by the options given to `loadModel`. Every check records it, so a report
 * says which model, from where, with which preprocessing.
 */
export interface ForeignModelCard {
  /** Name shown in reports and used by the gate's rules. @defaultValue the file name without .onnx */
  name: string;
  /** Where the model comes from (a URL, a training run, a commit). */
  source?: string;
  /** Class names in output order; their count must equal the model's outputs. */
  classes?: string[];
  /** What the model outputs; 'probabilities' when it ends in a softmax. @defaultValue read from the graph */
  output?: 'logits' | 'probabilities';
  /** What the model expects of its input (filled with defaults on load). */
  preprocessing?: Partial<Preprocessing>;
  /** Clean accuracy as its authors measured it. */
  cleanAccuracy?: { value: number; n: number; data?: string };
  /** File format; set by the loader. */
  format?: 'onnx';
}

const CARD_KEYS = ['name', 'source', 'classes', 'output', 'preprocessing', 'cleanAccuracy', 'format'];

/** The card file beside a model file: model.onnx -> model.card.json. */
export function cardPathFor(modelPath: string): string {
  return modelPath.replace(/\.onnx$/i, '') + '.card.json';
}

/** Checks the fields of a card (from a file or options); `where` names the source in errors. */
export function checkCard(card: Partial<ForeignModelCard>, where: string): void {
  if (!card || typeof card !== 'object' || Array.isArray(card)) throw new Error(`${where}: a model card must be a JSON object.`);
  for (const key of Object.keys(card)) {
    if (!CARD_KEYS.includes(key)) throw new Error(`${where}: unknown card key '${key}'. A card holds: ${CARD_KEYS.join(', ')}.`);
  }
  if (card.name !== undefined && (typeof card.name !== 'string' || card.name.length === 0)) throw new Error(`${where}: name must be a non-empty string.`);
  if (card.source !== undefined && typeof card.source !== 'string') throw new Error(`${where}: source must be a string.`);
  if (card.classes !== undefined && (!Array.isArray(card.classes) || card.classes.some((c) => typeof c !== 'string'))) throw new Error(`${where}: classes must be a list of class names.`);
  if (card.output !== undefined && card.output !== 'logits' && card.output !== 'probabilities') throw new Error(`${where}: output must be 'logits' or 'probabilities'; got ${JSON.stringify(card.output)}.`);
}

/** Reads `<model>.card.json`, or undefined when there is none. */
export function readForeignCard(modelPath: string): Partial<ForeignModelCard> | undefined {
  const path = cardPathFor(modelPath);
  if (!existsSync(path)) return undefined;
  let card: Partial<ForeignModelCard>;
  try {
    card = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path} is not valid JSON (${(err as Error).message}). Fix the card or delete it.`);
  }
  checkCard(card, path);
  return card;
}
