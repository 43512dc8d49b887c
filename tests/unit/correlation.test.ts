import { describe, expect, it } from 'vitest';
import { correlationOf, initialCorrelation, updateCorrelation } from '../../services/core/domain/correlation.ts';
import { portfolioVarPct } from '../../services/core/domain/size-position.ts';
import { seededRandom } from '../../services/feed/domain/synthetic-market.ts';

function simulate(rhoTrue: number, n: number) {
  const rand = seededRandom(42);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand());
  const s = initialCorrelation();
  let a = 100;
  let b = 50;
  for (let i = 0; i < n; i++) {
    const z1 = gauss();
    const z2 = rhoTrue * z1 + Math.sqrt(1 - rhoTrue * rhoTrue) * gauss();
    a *= Math.exp(0.001 * z1);
    b *= Math.exp(0.002 * z2);
    updateCorrelation(s, { A: a, B: b }, (i + 1) * 1_000, 0.99, 1_000);
  }
  return s;
}

describe('EWMA correlation', () => {
  it('recovers a positive and a negative correlation', () => {
    expect(correlationOf(simulate(0.8, 3_000), 'A', 'B', 20)).toBeGreaterThan(0.65);
    expect(correlationOf(simulate(-0.6, 3_000), 'A', 'B', 20)).toBeLessThan(-0.45);
  });

  it('is 1 (conservative) until enough joint samples', () => {
    expect(correlationOf(simulate(-0.9, 5), 'A', 'B', 20)).toBe(1);
    expect(correlationOf(initialCorrelation(), 'A', 'A', 20)).toBe(1);
  });

  it('samples at most once per interval', () => {
    const s = initialCorrelation();
    expect(updateCorrelation(s, { A: 1 }, 1_000, 0.9, 1_000)).toBe(true);
    expect(updateCorrelation(s, { A: 2 }, 1_500, 0.9, 1_000)).toBe(false);
    expect(updateCorrelation(s, { A: 2 }, 2_000, 0.9, 1_000)).toBe(true);
  });

  it('diversifies portfolio VaR of a long and a short on correlated assets', () => {
    const s = simulate(0.8, 3_000);
    const rho = correlationOf(s, 'A', 'B', 20);
    const hedged = portfolioVarPct([1, -1], () => rho);
    expect(hedged).toBeLessThan(1);
    expect(portfolioVarPct([1, 1], () => rho)).toBeGreaterThan(1.8);
  });
});
