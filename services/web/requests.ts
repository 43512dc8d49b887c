/** Request bodies of the mutating endpoints. Strict: unknown fields are named in the 400. */
import { z } from 'zod';

const operator = z.string().trim().min(1).max(100);
const reason = z.string().trim().min(1).max(500);

export const emergencyReduceBody = z.strictObject({
  kelly_fraction: z.number().finite().gt(0).max(1),
  reason,
  operator: operator.optional(),
});

/** system | symbol:<SYMBOL> | model:<name> | strategy:<name> (checked by core/domain/scopes.ts). */
const scope = z.string().trim().min(1).max(100);

export const killSwitchEngageBody = z.strictObject({
  reason,
  operator: operator.optional(),
  scope: scope.optional(),
});

export const killSwitchResetBody = z.strictObject({
  reason,
  operator: operator.optional(),
  scope: scope.optional(),
});

export const stopTradingBody = z.strictObject({
  reason: reason.optional(),
  operator: operator.optional(),
  scope: scope.optional(),
  /** HALTED (default): no new orders, resting ones cancelled. REDUCING: only position-reducing orders. */
  state: z.enum(['HALTED', 'REDUCING']).default('HALTED'),
});

export const startTradingBody = z.strictObject({
  reason: reason.optional(),
  operator: operator.optional(),
  scope: scope.optional(),
});

export const optionalReasonBody = z.strictObject({
  reason: reason.optional(),
  operator: operator.optional(),
});

export type BodyResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** Parse a raw body as JSON (whatever the Content-Type: plain `curl -d` sends form-encoded) and validate. */
export function parseBody<T>(schema: z.ZodType<T>, raw: string | undefined, required: boolean): BodyResult<T> {
  const text = (raw ?? '').trim();
  let json: unknown = {};
  if (text !== '') {
    try {
      json = JSON.parse(text);
    } catch {
      return { ok: false, error: 'body is not valid JSON' };
    }
  } else if (required) {
    return { ok: false, error: 'body is required (JSON)' };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  if (issue?.code === 'unrecognized_keys') return { ok: false, error: `unknown field(s): ${issue.keys.join(', ')}` };
  const field = issue?.path.join('.') || '(body)';
  return { ok: false, error: `field "${field}": ${issue?.message ?? 'invalid'}` };
}

export const riskPreviewBody = z.strictObject({
  edges: z
    .array(z.strictObject({ model: z.string().min(1), edge_bps: z.number().finite(), confidence: z.number().finite().min(0).max(1).nullable().optional() }))
    .min(1)
    .max(32),
  price: z.number().finite().positive(),
  asset_class: z.string().min(1).max(64),
  portfolio_value_usd: z.number().finite().positive().optional(),
  daily_vol_pct: z.number().finite().positive().max(1000),
  horizon_ms: z.number().finite().positive().default(30_000),
  kelly_fraction: z.number().finite().min(0).max(1).optional(),
  spread_bps: z.number().finite().min(0).max(10_000).optional(),
});

export const executionModeBody = z.strictObject({
  mode: z.enum(['DRY_RUN', 'PAPER', 'LIVE']),
  reason: reason.optional(),
  operator: operator.optional(),
});

/** GET /api/orders query: filters, page size, the previous page's cursor. */
export const ordersQuery = z.strictObject({
  symbol: z
    .string()
    .regex(/^[A-Z0-9][A-Z0-9._-]{0,31}$/, 'a symbol such as BTC-USD')
    .optional(),
  model: z.string().min(1).max(64).optional(),
  state: z.enum(['NEW', 'SUBMITTED', 'ACCEPTED', 'PARTIALLY_FILLED', 'FILLED', 'CANCELLED', 'REJECTED', 'EXPIRED']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z
    .string()
    .regex(/^\d+_[A-Za-z0-9._:-]{1,64}$/, "the previous page's next")
    .optional(),
});

/** GET /api/daily-stats query. */
export const dailyStatsQuery = z.strictObject({
  day: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD')
    .optional(),
});

/** GET /api/switch-log query. */
export const switchLogQuery = z.strictObject({ count: z.coerce.number().int().min(1).max(1_000).default(50) });

/** Parse a query string object (first value of each parameter) with a schema; the error names the parameter. */
export function parseQuery<T>(schema: z.ZodType<T>, query: Record<string, unknown>): BodyResult<T> {
  const flat = Object.fromEntries(Object.entries(query).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]));
  const r = schema.safeParse(flat);
  if (r.success) return { ok: true, value: r.data };
  const i = r.error.issues[0]!;
  return { ok: false, error: `query ${i.path.length > 0 ? i.path.join('.') : '(parameters)'}: ${i.message}` };
}

/** POST /api/replay: the last `minutes` of market_events (or a CSV in the project) at `speed` × the recorded pace. */
export const replayBody = z.strictObject({
  minutes: z.number().finite().gt(0).max(60).default(15),
  speed: z.number().finite().min(1).max(100).default(10),
  csv: z
    .string()
    .regex(/^[A-Za-z0-9._/-]{1,256}\.csv$/, 'a .csv path in the project')
    .refine((p) => !p.split('/').includes('..') && !p.startsWith('/'), 'a .csv path in the project')
    .optional(),
  reason: reason.optional(),
  operator: operator.optional(),
});
