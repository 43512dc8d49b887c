/** Market data as it enters: strict decoding, the timestamp window, the price band, and the volatility refresh's use of both. */
import { describe, expect, it } from 'vitest';
import { decodeTick, encodeTick, formatDecimal, type Tick, type Universe } from '../../services/core/domain/market-data.ts';
import { EMPTY_BAND, screenPrice, type BandState } from '../../services/core/domain/price-band.ts';
import { volFromPrices } from '../../services/core/domain/volatility.ts';
import { estimateVolatility } from '../../services/risk-harmoniser/domain/estimate-volatility.ts';

const UNIVERSE: Universe = { has: (s) => s === 'BTC-USD' || s === 'ETH-USD' };
const CHECKS = { max_future_ms: 5_000, max_age_ms: 60_000, price_band_pct: 5, confirm_ticks: 3 };
const NOW = 1_800_000_000_000;
const good: Tick = { symbol: 'BTC-USD', ts: NOW, bid: 65_000.5, ask: 65_001, bid_size: 1.25, ask_size: 3, last: 65_000.75, volume: 12.5 };
const fields = (patch: Record<string, string> = {}): string[] => {
  const f = encodeTick(good);
  for (const [k, v] of Object.entries(patch)) f[f.indexOf(k) + 1] = v;
  return f;
};

describe('decodeTick', () => {
  it('takes a well-formed tick and round-trips encodeTick', () => {
    expect(decodeTick(encodeTick(good), NOW, UNIVERSE, CHECKS)).toEqual({ ok: true, tick: good });
  });

  it.each([
    ['hex', { bid: '0x10' }, 'bid: expected a plain decimal number, found "0x10"'],
    ['space-padded', { ask: ' 65001' }, 'ask: expected a plain decimal number, found " 65001"'],
    ['exponent', { last: '6.5e4' }, 'last: expected a plain decimal number, found "6.5e4"'],
    ['plus sign', { bid_size: '+1' }, 'bid_size: expected a plain decimal number'],
    ['leading zeros', { volume: '012' }, 'volume: expected a plain decimal number'],
    ['Infinity', { ask: 'Infinity' }, 'ask: expected a plain decimal number'],
    ['empty', { bid: '' }, 'bid: expected a plain decimal number'],
    ['fractional ts', { ts: `${NOW}.5` }, 'ts: expected integer milliseconds'],
    ['negative price', { bid: '-1' }, 'prices must be positive'],
    ['crossed book', { bid: '65002' }, 'ask 65001 is below bid 65002'],
  ])('refuses %s numbers as malformed', (_what, patch, reason) => {
    const r = decodeTick(fields(patch), NOW, UNIVERSE, CHECKS);
    expect(r).toMatchObject({ ok: false, check: 'malformed' });
    expect(r.ok ? '' : r.reason).toContain(reason);
  });

  it('refuses a duplicated, missing or unknown field', () => {
    const dup = [...encodeTick(good).slice(0, 14), 'bid', '1'];
    expect(decodeTick(dup, NOW, UNIVERSE, CHECKS)).toMatchObject({ ok: false, check: 'malformed', reason: 'field bid appears twice' });
    expect(decodeTick([...encodeTick(good), 'bid', '2'], NOW, UNIVERSE, CHECKS)).toMatchObject({ ok: false, check: 'malformed' });
    expect(decodeTick([...encodeTick(good).slice(0, 14), 'extra', '1'], NOW, UNIVERSE, CHECKS)).toMatchObject({ ok: false, reason: 'unknown field "extra"' });
    expect(decodeTick(encodeTick(good).slice(0, 14), NOW, UNIVERSE, CHECKS)).toMatchObject({ ok: false, check: 'malformed' });
  });

  it('refuses symbols outside the universe, and malformed ones without echoing them whole', () => {
    expect(decodeTick(fields({ symbol: 'EVIL-USD' }), NOW, UNIVERSE, CHECKS)).toMatchObject({
      ok: false,
      check: 'unknown_symbol',
      reason: expect.stringContaining('unknown symbol EVIL-USD') as unknown,
    });
    for (const s of ['../../x', 'btc-usd', 'X'.repeat(1_000_000)]) {
      const r = decodeTick(fields({ symbol: s }), NOW, UNIVERSE, CHECKS);
      expect(r).toMatchObject({ ok: false, check: 'malformed' });
      expect(r.ok ? 0 : r.reason.length).toBeLessThan(200);
    }
  });

  it('refuses timestamps outside the window around when Redis received the tick', () => {
    const year = 365 * 86_400_000;
    expect(decodeTick(fields({ ts: String(NOW + year) }), NOW, UNIVERSE, CHECKS)).toMatchObject({
      ok: false,
      check: 'timestamp',
      reason: expect.stringContaining('after Redis received it') as unknown,
    });
    expect(decodeTick(fields({ ts: '1000' }), NOW, UNIVERSE, CHECKS)).toMatchObject({
      ok: false,
      check: 'timestamp',
      reason: expect.stringContaining('before Redis received it') as unknown,
    });
    expect(decodeTick(fields({ ts: '100000000000000000000' }), NOW, UNIVERSE, CHECKS)).toMatchObject({ ok: false, check: 'malformed' });
    expect(decodeTick(fields({ ts: String(NOW + 5_000) }), NOW, UNIVERSE, CHECKS).ok).toBe(true);
    expect(decodeTick(fields({ ts: String(NOW - 60_000) }), NOW, UNIVERSE, CHECKS).ok).toBe(true);
  });

  it('writes numbers as plain decimals, never exponents', () => {
    expect(formatDecimal(1.2e-7)).toBe('0.00000012');
    expect(formatDecimal(65_000)).toBe('65000');
    expect(decodeTick(encodeTick({ ...good, bid: 0.00000012, ask: 0.00000013, last: 0.00000012 }), NOW, UNIVERSE, CHECKS).ok).toBe(true);
  });
});

describe('price band', () => {
  const P = { bandPct: 5, confirmTicks: 3 };
  const run = (mids: number[], start: BandState = EMPTY_BAND): boolean[] => {
    let s = start;
    return mids.map((m) => {
      const d = screenPrice(s, m, P);
      s = d.next;
      return d.accept;
    });
  };

  it('quarantines single bad prints at 0.01, 1.0 and 1e9, and keeps the reference', () => {
    expect(run([65_000, 0.01, 65_010, 1.0, 65_020, 1e9, 65_030])).toEqual([true, false, true, false, true, false, true]);
    const d = screenPrice({ ref: 65_000, candidate: null, count: 0 }, 0.01, P);
    expect(d.accept ? '' : d.reason).toMatch(/^price_band: mid 0\.01 is -100\.00% from the last good mid 65000 \(band 5%\)/);
  });

  it('follows a real level change once confirm_ticks consecutive ticks agree on it', () => {
    expect(run([100, 120, 121, 120.5, 121])).toEqual([true, false, false, true, true]);
  });

  it('does not confirm a level from ticks that disagree with each other', () => {
    expect(run([100, 120, 140, 160, 180, 101])).toEqual([true, false, false, false, false, true]);
  });
});

describe('volatility refresh', () => {
  it('uses exactly the ticks the pipeline would: dead-letter material and bad prints are left out', () => {
    const entry = (ms: number, f: string[]): [string, string[]] => [`${ms}-0`, f];
    const t = (ms: number, mid: number, symbol = 'ETH-USD'): string[] =>
      encodeTick({ symbol, ts: ms, bid: mid - 0.01, ask: mid + 0.01, bid_size: 1, ask_size: 1, last: mid, volume: 1 });
    const clean: { price: number; ts: number }[] = [];
    const oldestFirst: [string, string[]][] = [];
    let mid = 3_000;
    for (let i = 0; i < 50; i++) {
      mid *= i % 2 ? 1.001 : 0.9992;
      const ms = NOW + i * 1_000;
      clean.push({ price: mid, ts: ms });
      oldestFirst.push(entry(ms, t(ms, mid)));
      if (i === 10) oldestFirst.push(entry(ms + 1, t(ms + 1, 1e9)));
      if (i === 20) oldestFirst.push(entry(ms + 1, t(ms + 1, mid, '../../x')), entry(ms + 2, t(ms + 2, mid, 'btc-usd')), entry(ms + 3, t(ms + 3, mid, 'EVIL-USD')));
      if (i === 30) oldestFirst.push(entry(ms + 1, [...t(ms + 1, mid).slice(0, 2), 'ts', '100000000000000000000', ...t(ms + 1, mid).slice(4)]));
    }
    const est = estimateVolatility([...oldestFirst].reverse(), UNIVERSE, CHECKS, { 'ETH-USD': mid }, { lambda: 0.94, initialDailyVolPct: 3, secondsPerDay: 86_400 });
    expect([...est.vols.keys()]).toEqual(['ETH-USD']);
    expect(est.accepted).toBe(50);
    expect(est.refused).toEqual({ malformed: 3, unknown_symbol: 1, timestamp: 0, price_band: 1 });
    expect(est.vols.get('ETH-USD')).toEqual(volFromPrices(clean, 0.94, 3, 86_400));
  });
});
