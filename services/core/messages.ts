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

// --- the hot path: the same rules without a schema pass -------------------
// Every signal and target crosses one stream per tick batch; zod's safeParse of
// a flat message costs more than the rest of its decoding. These check exactly
// what the schemas check, field by field, and hand anything they do not accept
// to the schema, so a refused entry still gets the schema's reason. What they
// accept, the schema accepts with the same value (tests/unit/messages.test.ts).

const SYMBOL = /^[A-Z0-9][A-Z0-9._-]{0,31}$/;
const text = (v: string | undefined): v is string => v !== undefined && v.length > 0;
/** z.coerce.number(): Number() of the text; undefined when not finite. */
const num = (v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
};
const posInt = (v: string | undefined): number | undefined => {
  const n = num(v);
  return n !== undefined && Number.isInteger(n) && n > 0 ? n : undefined;
};
const onlyKeys = (f: Fields, allowed: ReadonlySet<string>): boolean => {
  for (const k in f) if (!allowed.has(k)) return false;
  return true;
};

const SIGNAL_KEYS: ReadonlySet<string> = new Set(Object.keys(signalSchema.shape));
const PREDICTION_KEYS: ReadonlySet<string> = new Set(Object.keys(predictionSchema.shape));
const TARGET_KEYS: ReadonlySet<string> = new Set(Object.keys(targetSchema.shape));

function fastPredictions(raw: string): Prediction[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  for (const p of parsed as unknown[]) {
    if (p === null || typeof p !== 'object' || Array.isArray(p)) return undefined;
    const o = p as Record<string, unknown>;
    for (const k in o) if (!PREDICTION_KEYS.has(k)) return undefined;
    if (typeof o['model'] !== 'string' || o['model'].length === 0) return undefined;
    if (typeof o['edge_bps'] !== 'number' || !Number.isFinite(o['edge_bps'])) return undefined;
    if (o['confidence'] !== null && (typeof o['confidence'] !== 'number' || !Number.isFinite(o['confidence']))) return undefined;
    if (typeof o['horizon_ms'] !== 'number' || !(o['horizon_ms'] > 0) || !Number.isFinite(o['horizon_ms'])) return undefined;
    if (typeof o['ts'] !== 'number' || !Number.isFinite(o['ts'])) return undefined;
  }
  return parsed as Prediction[];
}

function fastSignal(f: Fields): Signal | undefined {
  if (!onlyKeys(f, SIGNAL_KEYS)) return undefined;
  const symbol = f['symbol'];
  if (symbol === undefined || !SYMBOL.test(symbol) || !text(f['asset_class']) || !text(f['tick_id']) || !text(f['active_model'])) return undefined;
  const tickTs = posInt(f['tick_ts']);
  const firstTickTs = posInt(f['first_tick_ts']);
  const price = num(f['price']);
  const spread = f['spread_bps'] === undefined ? 0 : num(f['spread_bps']);
  const activeSince = num(f['active_since']);
  const ticks = posInt(f['ticks']);
  if (tickTs === undefined || firstTickTs === undefined || ticks === undefined) return undefined;
  if (price === undefined || !(price > 0) || spread === undefined || spread < 0) return undefined;
  if (activeSince === undefined || !Number.isInteger(activeSince) || activeSince < 0) return undefined;
  const predictions = f['predictions'] === undefined ? undefined : fastPredictions(f['predictions']);
  if (!predictions) return undefined;
  return {
    symbol,
    asset_class: f['asset_class'],
    tick_ts: tickTs,
    first_tick_ts: firstTickTs,
    tick_id: f['tick_id'],
    price,
    active_model: f['active_model'],
    spread_bps: spread,
    active_since: activeSince,
    ticks,
    predictions,
  };
}

function fastTarget(f: Fields): Target | undefined {
  if (!onlyKeys(f, TARGET_KEYS)) return undefined;
  const symbol = f['symbol'];
  if (symbol === undefined || !SYMBOL.test(symbol) || !text(f['asset_class']) || !text(f['model']) || !text(f['signal_id'])) return undefined;
  const action = f['action'] ?? 'target';
  if (action !== 'target' && action !== 'hold') return undefined;
  const targetUsd = num(f['target_usd']);
  const price = num(f['price']);
  const edge = num(f['edge_bps']);
  const varPct = num(f['var_pct']);
  const cost = f['cost_bps'] === undefined ? 0 : num(f['cost_bps']);
  const tickTs = posInt(f['tick_ts']);
  const firstTickTs = posInt(f['first_tick_ts']);
  const ts = posInt(f['ts']);
  if (targetUsd === undefined || price === undefined || !(price > 0) || edge === undefined || varPct === undefined || cost === undefined) return undefined;
  if (tickTs === undefined || firstTickTs === undefined || ts === undefined) return undefined;
  return {
    symbol,
    asset_class: f['asset_class'],
    target_usd: targetUsd,
    price,
    tick_ts: tickTs,
    first_tick_ts: firstTickTs,
    edge_bps: edge,
    var_pct: varPct,
    model: f['model'],
    signal_id: f['signal_id'],
    ts,
    action,
    cost_bps: cost,
  };
}

/** A strategy_signals entry: the field-by-field check, else the schema (for its reason). */
export function decodeSignal(raw: readonly string[]): Decoded<Signal> {
  const value = fastSignal(fieldsFromArray(raw));
  return value ? { ok: true, value } : decodeWith(signalSchema, raw);
}

/** An order_intents entry: the field-by-field check, else the schema (for its reason). */
export function decodeTarget(raw: readonly string[]): Decoded<Target> {
  const value = fastTarget(fieldsFromArray(raw));
  return value ? { ok: true, value } : decodeWith(targetSchema, raw);
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
