import * as tf from '@tensorflow/tfjs';
import { checkBatch, checkClasses, readLabels } from '../data/inputs.js';
import { resolveClassifier, type Classifier, type ResolvedClassifier } from '../models/classifier.js';
import { getNorm } from './norms.js';
import { setChunkRows, type ChunkRows } from './chunkRows.js';
import { runPooledAttack, type PieceResult } from './pooling.js';
import type { Attack, AttackContext, AttackResult, AttackSpec, CommonParams, QueryCounts } from './types.js';

/** Defaults shared by every attack (see {@link CommonParams}). */
export const COMMON_DEFAULTS: CommonParams = { target: undefined, seed: 0, batchSize: 100, output: 'auto' };

function resolveTargets(name: string, target: CommonParams['target'], n: number): Int32Array | undefined {
  if (target === undefined || target === null) return undefined;
  if (typeof target === 'number') {
    if (!Number.isInteger(target)) throw new TypeError(`${name}: target must be an integer class; got ${target}.`);
    return new Int32Array(n).fill(target);
  }
  const arr = Array.from(target as ArrayLike<number>);
  if (arr.length !== n) throw new Error(`${name}: target has ${arr.length} entries for ${n} images; give one class for all or one per image.`);
  if (!arr.every(Number.isInteger)) throw new TypeError(`${name}: target classes must be integers.`);
  return Int32Array.from(arr);
}

function fillParams<P extends CommonParams>(spec: AttackSpec<P>, overrides: Partial<P> | undefined): P {
  const known = new Set(Object.keys(spec.defaults));
  for (const key of Object.keys(overrides ?? {})) {
    if (!known.has(key)) {
      throw new Error(`${spec.name}: unknown parameter '${key}'. Its parameters are: ${[...known].join(', ')}.`);
    }
  }
  const params = { ...spec.defaults } as P;
  for (const [k, v] of Object.entries(overrides ?? {})) if (v !== undefined) (params as Record<string, unknown>)[k] = v;
  if (!Number.isInteger(params.seed)) throw new TypeError(`${spec.name}: seed must be an integer; got ${String(params.seed)}.`);
  if (!Number.isInteger(params.batchSize) || params.batchSize < 1) throw new RangeError(`${spec.name}: batchSize must be a positive integer; got ${String(params.batchSize)}.`);
  return params;
}

/** One piece of a chunk for a worker thread (src/workers): rows of the chunk with its seed. */
export interface AttackPiece {
  clf: ResolvedClassifier;
  x: tf.Tensor4D;
  labels: tf.Tensor1D;
  target: tf.Tensor1D | undefined;
  labelsHost: Int32Array;
  targetHost: Int32Array | undefined;
  seed: number;
  rows: ChunkRows;
  params: CommonParams;
}

/** Each attack's chunk runner, for worker threads that attack part of a batch. */
const pieceRunners = new WeakMap<Attack<any>, (piece: AttackPiece) => Promise<PieceResult>>();

/** Runs `attack` (made by {@link defineAttack}) on one piece of a chunk, as its own `run` would on that chunk. */
export function attackPieceRunner(attack: Attack<any>): ((piece: AttackPiece) => Promise<PieceResult>) | undefined {
  return pieceRunners.get(attack);
}

/**
 * Turns an {@link AttackSpec} into an {@link Attack}. The framework does everything an attack has
 * in common, so a user-defined attack gets it too: it checks the inputs (rank, dtype, [0, 1],
 * labels against the model's classes) and the parameters (unknown keys, the spec's `resolve`),
 * splits the batch into chunks of `batchSize`, counts model calls, projects the result onto the
 * spec's budget and into [0, 1], and reports predictions, success and norms.
 *
 * @example
 * ```ts
 * const noise = defineAttack({
 *   name: 'noise',
 *   defaults: { ...COMMON_DEFAULTS, eps: 0.1 },
 *   budget: (p) => ({ norm: 'linf', eps: p.eps }),
 *   perturb: async (ctx, p) => tf.tidy(() => ctx.x.add(tf.randomUniform(ctx.x.shape, -p.eps, p.eps, 'float32', ctx.seed))),
 * });
 * const result = await noise.run(model, images, labels, { eps: 0.05 });
 * ```
 */
export function defineAttack<P extends CommonParams>(spec: AttackSpec<P>): Attack<P> {
  if (!spec || typeof spec.name !== 'string' || !spec.name) throw new TypeError('defineAttack: the spec needs a non-empty name.');
  if (typeof spec.perturb !== 'function') throw new TypeError(`defineAttack('${spec.name}'): the spec needs perturb(ctx, params).`);
  if (!spec.defaults || typeof spec.defaults !== 'object') throw new TypeError(`defineAttack('${spec.name}'): the spec needs a defaults object (spread COMMON_DEFAULTS into it).`);
  const name = spec.name;
  const defaults = Object.freeze({ ...COMMON_DEFAULTS, ...spec.defaults }) as P;
  const full: AttackSpec<P> = { ...spec, defaults };

  async function run(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, overrides?: Partial<P>): Promise<AttackResult<P>> {
    let params = fillParams(full, overrides);
    await checkBatch(name, x, y);
    params = spec.resolve ? spec.resolve(params, x) : params;
    const n = x.shape[0];
    const targets = resolveTargets(name, params.target, n);
    if (targets && spec.targeted === false) throw new Error(`${name} is an untargeted attack; leave out 'target', or use 'pgd' or 'cw' for a targeted one.`);
    const clf = await resolveClassifier(model, { output: params.output }, x);
    const labelsHost = await readLabels(y);
    checkClasses(name, 'label', labelsHost, clf.numClasses);
    if (targets) checkClasses(name, 'target', targets, clf.numClasses);
    const budget = spec.budget?.(params);
    const norm = budget ? getNorm(budget.norm) : undefined;

    // Built-in attacks on a model the worker threads can copy run there, part of the batch each
    // (src/workers/pool.ts); same chunks, same seeds, same results.
    const pooled = await runPooledAttack(self, { model, x, labelsHost, targets, params, output: clf.output });
    if (pooled) {
      const success = Array.from(pooled.predsAfter, (p, i) => (targets ? p === targets[i] : p !== pooled.predsBefore[i]));
      const result: AttackResult<P> = { name, adversarial: pooled.adversarial, predsBefore: pooled.predsBefore, predsAfter: pooled.predsAfter, success, linf: pooled.linf, l2: pooled.l2, queries: pooled.queries, params: Object.freeze({ ...params }) };
      if (targets) result.target = targets;
      return result;
    }

    const queries: QueryCounts = { forward: 0, gradient: 0 };
    const advChunks: tf.Tensor4D[] = [];
    const before: Int32Array[] = [];
    const after: Int32Array[] = [];
    const linf: Float32Array[] = [];
    const l2: Float32Array[] = [];
    try {
      for (let start = 0, chunk = 0; start < n; start += params.batchSize, chunk++) {
        const size = Math.min(params.batchSize, n - start);
        const whole = start === 0 && size === n;
        const xs = whole ? x : x.slice([start, 0, 0, 0], [size, -1, -1, -1]);
        const ys = whole ? y : y.slice([start], [size]);
        const ts = targets ? tf.tensor1d(targets.subarray(start, start + size), 'int32') : undefined;
        try {
          const res = await attackChunk(clf, xs, ys, ts, labelsHost.subarray(start, start + size), targets?.subarray(start, start + size), params.seed + chunk, queries, params, norm, budget?.eps);
          advChunks.push(res.adversarial);
          before.push(res.predsBefore);
          after.push(res.predsAfter);
          linf.push(res.linf);
          l2.push(res.l2);
        } finally {
          if (!whole) tf.dispose([xs, ys]);
          ts?.dispose();
        }
      }
    } catch (err) {
      tf.dispose(advChunks);
      throw err;
    }
    const adversarial = advChunks.length === 1 ? advChunks[0]! : (tf.concat(advChunks, 0) as tf.Tensor4D);
    if (advChunks.length > 1) tf.dispose(advChunks);
    const predsBefore = concatInt(before);
    const predsAfter = concatInt(after);
    const success = Array.from(predsAfter, (p, i) => (targets ? p === targets[i] : p !== predsBefore[i]));
    const result: AttackResult<P> = {
      name,
      adversarial,
      predsBefore,
      predsAfter,
      success,
      linf: concatFloat(linf),
      l2: concatFloat(l2),
      queries,
      params: Object.freeze({ ...params }),
    };
    if (targets) result.target = targets;
    return result;
  }

  async function attackChunk(
    clf: ResolvedClassifier,
    x: tf.Tensor4D,
    labels: tf.Tensor1D,
    target: tf.Tensor1D | undefined,
    labelsHost: Int32Array,
    targetHost: Int32Array | undefined,
    seed: number,
    queries: QueryCounts,
    params: P,
    norm: ReturnType<typeof getNorm> | undefined,
    eps: number | undefined,
    rows?: ChunkRows,
  ) {
    let inGrad = 0;
    const logits = (xb: tf.Tensor4D): tf.Tensor2D => {
      if (inGrad === 0) queries.forward += xb.shape[0];
      return clf.logits(xb);
    };
    const grad = <T extends tf.Tensor>(f: (v: T) => tf.Scalar, at: T, images?: number) => {
      queries.gradient += images ?? at.shape[0] ?? 1;
      inGrad++;
      try {
        return tf.valueAndGrad(f)(at) as { value: tf.Scalar; grad: T };
      } finally {
        inGrad--;
      }
    };
    const predsBefore = await argmaxHost(() => logits(x));
    const ctx: AttackContext = {
      classifier: clf,
      x,
      labels,
      target,
      classes: target ?? labels,
      targeted: target !== undefined,
      labelsHost,
      targetHost,
      predsBefore,
      seed,
      numClasses: clf.numClasses,
      logits,
      grad,
    };
    setChunkRows(ctx, rows);
    const raw = await spec.perturb(ctx, params);
    if (!(raw instanceof tf.Tensor) || raw.rank !== 4 || !tf.util.arraysEqual(raw.shape, x.shape)) {
      if (raw instanceof tf.Tensor && raw !== x) raw.dispose();
      throw new Error(`${name}: perturb must return a new tensor shaped like its input [${x.shape.join(', ')}].`);
    }
    // The budget holds by construction here, whatever perturb did: project, then clip to the box
    // (clipping only shrinks each coordinate's distance to x, which lies in [0, 1]).
    const adversarial = tf.tidy(() => {
      const delta = tf.sub(raw, x) as tf.Tensor4D;
      const kept = norm && eps !== undefined && Number.isFinite(eps) ? norm.project(delta, eps) : delta;
      return tf.clipByValue(tf.add(x, kept), 0, 1) as tf.Tensor4D;
    });
    if (raw !== x) raw.dispose();
    const [linfT, l2T] = tf.tidy(() => {
      const d = tf.sub(adversarial, x) as tf.Tensor4D;
      return [tf.max(tf.abs(d), [1, 2, 3]), tf.sqrt(tf.sum(tf.square(d), [1, 2, 3]))];
    });
    try {
      const predsAfter = await argmaxHost(() => logits(adversarial));
      return { adversarial, predsBefore, predsAfter, linf: new Float32Array(await linfT!.data()), l2: new Float32Array(await l2T!.data()) };
    } catch (err) {
      adversarial.dispose();
      throw err;
    } finally {
      tf.dispose([linfT!, l2T!]);
    }
  }

  const self: Attack<P> = Object.freeze({ name, defaults, run });
  pieceRunners.set(self, async (piece) => {
    const p = piece.params as P;
    const budget = spec.budget?.(p);
    const queries: QueryCounts = { forward: 0, gradient: 0 };
    const res = await attackChunk(piece.clf, piece.x, piece.labels, piece.target, piece.labelsHost, piece.targetHost, piece.seed, queries, p, budget ? getNorm(budget.norm) : undefined, budget?.eps, piece.rows);
    try {
      return { adversarial: new Float32Array(await res.adversarial.data()), predsBefore: res.predsBefore, predsAfter: res.predsAfter, linf: res.linf, l2: res.l2, queries };
    } finally {
      res.adversarial.dispose();
    }
  });
  return self;
}

async function argmaxHost(f: () => tf.Tensor2D): Promise<Int32Array> {
  const t = tf.tidy(() => f().argMax(1));
  try {
    return new Int32Array(await t.data());
  } finally {
    t.dispose();
  }
}

function concatInt(parts: Int32Array[]): Int32Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Int32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function concatFloat(parts: Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
