/**
 * The HTTP API described: one entry per route the app serves (method, path,
 * the zod schemas its handler validates with, an example), from which the
 * OpenAPI 3.1 document at /api/openapi.json is generated
 * (@asteasolutions/zod-to-openapi). tests/contract/openapi.test.ts checks
 * that every route of the app is here and that every example passes its
 * schema, so the document cannot drift from the handlers.
 */
import { OpenAPIRegistry, OpenApiGeneratorV31, extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import {
  dailyStatsQuery,
  emergencyReduceBody,
  executionModeBody,
  killSwitchEngageBody,
  killSwitchResetBody,
  optionalReasonBody,
  ordersQuery,
  riskPreviewBody,
  startTradingBody,
  stopTradingBody,
  replayBody,
  switchLogQuery,
} from './requests.ts';

// Adds .openapi() to zod's prototypes (the registry names components with it).
extendZodWithOpenApi(z);

type Method = 'get' | 'post' | 'delete';

export interface ApiRoute {
  method: Method;
  /** Express form (`/api/orders/:id`). */
  path: string;
  tag: 'health' | 'book' | 'trading' | 'kill switch' | 'breaker' | 'router' | 'risk' | 'dashboard' | 'replay';
  summary: string;
  /** Changes state: needs `Authorization: Bearer <token>` unless web listens on loopback only. */
  mutating: boolean;
  body?: { schema: z.ZodType; required: boolean; example: unknown };
  query?: z.ZodObject;
  params?: z.ZodObject;
  /** Query string examples (as sent). */
  queryExample?: Record<string, string>;
  ok: { status: number; description: string; contentType?: string; example?: unknown };
  errors: number[];
}

const reasonOperator = { reason: 'VaR check after the reload', operator: 'alice' };

export const API_ROUTES: readonly ApiRoute[] = [
  {
    method: 'get',
    path: '/health',
    tag: 'health',
    summary: 'Health of Redis, each service (heartbeats), the kill switch, the breaker and the rate limiters; 503 naming what fails',
    mutating: false,
    ok: { status: 200, description: 'healthy', example: { status: 'healthy', failing: [], components: {} } },
    errors: [503],
  },
  {
    method: 'get',
    path: '/api/ready',
    tag: 'health',
    summary: 'Ready to trade: Redis, the required services, a known control state',
    mutating: false,
    ok: { status: 200, description: 'ready', example: { ready: true, reason: '' } },
    errors: [503],
  },
  {
    method: 'get',
    path: '/api/status',
    tag: 'health',
    summary:
      'Everything at once: trading state, breaker, kill switch, router, execution, portfolio, active models, risk per symbol, positions, config versions, reload outcomes, instances, alerts',
    mutating: false,
    ok: { status: 200, description: 'the status' },
    errors: [503],
  },
  {
    method: 'get',
    path: '/metrics',
    tag: 'health',
    summary: "web's Prometheus metrics",
    mutating: false,
    ok: { status: 200, description: 'Prometheus text format', contentType: 'text/plain' },
    errors: [],
  },
  {
    method: 'get',
    path: '/api/positions',
    tag: 'book',
    summary: 'Positions marked to the mid, with unrealized and realized PnL, fees and working quantity; totals',
    mutating: false,
    ok: {
      status: 200,
      description: 'positions',
      example: {
        positions: [
          { symbol: 'BTC-USD', qty: 0.25, avg_price: 64_000, mark: 65_000, notional_usd: 16_250, unrealized_pnl: 250, realized_pnl: 12.5, fees_usd: 1.5, working_qty: 0 },
        ],
        totals: { unrealized_pnl: 250, realized_pnl: 12.5, fees_usd: 1.5, gross_usd: 16_250 },
      },
    },
    errors: [],
  },
  {
    method: 'get',
    path: '/api/orders',
    tag: 'book',
    summary: 'Orders newest first, filtered by symbol, model and state; `next` is the cursor for `before`',
    mutating: false,
    query: ordersQuery,
    queryExample: { symbol: 'BTC-USD', state: 'FILLED', limit: '20' },
    ok: { status: 200, description: 'a page of orders', example: { orders: [], next: null } },
    errors: [400],
  },
  {
    method: 'get',
    path: '/api/orders/:id',
    tag: 'book',
    summary: 'One order (by client order id) with its transitions from order_events',
    mutating: false,
    params: z.object({ id: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/) }),
    ok: { status: 200, description: 'the order and its events' },
    errors: [400, 404],
  },
  {
    method: 'get',
    path: '/api/blend/:symbol',
    tag: 'book',
    summary: 'The latest blend of a symbol (risk.edge_blended.<symbol>) with its breakdown and reasons',
    mutating: false,
    params: z.object({ symbol: z.string() }),
    ok: { status: 200, description: 'the blend' },
    errors: [404],
  },
  {
    method: 'get',
    path: '/api/daily-stats',
    tag: 'book',
    summary: "The day's risk statistics (UTC day; today by default)",
    mutating: false,
    query: dailyStatsQuery,
    queryExample: { day: '2026-12-01' },
    ok: { status: 200, description: 'daily statistics' },
    errors: [400],
  },
  {
    method: 'get',
    path: '/api/switch-log',
    tag: 'book',
    summary: 'The latest model.switch.log entries',
    mutating: false,
    query: switchLogQuery,
    queryExample: { count: '20' },
    ok: { status: 200, description: 'entries, newest first' },
    errors: [400],
  },
  {
    method: 'get',
    path: '/api/stream',
    tag: 'dashboard',
    summary: "The dashboard's live feed: server-sent events `picture` (status, positions, orders, switch log, blends) every 500 ms while it changes",
    mutating: false,
    ok: { status: 200, description: 'an event stream', contentType: 'text/event-stream' },
    errors: [],
  },
  {
    method: 'post',
    path: '/api/stop-trading',
    tag: 'trading',
    summary: 'Stop trading (HALTED: no orders, resting ones cancelled; REDUCING: reducing orders only), system-wide or for one symbol or model',
    mutating: true,
    body: { schema: stopTradingBody, required: false, example: { scope: 'symbol:BTC-USD', state: 'REDUCING', ...reasonOperator } },
    ok: { status: 200, description: 'stopped', example: { trading: 'REDUCING', scope: 'symbol:BTC-USD', by: 'alice' } },
    errors: [400, 401, 403, 409, 429],
  },
  {
    method: 'post',
    path: '/api/start-trading',
    tag: 'trading',
    summary: 'Start trading again (not while the kill switch is engaged on that scope)',
    mutating: true,
    body: { schema: startTradingBody, required: false, example: { scope: 'symbol:BTC-USD', ...reasonOperator } },
    ok: { status: 200, description: 'started' },
    errors: [400, 401, 403, 409, 429],
  },
  {
    method: 'post',
    path: '/api/execution-mode',
    tag: 'trading',
    summary: 'DRY_RUN (decide, send nothing), PAPER or LIVE (only when the executors run a live venue)',
    mutating: true,
    body: { schema: executionModeBody, required: true, example: { mode: 'DRY_RUN', ...reasonOperator } },
    ok: { status: 200, description: 'mode set' },
    errors: [400, 401, 403, 409, 429],
  },
  {
    method: 'get',
    path: '/admin/kill-switch',
    tag: 'kill switch',
    summary: 'The kill switch, its last reset and its audit trail',
    mutating: false,
    ok: { status: 200, description: 'the kill switch' },
    errors: [],
  },
  {
    method: 'post',
    path: '/admin/kill-switch',
    tag: 'kill switch',
    summary: 'Engage the kill switch (system or one scope): everything halts, resting orders are cancelled, the send queue pauses',
    mutating: true,
    body: { schema: killSwitchEngageBody, required: true, example: { reason: 'bad prints on BTC', operator: 'alice', scope: 'symbol:BTC-USD' } },
    ok: { status: 200, description: 'engaged', example: { engaged: true, scope: 'symbol:BTC-USD', reason: 'bad prints on BTC', by: 'alice' } },
    errors: [400, 401, 403, 429],
  },
  {
    method: 'delete',
    path: '/admin/kill-switch',
    tag: 'kill switch',
    summary: 'Reset the kill switch (with kill_switch.require_second_operator: by another authenticated operator)',
    mutating: true,
    body: { schema: killSwitchResetBody, required: true, example: { reason: 'feed fixed, positions checked', operator: 'bob' } },
    ok: { status: 200, description: 'reset' },
    errors: [400, 401, 403, 409, 429],
  },
  {
    method: 'post',
    path: '/api/circuit-breaker/reset',
    tag: 'breaker',
    summary: 'Reset the shared circuit breaker to CLOSED',
    mutating: true,
    body: { schema: optionalReasonBody, required: false, example: { reason: 'venue back', operator: 'alice' } },
    ok: { status: 200, description: 'reset' },
    errors: [400, 401, 403, 429],
  },
  {
    method: 'post',
    path: '/api/router/pause',
    tag: 'router',
    summary: 'Freeze model switching on every strategist',
    mutating: true,
    body: { schema: optionalReasonBody, required: false, example: { reason: 'switch storm', operator: 'alice' } },
    ok: { status: 200, description: 'paused', example: { router: 'paused', by: 'alice' } },
    errors: [400, 401, 403, 429],
  },
  {
    method: 'post',
    path: '/api/router/resume',
    tag: 'router',
    summary: 'Resume model switching',
    mutating: true,
    body: { schema: optionalReasonBody, required: false, example: reasonOperator },
    ok: { status: 200, description: 'running' },
    errors: [400, 401, 403, 429],
  },
  {
    method: 'post',
    path: '/api/risk/emergency-reduce',
    tag: 'risk',
    summary: 'Lower the Kelly fraction on every risk-harmoniser at once, until cleared or a reload',
    mutating: true,
    body: { schema: emergencyReduceBody, required: true, example: { kelly_fraction: 0.1, reason: 'VaR breach' } },
    ok: { status: 200, description: 'applied', example: { kelly_fraction: 0.1, reason: 'VaR breach', by: 'http:127.0.0.1' } },
    errors: [400, 401, 403, 429],
  },
  {
    method: 'delete',
    path: '/api/risk/emergency-reduce',
    tag: 'risk',
    summary: 'Clear the Kelly override (back to the configured fraction)',
    mutating: true,
    body: { schema: optionalReasonBody, required: false, example: { reason: 'VaR back under budget' } },
    ok: { status: 200, description: 'cleared' },
    errors: [400, 401, 403, 429],
  },
  {
    method: 'post',
    path: '/api/risk/preview',
    tag: 'risk',
    summary: 'What the harmoniser would do with these edges (blend, cost check, sizing, VaR): no side effect, no token',
    mutating: false,
    body: {
      schema: riskPreviewBody,
      required: true,
      example: { edges: [{ model: 'obi', edge_bps: 15, confidence: 0.8 }], price: 65_000, asset_class: 'crypto', daily_vol_pct: 3 },
    },
    ok: { status: 200, description: 'the preview' },
    errors: [400, 429],
  },
  {
    method: 'post',
    path: '/api/risk/refresh-volatility',
    tag: 'risk',
    summary: 'Re-estimate volatility from the last ticks now (deduplicated across replicas)',
    mutating: true,
    body: { schema: optionalReasonBody, required: false, example: { reason: 'regime change' } },
    ok: { status: 202, description: 'queued' },
    errors: [400, 409, 503],
  },
  {
    method: 'post',
    path: '/api/replay',
    tag: 'replay',
    summary: 'Queue a smoke replay: the last N minutes of market_events (or a CSV) through the pipeline in a namespace of its own, on the paper venue; one at a time',
    mutating: true,
    body: { schema: replayBody, required: false, example: { minutes: 15, speed: 10, reason: 'pre-deploy smoke', operator: 'alice' } },
    ok: { status: 202, description: 'queued', example: { id: 'r1796102233120', state: 'waiting', status_url: '/api/replay/r1796102233120' } },
    errors: [400, 409],
  },
  {
    method: 'get',
    path: '/api/replay',
    tag: 'replay',
    summary: 'The last 20 replays with their state, progress and headline figures',
    mutating: false,
    ok: { status: 200, description: 'replays' },
    errors: [],
  },
  {
    method: 'get',
    path: '/api/replay/:id',
    tag: 'replay',
    summary: 'One replay with its whole report (orders, PnL, VaR path, switches, triggers, tolerance)',
    mutating: false,
    params: z.object({ id: z.string().regex(/^r\d{1,16}$/) }),
    ok: { status: 200, description: 'the replay' },
    errors: [400, 404],
  },
  {
    method: 'delete',
    path: '/api/replay/:id',
    tag: 'replay',
    summary: 'Cancel a replay (a waiting one is removed; a running one stops at its next check and keeps its partial report)',
    mutating: true,
    params: z.object({ id: z.string() }),
    ok: { status: 202, description: 'cancel asked' },
    errors: [400, 404, 409],
  },
  { method: 'get', path: '/api/openapi.json', tag: 'health', summary: 'This document', mutating: false, ok: { status: 200, description: 'OpenAPI 3.1' }, errors: [] },
  {
    method: 'get',
    path: '/api/docs',
    tag: 'health',
    summary: 'The reference page for this document (redirects to /api-docs.html)',
    mutating: false,
    ok: { status: 302, description: 'to the reference page', contentType: 'text/plain' },
    errors: [],
  },
];

const errorBody = z.object({ error: z.string(), detail: z.unknown() });
const ERROR_TEXT: Record<number, string> = {
  400: 'bad body or query (the field is named)',
  401: 'missing or wrong token',
  403: 'operator differs from the token, or a second operator is required',
  404: 'not found',
  409: 'refused by the control state (for example start-trading while killed)',
  429: 'rate limited',
  503: 'unhealthy or Redis unreachable',
};

/** `/api/orders/:id` → `/api/orders/{id}`. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z_]+)/g, '{$1}');
}

let cached: Record<string, unknown> | undefined;

export function openApiDocument(): Record<string, unknown> {
  if (cached) return cached;
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'WEB_TOKEN or an operator token from WEB_OPERATOR_TOKENS; not needed when web listens on loopback only',
  });
  const errorRef = registry.register('Error', errorBody);
  for (const r of API_ROUTES) {
    const responses: Record<string, { description: string; content?: Record<string, { schema: z.ZodType | { type: 'string' }; example?: unknown }> }> = {
      [String(r.ok.status)]: {
        description: r.ok.description,
        content: {
          [r.ok.contentType ?? 'application/json']: {
            schema: r.ok.contentType ? { type: 'string' } : z.record(z.string(), z.unknown()),
            ...(r.ok.example === undefined ? {} : { example: r.ok.example }),
          },
        },
      },
    };
    // Every change can be refused for auth (401, 403), by the control state (409) or the rate limit (429).
    const errors = [...new Set([...r.errors, ...(r.mutating ? [401, 403, 409, 429] : [])])].sort();
    for (const status of errors) responses[String(status)] = { description: ERROR_TEXT[status] ?? 'error', content: { 'application/json': { schema: errorRef } } };
    registry.registerPath({
      method: r.method,
      path: openApiPath(r.path),
      tags: [r.tag],
      summary: r.summary,
      ...(r.mutating ? { security: [{ [bearer.name]: [] }, {}] } : {}),
      request: {
        ...(r.body ? { body: { required: r.body.required, content: { 'application/json': { schema: r.body.schema, example: r.body.example } } } } : {}),
        ...(r.query ? { query: r.query } : {}),
        ...(r.params ? { params: r.params } : {}),
      },
      responses,
    });
  }
  const doc = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Trading control plane operator API',
      version: '1',
      description:
        'The web service: health and status, the book, the controls (trading, kill switch, breaker, router, Kelly) and the dashboard feed. Errors are {"error", "detail"}; a wrong method answers 405 with Allow.',
    },
  });
  cached = doc as unknown as Record<string, unknown>;
  return cached;
}
