import * as tf from '@tensorflow/tfjs';

interface Spec {
  name: string;
  shape: number[];
  dtype: tf.DataType;
}

/** The optimizer's slots (Adam moments, iteration count) as two files, so resume continues the same run. */
/**
 * @param rename - engine variable name to the name to record (a layer weight's `originalName`:
 * the engine adds a suffix such as `_1` when a process holds two models with the same layer names)
 */
export async function serializeOptimizer(opt: tf.Optimizer, rename?: ReadonlyMap<string, string>): Promise<{ json: string; bin: Uint8Array }> {
  const named = await opt.getWeights();
  const specs: Spec[] = [];
  const parts: Uint8Array[] = [];
  for (const { name, tensor } of named) {
    const data = await tensor.data();
    const cut = name.lastIndexOf('/');
    const renamed = cut > 0 ? rename?.get(name.slice(0, cut)) : undefined;
    specs.push({ name: renamed ? `${renamed}${name.slice(cut)}` : name, shape: tensor.shape, dtype: tensor.dtype });
    parts.push(new Uint8Array(Float32Array.from(data as ArrayLike<number>).buffer));
  }
  // getWeights makes a fresh scalar for the iteration count; the moments are the optimizer's own.
  for (const { name, tensor } of named) if (name === 'iter') tensor.dispose();
  return { json: JSON.stringify({ className: opt.getClassName(), weights: specs }), bin: Buffer.concat(parts) };
}

/**
 * Puts a checkpoint's optimizer slots back. tfjs optimizers keep their slots (Adam's m and v) by
 * position in the list of variables they train, not by name, and a model loaded from model.json
 * can list its variables in another order than the freshly built model that wrote the checkpoint
 * (ResNet's shortcut convolutions move), so the slots are matched to `variables` by name.
 *
 * @param variables - the names (as given to {@link serializeOptimizer}'s `rename`) of the variables
 * the optimizer will train, in the order it trains them
 */
export async function restoreOptimizer(opt: tf.Optimizer, json: string, bin: Uint8Array, variables?: readonly string[]): Promise<void> {
  const parsed = JSON.parse(json) as { className: string; weights: Spec[] };
  const className = parsed.className;
  const weights = variables ? reorderSlots(parsed.weights, variables) : parsed.weights;
  if (className !== opt.getClassName()) throw new Error(`The checkpoint's optimizer is ${className}, but this run uses ${opt.getClassName()}; resume with the same --optimizer.`);
  const floats = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
  // Where each spec's values start in optimizer.bin (written in the checkpoint's own order).
  const offsets = new Map<Spec, number>();
  let off = 0;
  for (const s of parsed.weights) {
    offsets.set(s, off);
    off += s.shape.reduce((a, b) => a * b, 1);
  }
  const named = weights.map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const at = offsets.get(s)!;
    const t = tf.tensor(floats.subarray(at, at + n), s.shape, 'float32');
    if (s.dtype === 'float32') return { name: s.name, tensor: t };
    const cast = t.cast(s.dtype);
    t.dispose();
    return { name: s.name, tensor: cast };
  });
  if (off !== floats.length) throw new Error(`optimizer.bin holds ${floats.length} values but optimizer.json describes ${off}; the checkpoint is damaged.`);
  await opt.setWeights(named);
  // setWeights makes variables of its own from these (sharing data, counted), so ours can go.
  tf.dispose(named.map((w) => w.tensor));
}

/**
 * The checkpoint's slot list with each slot group (e.g. every '<variable>/m', then every
 * '<variable>/v') in the order of `variables`; entries that belong to no variable (Adam's 'iter')
 * keep their place in front.
 */
function reorderSlots(weights: Spec[], variables: readonly string[]): Spec[] {
  const known = new Set(variables);
  const owner = (name: string) => {
    const cut = name.lastIndexOf('/');
    return cut > 0 && known.has(name.slice(0, cut)) ? { variable: name.slice(0, cut), slot: name.slice(cut + 1) } : undefined;
  };
  const head = weights.filter((w) => !owner(w.name));
  const groups = new Map<string, Map<string, Spec>>();
  for (const w of weights) {
    const o = owner(w.name);
    if (!o) continue;
    if (!groups.has(o.slot)) groups.set(o.slot, new Map());
    groups.get(o.slot)!.set(o.variable, w);
  }
  const out = [...head];
  for (const [slot, byVariable] of groups) {
    const missing = variables.filter((v) => !byVariable.has(v));
    if (missing.length || byVariable.size !== variables.length) {
      throw new Error(`optimizer.json has no '${slot}' slot for ${missing.slice(0, 3).join(', ') || 'some variables'}${missing.length > 3 ? ` and ${missing.length - 3} more` : ''}: the checkpoint was written for another model. Start without --resume, or resume into the folder it came from.`);
    }
    out.push(...variables.map((v) => byVariable.get(v)!));
  }
  return out;
}
