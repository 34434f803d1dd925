/** Learning-rate schedules, by epoch (0-based) out of `epochs`. */
export type ScheduleName = 'constant' | 'cosine' | 'step';

export const SCHEDULES: readonly ScheduleName[] = ['constant', 'cosine', 'step'];

/**
 * The learning rate for an epoch: constant; cosine from `base` to 0 over the run; or step,
 * dividing by 10 at 50% and 75% of the epochs.
 */
export function learningRateAt(schedule: ScheduleName, base: number, epoch: number, epochs: number): number {
  switch (schedule) {
    case 'constant':
      return base;
    case 'cosine':
      return (base * (1 + Math.cos((Math.PI * epoch) / Math.max(1, epochs)))) / 2;
    case 'step':
      return base * (epoch >= 0.75 * epochs ? 0.01 : epoch >= 0.5 * epochs ? 0.1 : 1);
    default:
      throw new Error(`Unknown learning-rate schedule '${String(schedule)}'. Use one of ${SCHEDULES.join(', ')}.`);
  }
}
