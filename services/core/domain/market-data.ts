/**
 * Market data as it enters the system: strict decoding of a `market_events`
 * entry into a Tick, shared by the strategist (the pipeline) and the
 * volatility refresh, so both accept exactly the same ticks.
 *
 *   fields     exactly symbol ts bid ask bid_size ask_size last volume, each once
 *   numbers    plain decimals ("65000.5", "0.00012"): no hex, exponent, sign
 *              "+", padding, leading zeros, Infinity or NaN
 *   symbol     in the tradable universe (conf/instruments.yml)
 *   ts         integer ms within [received − max_age_ms, received + max_future_ms],
 *              `received` being when Redis accepted the entry (its stream id)
 *   prices     bid > 0, ask ≥ bid, last > 0
 *
 * Outcomes are values: `{ ok: false, check, reason }` names the rule that
 * failed (a bounded label for counters) and what was found.
 */
import type { MarketDataChecks } from '../config/schemas.ts';

export interface Tick {
  symbol: string;
  ts: number;
  bid: number;
  ask: number;
  bid_size: number;
  ask_size: number;
  last: number;
  volume: number;
}

export const TICK_FIELDS = ['symbol', 'ts', 'bid', 'ask', 'bid_size', 'ask_size', 'last', 'volume'] as const;
type TickField = (typeof TICK_FIELDS)[number];

/** Why a tick was refused, as a bounded label. */
export type TickCheck = 'malformed' | 'unknown_symbol' | 'timestamp' | 'price_band';
export const TICK_CHECKS: readonly TickCheck[] = ['malformed', 'unknown_symbol', 'timestamp', 'price_band'];

export type TickDecode = { ok: true; tick: Tick } | { ok: false; check: TickCheck; reason: string };

const DECIMAL = /^-?(?:0|[1-9]\d{0,20})(?:\.\d{1,20})?$/;
const INTEGER_MS = /^[1-9]\d{0,15}$/;
const SYMBOL = /^[A-Z0-9][A-Z0-9._-]{0,31}$/;

/** A value shown in a reason: short, and never the whole of an oversized input. */
export function shownValue(v: string): string {
  return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) + (v.length > 40 ? ` (${v.length} chars)` : '');
}

/** Parse a plain decimal; undefined when it is not one. */
export function parseDecimal(v: string): number | undefined {
  if (!DECIMAL.test(v)) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** The stream id's millisecond part: when Redis accepted the entry. */
export function streamIdMs(id: string): number {
  const dash = id.indexOf('-');
  return Number(dash < 0 ? id : id.slice(0, dash));
}

export interface Universe {
  has(symbol: string): boolean;
}

/** Decode one market_events entry (flat field/value list as Redis returns it). */
export function decodeTick(fields: readonly string[], receivedAtMs: number, universe: Universe, checks: MarketDataChecks): TickDecode {
  if (fields.length !== TICK_FIELDS.length * 2) {
    return { ok: false, check: 'malformed', reason: `expected the ${TICK_FIELDS.length} fields ${TICK_FIELDS.join(' ')}, found ${Math.floor(fields.length / 2)} field(s)` };
  }
  const values: Partial<Record<TickField, string>> = {};
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    if (!(TICK_FIELDS as readonly string[]).includes(name)) return { ok: false, check: 'malformed', reason: `unknown field ${shownValue(name)}` };
    if (values[name as TickField] !== undefined) return { ok: false, check: 'malformed', reason: `field ${name} appears twice` };
    values[name as TickField] = fields[i + 1]!;
  }
  const symbol = values.symbol!;
  if (!SYMBOL.test(symbol)) return { ok: false, check: 'malformed', reason: `symbol: expected 1-32 chars of A-Z, 0-9, ".", "_" or "-", found ${shownValue(symbol)}` };
  if (!universe.has(symbol)) return { ok: false, check: 'unknown_symbol', reason: `unknown symbol ${symbol}: not in the tradable universe (conf/instruments.yml)` };
  const rawTs = values.ts!;
  if (!INTEGER_MS.test(rawTs)) return { ok: false, check: 'malformed', reason: `ts: expected integer milliseconds, found ${shownValue(rawTs)}` };
  const ts = Number(rawTs);
  const nums: Partial<Record<TickField, number>> = {};
  for (const f of ['bid', 'ask', 'bid_size', 'ask_size', 'last', 'volume'] as const) {
    const n = parseDecimal(values[f]!);
    if (n === undefined) return { ok: false, check: 'malformed', reason: `${f}: expected a plain decimal number, found ${shownValue(values[f]!)}` };
    nums[f] = n;
  }
  const { bid, ask, bid_size, ask_size, last, volume } = nums as Record<Exclude<TickField, 'symbol' | 'ts'>, number>;
  if (!(bid > 0) || !(ask > 0) || !(last > 0)) return { ok: false, check: 'malformed', reason: `prices must be positive, found bid ${bid} ask ${ask} last ${last}` };
  if (ask < bid) return { ok: false, check: 'malformed', reason: `ask ${ask} is below bid ${bid}` };
  if (bid_size < 0 || ask_size < 0 || volume < 0) return { ok: false, check: 'malformed', reason: 'sizes and volume must not be negative' };
  const skew = ts - receivedAtMs;
  if (skew > checks.max_future_ms) return { ok: false, check: 'timestamp', reason: `ts ${ts} is ${skew} ms after Redis received it (max_future_ms ${checks.max_future_ms})` };
  if (-skew > checks.max_age_ms) return { ok: false, check: 'timestamp', reason: `ts ${ts} is ${-skew} ms before Redis received it (max_age_ms ${checks.max_age_ms})` };
  return { ok: true, tick: { symbol, ts, bid, ask, bid_size, ask_size, last, volume } };
}

/** A number as a plain decimal (never exponent notation), as decodeTick accepts it. */
export function formatDecimal(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`not a finite number: ${n}`);
  const s = String(n);
  if (!/e/i.test(s)) return s;
  const fixed = Math.abs(n) < 1 ? n.toFixed(20) : n.toFixed(0);
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

/** Encode a tick as stream fields, in TICK_FIELDS order, as decodeTick reads it. */
export function encodeTick(t: Tick): string[] {
  return [
    'symbol',
    t.symbol,
    'ts',
    String(Math.trunc(t.ts)),
    'bid',
    formatDecimal(t.bid),
    'ask',
    formatDecimal(t.ask),
    'bid_size',
    formatDecimal(t.bid_size),
    'ask_size',
    formatDecimal(t.ask_size),
    'last',
    formatDecimal(t.last),
    'volume',
    formatDecimal(t.volume),
  ];
}
