import * as tf from '@tensorflow/tfjs';

/**
 * Keeps tfjs's "looks like you are running TensorFlow.js in Node.js" banner from printing. The cpu
 * backend prints it on its first tensor write; the harness names its backend in its own line (and
 * the README explains the native packages), so the banner only repeats that as noise. Only this
 * banner is silenced: tfjs's other warnings still print (enableProdMode would hide them all).
 */
export function silenceNodeBanner(): void {
  // findBackend instantiates the registered cpu backend if it is not yet; that is cheap.
  const cpu = tf.findBackend('cpu') as { firstUse?: boolean } | null;
  if (cpu && 'firstUse' in cpu) cpu.firstUse = false;
}
