/**
 * The state the services keep in Redis and read back, as codecs (zod),
 * next to the key names (keys.ts): a value is decoded, never cast. A value
 * that does not decode (written by hand, by an older version, or damaged)
 * is reported with its key and the field that failed; what to do then is
 * the caller's: the strategist and the risk harmoniser rebuild derived
 * state, the executor refuses to trade on a position it cannot read.
 *
 * The shapes are the contract between writers and readers across
 * versions; the services' domain types match them structurally.
 */
import { z } from 'zod';

const num = z.number();
const finite = z.number().finite();

/** exec:position:<symbol> */
export const positionCodec = z.object({
  symbol: z.string().optional(),
  qty: finite,
  avg_price: finite,
  realized_pnl: finite,
  /** Fees paid on this position's fills (realized_pnl is net of them). */
  fees_usd: finite.optional(),
  updated_at: num.optional(),
});

/** exec:working:<symbol> (a hash): client order id → signed quantity still working at the venue. */
export const workingCodec = z.record(z.string(), z.coerce.number().finite());
export type StoredPosition = z.infer<typeof positionCodec>;

const volState = z.object({ variancePerSec: finite.min(0), lastPrice: finite, lastTs: num, samples: num });

/** risk:state:<symbol> */
export const riskStateCodec = z.object({ vol: volState, lastSignalId: z.string(), lastTargetUsd: finite.optional() });

/** risk:correlation */
export const correlationCodec = z.object({
  ts: num,
  prices: z.record(z.string(), finite),
  cov: z.record(z.string(), finite),
  samples: z.record(z.string(), num),
});

const featureState = z.object({
  ticks: num,
  lastTs: num,
  mid: finite,
  logMid: finite,
  emaFast: finite,
  emaSlow: finite,
  variance: finite,
  longVariance: finite,
  obi: finite,
  obiEma: finite,
  lastReturn: finite,
  spreadBps: finite,
});

/** strategist:state:<symbol> (band is absent in states written before the price band existed) */
export const strategistStateCodec = z.object({
  features: featureState,
  routing: z.object({ active: z.string().nullable(), since: num, reason: z.string(), ruleIndex: num }),
  ticks: num,
  lastTickId: z.string(),
  horizonMs: num,
  assetClass: z.string(),
  explanation: z.string(),
  band: z.object({ ref: finite.nullable(), candidate: finite.nullable(), count: num }).optional(),
});

export type Stored<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Decode a stored JSON value; `null` (no key) is the caller's default. */
export function decodeStored<T>(codec: z.ZodType<T>, key: string, raw: string): Stored<T> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, reason: `stored value at ${key} is not JSON` };
  }
  const parsed = codec.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, reason: `stored value at ${key} is not valid: ${issue?.path.join('.') || '(value)'}: ${issue?.message ?? 'invalid'}` };
}
