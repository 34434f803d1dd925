import * as tf from '@tensorflow/tfjs';
import type { Norm } from './norms.js';
import type { AttackContext } from './types.js';

/**
 * Where a context's rows lie in their chunk, when a worker attacks part of a chunk (src/workers):
 * rows `offset .. offset + n` of a chunk of `total` rows. Random draws are made for the whole
 * chunk and sliced, so an image gets the same random start however the chunk is split.
 */
export interface ChunkRows {
  offset: number;
  total: number;
}

const rowsOf = new WeakMap<AttackContext, ChunkRows>();

/** Marks `ctx` as holding part of its chunk (see {@link ChunkRows}). */
export function setChunkRows(ctx: AttackContext, rows: ChunkRows | undefined): void {
  if (rows && !(rows.offset === 0 && rows.total === ctx.x.shape[0])) rowsOf.set(ctx, rows);
}

/** Whether `ctx` holds only part of its chunk. */
export function isPartOfChunk(ctx: AttackContext): boolean {
  return rowsOf.has(ctx);
}

/**
 * `norm`'s random start for the rows of `ctx`, drawn with the chunk's seed: the same values the
 * whole chunk's draw gives these rows.
 */
export function chunkRandomStart(ctx: AttackContext, norm: Norm, eps: number): tf.Tensor4D {
  const shape = ctx.x.shape;
  const rows = rowsOf.get(ctx);
  if (!rows) return norm.randomStart(shape, eps, ctx.seed);
  return tf.tidy(() => norm.randomStart([rows.total, shape[1], shape[2], shape[3]], eps, ctx.seed).slice([rows.offset, 0, 0, 0], [shape[0], -1, -1, -1]));
}
