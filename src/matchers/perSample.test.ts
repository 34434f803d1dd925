import { describe, expect, it } from 'vitest';
import type { AttackResult } from '../attacks/types.js';
import { sampleOutcomes } from './perSample.js';

describe('per-sample outcomes', () => {
  it('list each sample and break accuracy down per class', () => {
    const result = { name: 'autoattack', predsBefore: Int32Array.from([0, 1, 1, 2]), predsAfter: Int32Array.from([0, 2, 1, 0]), linf: Float32Array.from([0, 0.03, 0, 0.03]), l2: Float32Array.from([0, 1, 0, 1]), brokenBy: [null, 'apgd-ce', 'clean', 'square'] } as unknown as AttackResult;
    const { samples, perClass } = sampleOutcomes(result, Int32Array.from([0, 1, 0, 2]), ['a', 'b', 'c', 'd']);
    expect(samples.map((s) => [s.id, s.robust, s.brokenBy])).toEqual([
      ['a', true, null],
      ['b', false, 'apgd-ce'],
      ['c', false, 'clean'],
      ['d', false, 'square'],
    ]);
    expect(perClass).toEqual([
      { label: 0, n: 2, clean: 0.5, robust: 0.5 },
      { label: 1, n: 1, clean: 1, robust: 0 },
      { label: 2, n: 1, clean: 1, robust: 0 },
    ]);
  });
});
