import { join } from 'node:path';
import type { AttackResult } from '../attacks/types.js';
import { writeFileAtomic } from '../util/atomic.js';
import { artefactDir, rel, type MatcherThis } from './shared.js';
import { fileSafe } from './callCounter.js';

/** One sample's outcome under an attack, as written beside the report. */
export interface SampleOutcome {
  id: string;
  label: number;
  before: number;
  after: number;
  /** Correct after the attack. */
  robust: boolean;
  linf: number;
  l2: number;
  /** For an ensemble: the attack that broke it ('clean' when wrong before any attack), null when none did. */
  brokenBy?: string | null;
}

/** Per sample outcomes of an attack result, and per class: n, clean and robust accuracy. */
export function sampleOutcomes(result: AttackResult<any>, labels: Int32Array, ids: readonly string[]): { samples: SampleOutcome[]; perClass: { label: number; n: number; clean: number; robust: number }[] } {
  const brokenBy = (result as { brokenBy?: (string | null)[] }).brokenBy;
  const samples = Array.from(labels, (label, i) => ({
    id: ids[i] ?? String(i),
    label,
    before: result.predsBefore[i]!,
    after: result.predsAfter[i]!,
    robust: result.predsAfter[i] === label,
    linf: Number(result.linf[i]!.toPrecision(6)),
    l2: Number(result.l2[i]!.toPrecision(6)),
    ...(brokenBy ? { brokenBy: brokenBy[i] ?? null } : {}),
  }));
  const classes = [...new Set(labels)].sort((a, b) => a - b);
  const perClass = classes.map((c) => {
    const mine = samples.filter((s) => s.label === c);
    return { label: c, n: mine.length, clean: mine.filter((s) => s.before === c).length / mine.length, robust: mine.filter((s) => s.robust).length / mine.length };
  });
  return { samples, perClass };
}

/**
 * Writes the per-sample outcomes of a check as reports/samples/<spec>/<test>/<model>-<call>/<attack>-<eps>.json (atomic)
 * and returns its path (the record's `samples`) and the per-class breakdown (the record's `perClass`).
 */
export function writeSampleOutcomes(ctx: MatcherThis, model: unknown, result: AttackResult<any>, labels: Int32Array, ids: readonly string[], eps: number): { path: string; perClass: ReturnType<typeof sampleOutcomes>['perClass'] } {
  const { dir } = artefactDir('samples', ctx, model);
  const file = join(dir, `${result.name}-${Number(eps.toPrecision(4))}.json`);
  const { samples, perClass } = sampleOutcomes(result, labels, ids);
  writeFileAtomic(file, `${JSON.stringify({ attack: result.name, eps, n: samples.length, perClass, samples }, null, 1)}\n`);
  return { path: rel(file), perClass };
}

/**
 * Writes a robustness curve's per-sample outcomes (correct after the attack at each budget) with
 * a per-class robust accuracy at each budget as
 * reports/samples/<spec>/<test>/<model>-<call>/<attack>-curve.json (atomic); returns its path for the record's `samples`.
 */
export function writeCurveOutcomes(ctx: MatcherThis, model: unknown, curve: { attack: string; points: readonly { eps: number }[]; correct: readonly (readonly boolean[])[]; reused?: boolean }, labels: Int32Array, ids: readonly string[]): string {
  const { dir } = artefactDir('samples', ctx, model);
  const file = join(dir, `${curve.attack}-curve.json`);
  const eps = curve.points.map((p) => p.eps);
  const samples = Array.from(labels, (label, i) => ({ id: ids[i] ?? String(i), label, robust: curve.correct.map((row) => row[i]!) }));
  const classes = [...new Set(labels)].sort((a, b) => a - b);
  const perClass = classes.map((c) => {
    const mine = samples.filter((s) => s.label === c);
    return { label: c, n: mine.length, robust: eps.map((_, k) => mine.filter((s) => s.robust[k]).length / mine.length) };
  });
  writeFileAtomic(file, `${JSON.stringify({ attack: curve.attack, eps, reused: curve.reused ?? false, n: samples.length, perClass, samples }, null, 1)}\n`);
  return rel(file);
}

/** One model's outcome on one sample in a comparison. */
interface ModelOutcome {
  before: number;
  after: number;
  robust: boolean;
}

/** Per class of a comparison: n, and each model's clean and robust accuracy. */
export interface ComparisonClass {
  label: number;
  n: number;
  candidate: { clean: number; robust: number };
  baseline: { clean: number; robust: number };
}

/**
 * Writes the per-sample outcomes of a two-model comparison (each model's prediction before and
 * after the attack, and which of them stayed correct) with a per-class breakdown as
 * reports/samples/<spec>/<test>/<candidate>-<call>/<attack>-<eps>-vs-<baseline>.json (atomic);
 * returns its path and the per-class breakdown for the record.
 */
export function writeComparisonOutcomes(
  ctx: MatcherThis,
  candidate: unknown,
  what: { attack: string; eps: number; candidate: string; baseline: string },
  labels: Int32Array,
  ids: readonly string[],
  c: { predsBefore: ArrayLike<number>; predsAfter: ArrayLike<number> },
  b: { predsBefore: ArrayLike<number>; predsAfter: ArrayLike<number> },
): { path: string; perClass: ComparisonClass[] } {
  const { dir } = artefactDir('samples', ctx, candidate);
  const file = join(dir, `${what.attack}-${Number(what.eps.toPrecision(4))}-vs-${fileSafe(what.baseline, 'baseline')}.json`);
  const side = (p: typeof c, i: number, label: number): ModelOutcome => ({ before: p.predsBefore[i]!, after: p.predsAfter[i]!, robust: p.predsAfter[i] === label });
  const samples = Array.from(labels, (label, i) => {
    const [mc, mb] = [side(c, i, label), side(b, i, label)];
    const stayedCorrect = mc.robust ? (mb.robust ? 'both' : 'candidate') : mb.robust ? 'baseline' : 'neither';
    return { id: ids[i] ?? String(i), label, candidate: mc, baseline: mb, stayedCorrect };
  });
  const classes = [...new Set(labels)].sort((x, y) => x - y);
  const share = (xs: readonly boolean[]) => xs.filter(Boolean).length / xs.length;
  const perClass = classes.map((k) => {
    const mine = samples.filter((s) => s.label === k);
    return {
      label: k,
      n: mine.length,
      candidate: { clean: share(mine.map((s) => s.candidate.before === k)), robust: share(mine.map((s) => s.candidate.robust)) },
      baseline: { clean: share(mine.map((s) => s.baseline.before === k)), robust: share(mine.map((s) => s.baseline.robust)) },
    };
  });
  writeFileAtomic(file, `${JSON.stringify({ attack: what.attack, eps: what.eps, candidate: what.candidate, baseline: what.baseline, n: samples.length, perClass, samples }, null, 1)}\n`);
  return { path: rel(file), perClass };
}
