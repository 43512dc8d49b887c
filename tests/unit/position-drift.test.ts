import { describe, expect, it } from 'vitest';
import { checkDrift, sameDifference } from '../../services/executor/domain/position-drift.ts';

describe('position drift against the venue', () => {
  it('is a share of the larger notional, 0 without a price', () => {
    expect(checkDrift(1, 1, 100, 0.5, undefined)).toEqual({ driftPct: 0, diff: 0, verdict: 'ok' });
    expect(checkDrift(0, 0.3, 65_000, 0.5, undefined).driftPct).toBeCloseTo(100, 9);
    expect(checkDrift(1, 0.99, 100, 0.5, undefined).driftPct).toBeCloseTo(1, 9);
    expect(checkDrift(0, 5, 0, 0.5, undefined).verdict).toBe('ok');
  });

  it('a difference under half a lot is rounding dust, not drift (it read 100 % of a dust notional)', () => {
    expect(checkDrift(0, 2.073e-14, 190, 0.5, undefined, 1)).toEqual({ driftPct: 0, diff: 0, verdict: 'ok' });
    expect(checkDrift(0, 8e-17, 65_000, 0.5, 8e-17, 0.0001)).toEqual({ driftPct: 0, diff: 0, verdict: 'ok' });
    expect(checkDrift(0, 8e-17, 65_000, 0.5, undefined)).toMatchObject({ verdict: 'ok' }); // no lot known: 1e-12 units
    expect(checkDrift(0, 0.0001, 65_000, 0.5, undefined, 0.0001)).toMatchObject({ verdict: 'suspect', driftPct: 100 });
  });

  it('within the limit is ok whatever came before', () => {
    expect(checkDrift(1, 0.996, 100, 0.5, -0.004).verdict).toBe('ok');
  });

  it('above the limit: suspect the first time, confirmed when the next reconciliation finds the same difference', () => {
    const first = checkDrift(0.7, 1.0, 65_000, 0.5, undefined);
    expect(first).toMatchObject({ verdict: 'suspect' });
    expect(first.diff).toBeCloseTo(0.3, 12);
    expect(checkDrift(0.7, 1.0, 65_000, 0.5, first.diff).verdict).toBe('confirmed');
    // The same lost 0.3 while the book moved on: still the same difference.
    expect(checkDrift(1.2, 1.5, 65_000, 0.5, first.diff).verdict).toBe('confirmed');
  });

  it('a difference that changes between reconciliations (fills in flight) is never confirmed', () => {
    let prev: number | undefined;
    const seen: string[] = [];
    // The OMS trails the venue by whatever the last burst of fills was.
    for (const [oms, venue] of [
      [0, 0.1],
      [0.1, 0.3],
      [0.3, 0.35],
      [0.35, 0.6],
    ] as const) {
      const c = checkDrift(oms, venue, 65_000, 0.5, prev);
      seen.push(c.verdict);
      prev = c.verdict === 'ok' ? undefined : c.diff;
    }
    expect(seen).toEqual(['suspect', 'suspect', 'suspect', 'suspect']);
  });

  it('sameDifference tolerates rounding, not a different quantity', () => {
    expect(sameDifference(0.3, 0.30000000000000004)).toBe(true);
    expect(sameDifference(0, 1e-12)).toBe(true);
    expect(sameDifference(0.3, 0.31)).toBe(false);
    expect(sameDifference(0.3, -0.3)).toBe(false);
  });
});
