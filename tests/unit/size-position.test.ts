import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assessSymbol, initialRiskState, kellyInEffect } from '../../services/risk-harmoniser/domain/assess-symbol.ts';
import { btcSignal, projectRiskConfig } from '../support/risk.ts';
import { portfolioVarPct, portfolioVarRoomPct, positionVarPct, sizePosition, Z_95, type SizingInput } from '../../services/core/domain/size-position.ts';

const BASE: SizingInput = {
  edgeBps: 1,
  dailyVol: 0.02,
  horizonMs: 86_400_000, // one day: σ²ₕ = σ²
  price: 100,
  portfolioUsd: 1_000_000,
  kellyFraction: 0.5,
  maxLeverage: 10,
  maxPositionPct: 1,
  varTargetPct: 100,
};

describe('position sizing (hand-computed vectors)', () => {
  it('is fractional Kelly μ/σ² when no cap binds', () => {
    // μ = 1e-4, σ² = 4e-4 → f* = 0.25 ; × 0.5 = 0.125 → 125,000 USD
    const r = sizePosition(BASE);
    expect(r.targetUsd).toBeCloseTo(125_000, 6);
    expect(r.targetQty).toBeCloseTo(1_250, 6);
    expect(r.caps).toEqual([]);
  });

  it('scales the variance with the horizon', () => {
    const r = sizePosition({ ...BASE, horizonMs: 86_400_000 / 4, maxLeverage: 100 });
    expect(r.uncappedUsd).toBeCloseTo(500_000, 6);
  });

  it('reports max_position_pct when it binds', () => {
    const r = sizePosition({ ...BASE, maxPositionPct: 0.1 });
    expect(r.targetUsd).toBeCloseTo(100_000, 6);
    expect(r.caps.map((c) => c.cap)).toEqual(['max_position_pct']);
  });

  it('reports the VaR target when it binds, with a negative edge giving a short', () => {
    // VaR cap: 1 % · 1e6 / (1.645 · 0.02) = 303,960 ; uncapped −1.25e6
    const r = sizePosition({ ...BASE, edgeBps: -10, varTargetPct: 1 });
    expect(r.targetUsd).toBeCloseTo(-(0.01 * 1_000_000) / (Z_95 * 0.02), 6);
    expect(r.caps.map((c) => c.cap)).toEqual(['var_target']);
    expect(positionVarPct(r.targetUsd, 0.02, 1_000_000)).toBeCloseTo(1, 9);
  });

  it('gives zero for degenerate inputs', () => {
    for (const bad of [{ dailyVol: 0 }, { price: 0 }, { edgeBps: Number.NaN }, { dailyVol: Number.POSITIVE_INFINITY }, { kellyFraction: 0 }, { edgeBps: 0 }]) {
      expect(sizePosition({ ...BASE, ...bad }).targetUsd).toBe(0);
    }
  });

  it('portfolio VaR with full correlation adds, with none it is the root sum of squares', () => {
    expect(portfolioVarPct([1, 2], () => 1)).toBeCloseTo(3, 12);
    expect(portfolioVarPct([3, 4], () => 0)).toBeCloseTo(5, 12);
    expect(portfolioVarPct([1, -1], () => 1)).toBeCloseTo(0, 12);
  });
});

describe('position sizing (properties)', () => {
  const input = fc.record({
    edgeBps: fc.double({ min: -10_000, max: 10_000, noNaN: true }),
    dailyVol: fc.double({ min: 1e-4, max: 2, noNaN: true }),
    horizonMs: fc.double({ min: 1, max: 1e9, noNaN: true }),
    price: fc.double({ min: 1e-3, max: 1e6, noNaN: true }),
    portfolioUsd: fc.double({ min: 1, max: 1e10, noNaN: true }),
    kellyFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    maxLeverage: fc.double({ min: 0, max: 10, noNaN: true }),
    maxPositionPct: fc.double({ min: 0, max: 1, noNaN: true }),
    varTargetPct: fc.double({ min: 0, max: 10, noNaN: true }),
  });

  it('no size ever exceeds a cap', () => {
    fc.assert(
      fc.property(input, (x) => {
        const r = sizePosition(x);
        const abs = Math.abs(r.targetUsd);
        const tol = 1e-9 * x.portfolioUsd;
        expect(abs).toBeLessThanOrEqual(x.maxPositionPct * x.portfolioUsd + tol);
        expect(abs).toBeLessThanOrEqual(x.maxLeverage * x.portfolioUsd + tol);
        expect(positionVarPct(r.targetUsd, x.dailyVol, x.portfolioUsd)).toBeLessThanOrEqual(x.varTargetPct + 1e-9);
      }),
    );
  });

  it('NaN or infinite inputs never produce a non-zero size', () => {
    const poison = fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY);
    const field = fc.constantFrom<keyof SizingInput>('edgeBps', 'dailyVol', 'horizonMs', 'price', 'portfolioUsd', 'kellyFraction', 'maxLeverage', 'maxPositionPct', 'varTargetPct');
    fc.assert(
      fc.property(input, field, poison, (x, f, v) => {
        expect(sizePosition({ ...x, [f]: v }).targetUsd).toBe(0);
      }),
    );
  });

  it('the sign of the target follows the sign of the edge', () => {
    fc.assert(
      fc.property(input, (x) => {
        const r = sizePosition(x);
        if (r.targetUsd !== 0) expect(Math.sign(r.targetUsd)).toBe(Math.sign(x.edgeBps));
      }),
    );
  });
});

describe('room under the portfolio VaR limit (hand-computed)', () => {
  const one = () => 1;
  const zero = () => 0;
  it('an empty book leaves the whole limit in both directions', () => {
    expect(portfolioVarRoomPct(1, [], one, one, 2)).toBeCloseTo(2, 12);
    expect(portfolioVarRoomPct(-1, [], one, one, 2)).toBeCloseTo(2, 12);
  });
  it('ρ = 1: the same direction gets what is left, the opposite one can offset', () => {
    // a long of 1.5 %: another long up to 0.5 %, a short up to 3.5 % (|t − 1.5| ≤ 2)
    expect(portfolioVarRoomPct(1, [1.5], one, one, 2)).toBeCloseTo(0.5, 12);
    expect(portfolioVarRoomPct(-1, [1.5], one, one, 2)).toBeCloseTo(3.5, 12);
  });
  it('ρ = 0: √(L² − R²) either way', () => {
    expect(portfolioVarRoomPct(1, [1.2], zero, zero, 2)).toBeCloseTo(1.6, 12);
    expect(portfolioVarRoomPct(-1, [1.2], zero, zero, 2)).toBeCloseTo(1.6, 12);
  });
  it('a book already over the limit: nothing more in its direction, a hedge up to where it is back at the limit', () => {
    expect(portfolioVarRoomPct(1, [3], one, one, 2)).toBe(0);
    expect(portfolioVarRoomPct(-1, [3], one, one, 2)).toBeCloseTo(5, 12);
    expect(portfolioVarRoomPct(1, [3], zero, zero, 2)).toBe(0); // uncorrelated: no position brings it down
  });
  it('sizing honours the room of its direction and names the cap', () => {
    const x = { ...BASE, edgeBps: 10, varTargetPct: 1.5 };
    const long = sizePosition({ ...x, varRoomPct: { long: 0.5, short: 3.5 } });
    expect(positionVarPct(long.targetUsd, x.dailyVol, x.portfolioUsd)).toBeCloseTo(0.5, 9);
    expect(long.caps.map((c) => c.cap)).toEqual(['portfolio_var_budget']);
    const short = sizePosition({ ...x, edgeBps: -10, varRoomPct: { long: 0.5, short: 3.5 } });
    expect(positionVarPct(short.targetUsd, x.dailyVol, x.portfolioUsd)).toBeCloseTo(1.5, 9);
    expect(short.caps.map((c) => c.cap)).toEqual(['var_target']);
    expect(sizePosition({ ...x, varRoomPct: { long: Number.NaN, short: 1 } }).targetUsd).toBe(0);
  });
});

describe('room under the portfolio VaR limit (properties)', () => {
  // Equicorrelation c ∈ [0, 1] is a valid correlation matrix for any number of positions.
  const book = fc.record({
    others: fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { maxLength: 5 }),
    rho: fc.double({ min: 0, max: 1, noNaN: true }),
    limit: fc.double({ min: 0.1, max: 5, noNaN: true }),
    sign: fc.constantFrom<1 | -1>(1, -1),
  });
  const pv = (vars: number[], rho: number) => portfolioVarPct(vars, () => rho);

  it('taking the room never ends above the limit or above where the book was; a little more ends above the limit', () => {
    fc.assert(
      fc.property(book, ({ others, rho, limit, sign }) => {
        const room = portfolioVarRoomPct(
          sign,
          others,
          () => rho,
          () => rho,
          limit,
        );
        expect(room).toBeGreaterThanOrEqual(0);
        const before = pv(others, rho);
        expect(pv([...others, sign * room], rho)).toBeLessThanOrEqual(Math.max(limit, before) + 1e-9);
        expect(pv([...others, sign * (room + 1e-3 * (1 + room))], rho)).toBeGreaterThan(limit);
      }),
    );
  });
});

describe('emergency reduce', () => {
  it('shrinks a capped position by in-effect / configured Kelly, where lowering the bet alone would not move it', () => {
    const cfg = projectRiskConfig();
    const now = Date.now();
    const signal = btcSignal(now, [{ model: 'obi', edge_bps: 40, confidence: 0.9 }]);
    const normal = assessSymbol(initialRiskState(cfg), [signal], cfg, kellyInEffect(cfg, null, 0), now);
    const reduced = assessSymbol(initialRiskState(cfg), [signal], cfg, kellyInEffect(cfg, { kellyFraction: 0.1, reason: 'VaR breach' }, 0), now);
    const guarded = assessSymbol(initialRiskState(cfg), [signal], cfg, kellyInEffect(cfg, null, 1.9), now);
    expect(normal.sizing.caps.length).toBeGreaterThan(0); // a cap binds, not the Kelly bet
    expect(normal.sizing.targetUsd).toBeGreaterThan(0);
    expect(reduced.sizing.targetUsd / normal.sizing.targetUsd).toBeCloseTo(0.1 / cfg.position_sizing.kelly_fraction, 6);
    expect(reduced.varPct / normal.varPct).toBeCloseTo(0.4, 6);
    expect(guarded.sizing.targetUsd).toBeCloseTo(reduced.sizing.targetUsd, 6); // the VaR guard's emergency fraction is 0.10 too
    expect(reduced.reasons.join(' ')).toContain('caps × 0.4');
  });
});
