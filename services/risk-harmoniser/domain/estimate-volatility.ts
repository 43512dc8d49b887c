/**
 * The volatility refresh's arithmetic: from recent market_events entries
 * (newest first, as read back in chunks) to an EWMA volatility per symbol,
 * accepting exactly what the pipeline accepts: the same strict decoding,
 * universe and timestamp checks (core/domain/market-data.ts) and the same
 * price sanity band (core/domain/price-band.ts), screened from the newest
 * tick backwards starting at the last price the harmoniser used, so a bad
 * print in the window never becomes a return. Pure.
 */
import type { MarketDataChecks } from '../../core/config/schemas.ts';
import { decodeTick, streamIdMs, type TickCheck, type Universe } from '../../core/domain/market-data.ts';
import { EMPTY_BAND, screenPrice, type BandState } from '../../core/domain/price-band.ts';
import { volFromPrices, type VolState } from '../../core/domain/volatility.ts';

export interface VolParams {
  lambda: number;
  initialDailyVolPct: number;
  secondsPerDay: number;
}

export interface Estimate {
  vols: Map<string, VolState>;
  accepted: number;
  refused: Record<TickCheck, number>;
}

export function estimateVolatility(
  newestFirst: readonly (readonly [id: string, fields: readonly string[]])[],
  universe: Universe,
  checks: MarketDataChecks,
  lastPrices: Readonly<Record<string, number>>,
  vol: VolParams,
): Estimate {
  const refused: Record<TickCheck, number> = { malformed: 0, unknown_symbol: 0, timestamp: 0, price_band: 0 };
  const bands = new Map<string, BandState>();
  const series = new Map<string, { price: number; ts: number }[]>();
  const band = { bandPct: checks.price_band_pct, confirmTicks: checks.confirm_ticks };
  let accepted = 0;
  for (const [id, fields] of newestFirst) {
    const d = decodeTick(fields, streamIdMs(id), universe, checks);
    if (!d.ok) {
      refused[d.check]++;
      continue;
    }
    const { symbol, bid, ask, ts } = d.tick;
    const mid = (bid + ask) / 2;
    const seed = lastPrices[symbol];
    const state = bands.get(symbol) ?? (seed !== undefined && seed > 0 ? { ref: seed, candidate: null, count: 0 } : { ...EMPTY_BAND });
    const s = screenPrice(state, mid, band);
    bands.set(symbol, s.next);
    if (!s.accept) {
      refused.price_band++;
      continue;
    }
    accepted++;
    let list = series.get(symbol);
    if (!list) series.set(symbol, (list = []));
    list.push({ price: mid, ts });
  }
  const vols = new Map<string, VolState>();
  for (const [symbol, list] of series) vols.set(symbol, volFromPrices(list.reverse(), vol.lambda, vol.initialDailyVolPct, vol.secondsPerDay));
  return { vols, accepted, refused };
}
