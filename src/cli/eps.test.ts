import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseEpsList } from './eps.js';

describe('parseEpsList', () => {
  it('reads decimals, k/255 fractions and comma lists in order', () => {
    expect(parseEpsList('2/255,4/255, 8/255').map((e) => e.value)).toEqual([2 / 255, 4 / 255, 8 / 255]);
    expect(parseEpsList('0.031')).toEqual([{ value: 0.031, text: '0.031' }]);
  });

  it('round-trips any list of integer fractions k/255', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 255 }), { minLength: 1, maxLength: 6 }), (ks) => {
        expect(parseEpsList(ks.map((k) => `${k}/255`).join(',')).map((e) => e.value)).toEqual(ks.map((k) => k / 255));
      }),
    );
  });

  it('names the entry that is wrong', () => {
    expect(() => parseEpsList('8/255,abc')).toThrow(/--eps must be .*got 'abc'/);
    expect(() => parseEpsList('1/0')).toThrow(/got '1\/0'/);
    expect(() => parseEpsList('0')).toThrow(/got '0'/);
    expect(() => parseEpsList('2/255,2')).toThrow(/--eps must be a number in \(0, 1\].*got '2'/);
    expect(() => parseEpsList('2/255,,4/255')).toThrow(/empty entry/);
    expect(() => parseEpsList('2/255,2/255')).toThrow(/given twice/);
    expect(() => parseEpsList('1/2/3')).toThrow(/got '1\/2\/3'/);
  });
});
