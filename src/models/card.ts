import type { ResolvedModelSpec } from './build.js';

/** What a trained model says about itself (card.json beside model.json). */
export interface ModelCard {
  /** Directory name, e.g. resnet20-elasticnet. */
  name: string;
  spec: ResolvedModelSpec;
  output: 'logits' | 'probabilities';
  /** L1 penalty on a layer's activations during training (the Fig. 1 experiment). */
  activityL1?: { layer: string; lambda: number } | null;
  training: {
    epochs: number;
    batchSize: number;
    optimizer: string;
    learningRate: number;
    schedule: string;
    augmentation: string;
    seed: number;
    trainImages: number;
    validationImages: number;
    seconds: number;
    imagesPerSecond: number;
    backend: string;
    /** When the model was fine-tuned on adversarial examples, how. */
    adversarial?: Record<string, unknown>;
    /**
     * When the model is another one trained further (`continueFrom`): the first
     * `epochs` records of its history are that model's.
     */
    continuedFrom?: { model: string; epochs: number; cleanAccuracy?: { value: number; n: number } };
  };
  data: { name: string; caveat: string };
  /** Clean accuracy on the test split, with the number of images. */
  cleanAccuracy?: { value: number; n: number };
  /**
   * Set when the weights are stored as float16 (the paper workbench's `compact` command): cleanAccuracy is then
   * measured on the stored weights, and float32CleanAccuracy is what the model had before.
   */
  weights?: { dtype: 'float16'; float32CleanAccuracy?: { value: number; n: number } };
  parameters: number;
  createdAt: string;
}

/** The epochs a card records, naming the model a continued one started from: "18 (10 as resnet20-base, then 8)". */
export function epochsText(card: ModelCard): string {
  const t = card.training;
  return t.continuedFrom ? `${t.epochs} (${t.continuedFrom.epochs} as ${t.continuedFrom.model}, then ${t.epochs - t.continuedFrom.epochs})` : String(t.epochs);
}
