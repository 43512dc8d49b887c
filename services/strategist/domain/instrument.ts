/**
 * Instrument metadata and the inference used when `instrument:info:<symbol>`
 * is missing: a symbol ending in -USD, -USDT, -USDC, -EUR, -BTC or -ETH is
 * crypto traded 24x7 (tick 0.01, lot 0.0001); anything else is a US stock
 * traded 13:30-20:00 UTC on weekdays (tick 0.01, lot 1).
 */
export interface InstrumentInfo {
  symbol: string;
  assetClass: string;
  exchange: string;
  tickSize: number;
  lotSize: number;
  marketHours: string;
  inferred: boolean;
}

export function inferInstrument(symbol: string): InstrumentInfo {
  if (/-(USD|USDT|USDC|EUR|BTC|ETH)$/.test(symbol)) {
    return { symbol, assetClass: 'crypto', exchange: 'unknown', tickSize: 0.01, lotSize: 0.0001, marketHours: '24x7', inferred: true };
  }
  return { symbol, assetClass: 'us_stock', exchange: 'unknown', tickSize: 0.01, lotSize: 1, marketHours: '13:30-20:00', inferred: true };
}

export function instrumentFromHash(symbol: string, h: Record<string, string>): InstrumentInfo {
  const base = inferInstrument(symbol);
  if (Object.keys(h).length === 0) return base;
  const n = (v: string | undefined, d: number): number => (v !== undefined && Number.isFinite(Number(v)) && Number(v) > 0 ? Number(v) : d);
  return {
    symbol,
    assetClass: h['asset_class'] || base.assetClass,
    exchange: h['exchange'] || base.exchange,
    tickSize: n(h['tick_size'], base.tickSize),
    lotSize: n(h['lot_size'], base.lotSize),
    marketHours: h['market_hours'] || base.marketHours,
    inferred: false,
  };
}
