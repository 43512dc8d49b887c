import { describe, expect, it } from 'vitest';
import { dailyVolOf, initialVol, isVolStale, updateVol, volFromPrices } from '../../services/core/domain/volatility.ts';
import { seededRandom } from '../../services/feed/domain/synthetic-market.ts';

describe('EWMA volatility', () => {
  it('starts at the configured daily volatility', () => {
    expect(dailyVolOf(initialVol(3, 86_400), 86_400)).toBeCloseTo(0.03, 12);
  });

  it('updates as λσ² + (1−λ) r²/Δt (hand-computed)', () => {
    const s = initialVol(0, 86_400);
    updateVol(s, 100, 0, 0.5);
    updateVol(s, 100 * Math.exp(0.01), 1_000, 0.5);
    expect(s.variancePerSec).toBeCloseTo(0.5 * 0.0001, 15);
  });

  it('ignores out-of-order timestamps and non-positive prices', () => {
    const s = initialVol(3, 86_400);
    updateVol(s, 100, 10_000, 0.94);
    const before = s.variancePerSec;
    updateVol(s, 120, 5_000, 0.94);
    updateVol(s, -1, 20_000, 0.94);
    expect(s.variancePerSec).toBe(before);
  });

  it('recovers a known volatility from simulated prices', () => {
    const rand = seededRandom(7);
    const gauss = () => Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand());
    const sigmaPerSec = 0.02 / Math.sqrt(86_400);
    let price = 100;
    const prices = [];
    for (let i = 0; i < 20_000; i++) {
      price *= Math.exp(sigmaPerSec * gauss());
      prices.push({ price, ts: i * 1_000 });
    }
    const s = volFromPrices(prices, 0.999, 5, 86_400);
    expect(dailyVolOf(s, 86_400)).toBeGreaterThan(0.017);
    expect(dailyVolOf(s, 86_400)).toBeLessThan(0.023);
  });

  it('flags a stale estimate', () => {
    const s = initialVol(3, 86_400);
    expect(isVolStale(s, 1_000, 60_000)).toBe(true);
    updateVol(s, 100, 1_000, 0.94);
    expect(isVolStale(s, 30_000, 60_000)).toBe(false);
    expect(isVolStale(s, 70_000, 60_000)).toBe(true);
  });
});
