import { describe, expect, it } from 'vitest';
import { inMarketHours } from '../../services/core/domain/market-hours.ts';
import { parseTickCsv } from '../../services/feed/domain/csv-ticks.ts';
import { SyntheticMarket } from '../../services/feed/domain/synthetic-market.ts';
import { meanReversionAlpha, momentumAlpha, obiAlpha, volBreakoutAlpha } from '../../services/strategist/domain/alpha-models.ts';
import { horizonFor, initialFeatures, updateFeatures, WARMUP_TICKS } from '../../services/strategist/domain/features.ts';

describe('synthetic market', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = new SyntheticMarket({ seed: 1 });
    const b = new SyntheticMarket({ seed: 1 });
    const c = new SyntheticMarket({ seed: 2 });
    const ta = Array.from({ length: 50 }, (_, i) => a.next(i));
    expect(Array.from({ length: 50 }, (_, i) => b.next(i))).toEqual(ta);
    expect(Array.from({ length: 50 }, (_, i) => c.next(i))).not.toEqual(ta);
  });

  it('produces valid books for every symbol, round-robin', () => {
    const m = new SyntheticMarket({ seed: 3 });
    const symbols = new Set<string>();
    for (let i = 0; i < 3_000; i++) {
      const t = m.next(i);
      symbols.add(t.symbol);
      expect(t.ask).toBeGreaterThan(t.bid);
      expect(t.bid).toBeGreaterThan(0);
      expect(t.bid_size).toBeGreaterThan(0);
    }
    expect([...symbols].sort()).toEqual(['AAPL', 'BTC-USD', 'ETH-USD']);
  });
});

describe('CSV replay', () => {
  it('parses rows in any column order and reports bad rows by line', () => {
    const r = parseTickCsv('ts,symbol,bid,ask,bid_size,ask_size,last,volume\n1,BTC-USD,10,11,1,2,10.5,3\n2,BTC-USD,x,11,1,2,10.5,3\n');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.rows[0]).toMatchObject({ ok: true, tick: { symbol: 'BTC-USD', ts: 1, bid: 10 } });
    expect(r.rows[1]).toEqual({ ok: false, line: 3, reason: 'not a number: bid' });
  });

  it('refuses a header without the required columns', () => {
    expect(parseTickCsv('symbol,ts\n')).toEqual({ ok: false, reason: 'CSV header line 1 lacks column(s): bid, ask, bid_size, ask_size, last, volume' });
  });
});

describe('features and alpha models', () => {
  const tick = (ts: number, mid: number, bidSize = 1, askSize = 1) => ({ ts, bid: mid - 0.5, ask: mid + 0.5, bid_size: bidSize, ask_size: askSize });

  it('every model is silent before warm-up', () => {
    const f = initialFeatures();
    for (let i = 0; i < WARMUP_TICKS - 1; i++) updateFeatures(f, tick(i, 100 + i));
    for (const alpha of [obiAlpha, momentumAlpha, meanReversionAlpha, volBreakoutAlpha]) expect(alpha(f).confidence).toBe(0);
  });

  it('momentum is long in an up-trend and mean reversion is short after a run-up', () => {
    const f = initialFeatures();
    for (let i = 0; i < 200; i++) updateFeatures(f, tick(i, 100 * Math.exp(0.0005 * i + (i % 2 ? 0.0002 : -0.0002))));
    expect(momentumAlpha(f).edgeBps).toBeGreaterThan(0);
    expect(meanReversionAlpha(f).edgeBps).toBeLessThan(0);
  });

  it('order-book imbalance leans toward the heavier side', () => {
    const f = initialFeatures();
    for (let i = 0; i < 50; i++) updateFeatures(f, tick(i, 100, 9, 1));
    const o = obiAlpha(f);
    expect(o.edgeBps).toBeGreaterThan(0);
    expect(o.confidence).toBeGreaterThan(0.8);
  });

  it('volatility breakout fires on a jump beyond 2σ and follows its direction', () => {
    const f = initialFeatures();
    for (let i = 0; i < 100; i++) updateFeatures(f, tick(i, 100 + (i % 2) * 0.01));
    updateFeatures(f, tick(101, 101));
    const v = volBreakoutAlpha(f);
    expect(v.edgeBps).toBeGreaterThan(0);
    expect(v.confidence).toBeGreaterThan(0);
  });

  it('a calmer market gets a longer horizon than a stressed one', () => {
    const calm = initialFeatures();
    const stressed = initialFeatures();
    for (let i = 0; i < 500; i++) {
      updateFeatures(calm, tick(i, 100 + (i % 2) * (i < 400 ? 0.2 : 0.02)));
      updateFeatures(stressed, tick(i, 100 + (i % 2) * (i < 400 ? 0.02 : 0.2)));
    }
    expect(horizonFor(calm, 30_000)).toBeGreaterThan(30_000);
    expect(horizonFor(stressed, 30_000)).toBeLessThan(30_000);
  });
});

describe('market hours', () => {
  it('knows market hours', () => {
    const monday1500 = Date.UTC(2026, 10, 23, 15, 0);
    expect(inMarketHours('13:30-20:00', monday1500)).toBe(true);
    expect(inMarketHours('13:30-20:00', Date.UTC(2026, 10, 23, 21, 0))).toBe(false);
    expect(inMarketHours('13:30-20:00', Date.UTC(2026, 10, 22, 15, 0))).toBe(false); // Sunday
    expect(inMarketHours('24x7', Date.UTC(2026, 10, 22, 3, 0))).toBe(true);
  });
});
