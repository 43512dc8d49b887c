import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { horizonCovers, horizonMatches, parseHorizon } from '../../services/core/domain/horizon.ts';

const ok = (expr: string) => {
  const r = parseHorizon(expr);
  if (!r.ok) throw new Error(r.reason);
  return r.range;
};

describe('horizon expressions', () => {
  it.each([
    ['<60000', 59_999, true],
    ['<60000', 60_000, false],
    ['<=60000', 60_000, true],
    ['>60000', 60_000, false],
    ['>=60000', 60_000, true],
    ['>=60000 & <7200000', 60_000, true],
    ['>=60000 & <7200000', 7_199_999, true],
    ['>=60000 & <7200000', 7_200_000, false],
    ['>=60000 & <7200000', 59_999, false],
    ['*', 0, true],
    ['*', 1e12, true],
    ['=500', 500, true],
    ['=500', 501, false],
    ['> 10 & <= 20', 20, true],
  ])('%s matches %d: %s', (expr, value, expected) => {
    expect(horizonMatches(ok(expr), value)).toBe(expected);
  });

  it.each(['', '<', 'abc', '<<5', '>=x', '5 &', '<10 & >20'])('rejects "%s" with a reason', (expr) => {
    const r = parseHorizon(expr);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason.length).toBeGreaterThan(5);
  });

  it('an interval a <= h < b matches exactly the values inside it (property)', () => {
    fc.assert(
      fc.property(fc.nat(1_000_000), fc.nat(1_000_000), fc.nat(2_000_000), (a, width, h) => {
        const b = a + width + 1;
        const range = ok(`>=${a} & <${b}`);
        expect(horizonMatches(range, h)).toBe(h >= a && h < b);
      }),
    );
  });

  it('a single comparison agrees with the operator it names (property)', () => {
    const ops = ['<', '<=', '>', '>='] as const;
    fc.assert(
      fc.property(fc.constantFrom(...ops), fc.nat(1_000_000), fc.nat(1_000_000), (op, n, h) => {
        const expected = op === '<' ? h < n : op === '<=' ? h <= n : op === '>' ? h > n : h >= n;
        const r = parseHorizon(`${op}${n}`);
        if (!r.ok) return op === '<' && n === 0; // "<0" matches nothing and is rejected
        expect(horizonMatches(r.range, h)).toBe(expected);
        return true;
      }),
    );
  });

  it('a range covers another exactly when every value of the inner one matches the outer (property)', () => {
    fc.assert(
      fc.property(fc.nat(100), fc.nat(100), fc.nat(100), fc.nat(100), (a, w1, c, w2) => {
        const outer = ok(`>=${a} & <${a + w1 + 1}`);
        const inner = ok(`>=${c} & <${c + w2 + 1}`);
        let all = true;
        for (let h = c; h < c + w2 + 1; h++) all &&= horizonMatches(outer, h);
        expect(horizonCovers(outer, inner)).toBe(all);
      }),
    );
  });
});
