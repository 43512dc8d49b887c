/**
 * Messages on the internal streams (strategy_signals, order_intents,
 * exec_reports), their validation and their stream-field encoding. Flat
 * fields where the message is flat (readable with redis-cli XRANGE), one
 * JSON field for nested parts. Market data (market_events) is decoded
 * strictly by core/domain/market-data.ts.
 */
import { z } from 'zod';

const finite = z.coerce.number().finite();
const positiveFinite = z.coerce.number().finite().positive();
const symbol = z.string().regex(/^[A-Z0-9][A-Z0-9._-]{0,31}$/, 'symbol must be 1-32 chars of A-Z, 0-9, ".", "_" or "-"');

// --- strategy_signals -----------------------------------------------------
export const predictionSchema = z.strictObject({
  model: z.string().min(1),
  edge_bps: z.number(),
  confidence: z.number().nullable(),
  horizon_ms: z.number().positive(),
  ts: z.number(),
});
export type Prediction = z.infer<typeof predictionSchema>;

export const signalSchema = z.strictObject({
  symbol,
  asset_class: z.string().min(1),
  /** Tick time of the newest tick this signal includes (ms). */
  tick_ts: z.coerce.number().int().positive(),
  /** Tick time of the oldest tick this signal includes (ms): batches coalesce ticks. */
  first_tick_ts: z.coerce.number().int().positive(),
  /** Stream id of that tick, for tracing. */
  tick_id: z.string().min(1),
  price: positiveFinite,
  active_model: z.string().min(1),
  /** Bid-ask spread of the newest tick, basis points (the cost model of targets). */
  spread_bps: finite.min(0).default(0),
  /** When the active model became active (ms), for the switch penalty. */
  active_since: z.coerce.number().int().min(0),
  ticks: z.coerce.number().int().min(1),
  predictions: z.string().transform((s, ctx) => {
    try {
      const parsed = z.array(predictionSchema).safeParse(JSON.parse(s));
      if (parsed.success) return parsed.data;
      ctx.addIssue({ code: 'custom', message: `predictions: ${parsed.error.issues[0]?.message ?? 'invalid'}` });
    } catch {
      ctx.addIssue({ code: 'custom', message: 'predictions is not JSON' });
    }
    return z.NEVER;
  }),
});
export type Signal = z.infer<typeof signalSchema>;

// --- order_intents --------------------------------------------------------
export const targetSchema = z.strictObject({
  symbol,
  asset_class: z.string().min(1),
  target_usd: finite,
  price: positiveFinite,
  tick_ts: z.coerce.number().int().positive(),
  first_tick_ts: z.coerce.number().int().positive(),
  edge_bps: finite,
  var_pct: finite,
  model: z.string().min(1),
  /** Stream id of the signal this target came from (idempotency and tracing). */
  signal_id: z.string().min(1),
  ts: z.coerce.number().int().positive(),
  /** target: move the position to target_usd; hold: the edge does not pay for the round trip, leave the position as it is. */
  action: z.enum(['target', 'hold']).default('target'),
  /** The round-trip cost the edge was measured against, basis points. */
  cost_bps: finite.default(0),
});
export type Target = z.infer<typeof targetSchema>;

// --- exec_reports ---------------------------------------------------------
export type Side = 'BUY' | 'SELL';
export interface ExecReport {
  client_order_id: string;
  symbol: string;
  side: Side;
  qty: number;
  price: number;
  /** A decision (REJECTED before any order, DRY_RUN), or what happened to an order at the venue. */
  status: 'ACCEPTED' | 'PARTIALLY_FILLED' | 'FILLED' | 'REJECTED' | 'DRY_RUN' | 'CANCELLED' | 'EXPIRED';
  reason: string;
  position_qty: number;
  latency_ms: number;
  tick_ts: number;
  ts: number;
}

// --- encoding -------------------------------------------------------------
export type Fields = Record<string, string>;

export function fieldsFromArray(raw: readonly string[]): Fields {
  const out: Fields = {};
  for (let i = 0; i + 1 < raw.length; i += 2) out[raw[i]!] = raw[i + 1]!;
  return out;
}

export function toFieldArray(record: Record<string, string | number | boolean>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(record)) out.push(k, String(v));
  return out;
}

/** A refused entry: `check` is a bounded label for counting (stream_entries_dead_lettered_total). */
export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string; check?: string };

export function decodeWith<T>(schema: z.ZodType<T>, raw: readonly string[]): Decoded<T> {
  const parsed = schema.safeParse(fieldsFromArray(raw));
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  const field = issue?.path.join('.') || '(message)';
  return { ok: false, reason: `${field}: ${issue?.message ?? 'invalid'}` };
}

export function encodeSignal(s: Signal): string[] {
  return toFieldArray({ ...s, predictions: JSON.stringify(s.predictions) });
}

export function encodeTarget(t: Target): string[] {
  return toFieldArray({ ...t });
}

export function encodeExecReport(r: ExecReport): string[] {
  return toFieldArray({ ...r });
}
