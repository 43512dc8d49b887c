/**
 * What /health, /api/ready and /api/status report, read from Redis in named
 * parallel reads (no positional pipeline arithmetic) and shaped by plain
 * functions.
 */
import type { ConfigHolder } from '../core/config/reloader.ts';
import type { InstrumentsConfig, RiskHarmoniserConfig } from '../core/config/schemas.ts';
import { readControl } from '../core/control/read.ts';
import { effectiveTrading, UNKNOWN_CONTROL, type ControlSnapshot } from '../core/domain/control-state.ts';
import type { ScopedControl } from '../core/domain/scopes.ts';
import { heartbeatMember, parseHeartbeats } from '../core/heartbeats.ts';
import { fieldsFromArray } from '../core/messages.ts';
import type { ServiceContext } from '../core/service.ts';
import { alertSummary } from './domain/alert-summary.ts';
import { evaluateHealth, type HealthInputs, type Heartbeat } from './domain/health.ts';

export interface StatusDeps {
  ctx: ServiceContext;
  risk: ConfigHolder<RiskHarmoniserConfig>;
  instruments: ConfigHolder<InstrumentsConfig>;
  versions(): Record<string, string>;
  /** Rate limiters, as /health shows them. */
  rateLimits(): Promise<Record<string, unknown>>;
}

export async function gatherHealth(d: StatusDeps): Promise<{ inputs: HealthInputs; heartbeats: Heartbeat[] }> {
  const { redis, keys, clock, settings } = d.ctx;
  const now = clock.now();
  let redisOk = true;
  let redisError = '';
  let heartbeats: Heartbeat[] = [];
  let control: ControlSnapshot = UNKNOWN_CONTROL;
  try {
    await redis.ping();
    const [members, details] = await Promise.all([redis.zrange(keys.heartbeats, '0', '-1', 'WITHSCORES'), redis.hgetall(keys.heartbeatDetail)]);
    heartbeats = parseHeartbeats(members).map((h) => ({ ...h, detail: asRecord(parseJson(details[heartbeatMember(h.service, h.instance)])) }));
    control = await readControl(redis, keys, now, settings.executionMode);
  } catch (err) {
    redisOk = false;
    redisError = err instanceof Error ? err.message : String(err);
  }
  return {
    heartbeats,
    inputs: {
      redisOk,
      redisError,
      heartbeats,
      requiredServices: settings.web.requiredServices,
      control,
      now,
      heartbeatIntervalMs: settings.heartbeatIntervalMs,
      missedCycles: d.risk.current.kill_switch.heartbeat_missed_cycles,
    },
  };
}

/** The kill switch as operators read it: no reason is shown once it is reset (the audit keeps it). */
export function killSwitchView(c: ControlSnapshot): ControlSnapshot['killSwitch'] {
  return c.killSwitch.engaged ? c.killSwitch : { engaged: false, reason: '', by: '', at: 0, trigger: '' };
}

export function scopedList(scoped: Readonly<Record<string, ScopedControl>>): (ScopedControl & { scope: string })[] {
  return Object.entries(scoped)
    .map(([scope, c]) => ({ scope, ...c }))
    .sort((a, b) => a.scope.localeCompare(b.scope));
}

/** The universe plus every symbol the system has seen ticks for (a scope or a report may name either). */
export async function knownSymbols(d: StatusDeps): Promise<string[]> {
  const seen = await Promise.all(d.ctx.shards.keys.map((k) => d.ctx.redis.hkeys(k.marketDataSeen)));
  return [...new Set([...Object.keys(d.instruments.current.symbols), ...seen.flat()])].sort();
}

export async function buildStatus(d: StatusDeps, inputs: HealthInputs, heartbeats: readonly Heartbeat[]): Promise<Record<string, unknown>> {
  const { redis, keys, shards } = d.ctx;
  const c = inputs.control;
  const symbols = await knownSymbols(d);
  const perSymbol = await Promise.all(
    symbols.map(async (s) => {
      const k = shards.keysOf(s);
      const [strategist, position, edge] = await Promise.all([redis.get(k.strategistState(s)), redis.get(k.position(s)), redis.get(k.edgeBlended(s))]);
      return { symbol: s, strategist: parseJson(strategist), position: parseJson(position), edge: parseJson(edge) };
    }),
  );
  const [riskApplied, routerApplied, instrumentsApplied, outcomes, portfolios, lastReset] = await Promise.all([
    redis.hgetall(keys.configApplied('risk_harmoniser')),
    redis.hgetall(keys.configApplied('model_router')),
    redis.hgetall(keys.configApplied('instruments')),
    redis.xrevrange(keys.reloadOutcomes, '+', '-', 'COUNT', 20) as Promise<[string, string[]][]>,
    Promise.all(shards.keys.map((k) => redis.hgetall(k.riskPortfolio))),
    redis.hmget(keys.killSwitch, 'reset_by', 'reset_reason', 'reset_at'),
  ]);
  // With write shards each shard's risk harmoniser writes the whole book's VaR as it saw it: the newest stands, each shard's is listed.
  const portfolio: Record<string, unknown> =
    portfolios.length === 1
      ? portfolios[0]!
      : { ...portfolios.reduce((a, b) => (Number(b['at'] ?? 0) > Number(a['at'] ?? 0) ? b : a)), shards: portfolios.map((p, shard) => ({ shard, ...p })) };

  const activeModels: Record<string, unknown> = {};
  const positions: Record<string, unknown> = {};
  const risk: Record<string, unknown> = {};
  for (const { symbol, strategist, position, edge } of perSymbol) {
    const st = asRecord(strategist);
    const routing = asRecord(st['routing']);
    if (typeof routing['active'] === 'string') {
      activeModels[symbol] = {
        model: routing['active'],
        since: new Date(Number(routing['since'])).toISOString(),
        reason: routing['reason'],
        rule_index: routing['ruleIndex'],
        why: st['explanation'],
        horizon_ms: st['horizonMs'],
        asset_class: st['assetClass'],
      };
    }
    positions[symbol] = position ?? { qty: 0 };
    const e = asRecord(edge);
    if (edge !== undefined)
      risk[symbol] = { blended_edge_bps: e['blended_edge_bps'], target_position_usd: e['target_position_usd'], var_pct: e['var_pct'], kelly_fraction: e['kelly_fraction'] };
  }
  const applied = (h: Record<string, string>): Record<string, unknown> => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, parseJson(v)]));
  const services: Record<string, unknown[]> = {};
  for (const h of heartbeats) (services[h.service] ??= []).push({ instance: h.instance, age_ms: inputs.now - h.ts, ...h.detail });
  const effective = effectiveTrading(c);
  const execution = await executionView(d, heartbeats);
  const [resetBy, resetReason, resetAt] = lastReset;
  const limits = d.risk.current.risk_limits;
  const reconciliation: Record<string, { ok: boolean; error: string }> = {};
  const driftPct: Record<string, number> = {};
  for (const [venue, h] of Object.entries(asRecord(execution['reconciliation']))) {
    const r = asRecord(h);
    reconciliation[venue] = { ok: r['ok'] === '1', error: typeof r['error'] === 'string' ? r['error'] : '' };
    for (const [symbol, pct] of Object.entries(asRecord(r['drift']))) if (typeof pct === 'number') driftPct[symbol] = Math.max(driftPct[symbol] ?? 0, pct);
  }
  const alerts = alertSummary({
    control: c,
    components: evaluateHealth(inputs).components,
    portfolioVarPct: Number(portfolio['var_pct'] ?? 0) || 0,
    varLevels: { reloadBlock: limits.reload_block_var_pct, guard: limits.var_limit_pct * limits.var_warning_ratio, limit: limits.var_limit_pct },
    reconciliation,
    driftPct,
    driftLimitPct: d.risk.current.execution.position_drift_pct,
  });
  return {
    timestamp: new Date(inputs.now).toISOString(),
    alerts,
    trading: {
      state: effective.state,
      stored_state: c.trading.state,
      reason: effective.reason,
      by: c.trading.by,
      at: c.trading.at,
      mode: c.trading.mode,
      scope: 'system',
      trigger: effective.trigger || null,
      scoped: scopedList(c.scoped),
    },
    circuit_breaker: c.breaker,
    kill_switch: { ...killSwitchView(c), last_reset: resetAt ? { by: resetBy, reason: resetReason, at: Number(resetAt) } : null },
    router: c.router,
    kelly_override: c.kellyOverride,
    execution,
    portfolio,
    active_models: activeModels,
    risk,
    positions,
    universe: Object.keys(d.instruments.current.symbols).sort(),
    config_versions: { web: d.versions(), applied: { risk_harmoniser: applied(riskApplied), model_router: applied(routerApplied), instruments: applied(instrumentsApplied) } },
    reload_outcomes: outcomes.map(([id, f]) => ({ id, ...fieldsFromArray(f) })),
    services,
  };
}

const ORDER_STATES = ['NEW', 'SUBMITTED', 'ACCEPTED', 'PARTIALLY_FILLED', 'FILLED', 'CANCELLED', 'REJECTED', 'EXPIRED'] as const;

/**
 * The executors' venue and mode (from their heartbeats: LIVE means real
 * orders), orders by state, the last rejections with their reasons, and
 * each venue's last reconciliation.
 */
async function executionView(d: StatusDeps, heartbeats: readonly Heartbeat[]): Promise<Record<string, unknown>> {
  const { redis, shards } = d.ctx;
  const executors = heartbeats
    .filter((h) => h.service === 'executor')
    .map((h) => ({ instance: h.instance, venue: h.detail['venue'], venue_kind: h.detail['venue_kind'], mode: h.detail['mode'], reconciled: h.detail['reconciled'] }));
  const venues = [...new Set(executors.map((e) => (typeof e.venue === 'string' ? e.venue : '')).filter(Boolean))];
  // Summed over write shards; a shard's reconciliation is listed as `<venue>/s<shard>`.
  const [counts, rejectedIds, reconciliations] = await Promise.all([
    Promise.all(ORDER_STATES.map(async (st) => (await Promise.all(shards.keys.map((k) => redis.zcard(k.ordersByState(st))))).reduce((a, b) => a + b, 0))),
    Promise.all(
      shards.keys.map(async (k) =>
        (await redis.zrevrange(k.ordersByState('REJECTED'), 0, 9, 'WITHSCORES')).flatMap((v, i, a) => (i % 2 === 0 ? [{ k, id: v, score: Number(a[i + 1]) }] : [])),
      ),
    ),
    Promise.all(shards.keys.flatMap((k, shard) => venues.map(async (v) => [shards.count > 1 ? `${v}/s${shard}` : v, await redis.hgetall(k.reconciliation(v))] as const))),
  ]);
  const rejected = await Promise.all(
    rejectedIds
      .flat()
      .sort((a, b) => b.score - a.score)
      .slice(0, 10)
      .map(async ({ k, id }) => {
        const [symbol, reason, at] = await redis.hmget(k.order(id), 'symbol', 'reason', 'updated_at');
        return { client_order_id: id, symbol, reason, at: Number(at) };
      }),
  );
  return {
    executors,
    mode: executors.some((e) => e.mode === 'LIVE') ? 'LIVE' : (executors[0]?.mode ?? null),
    orders: Object.fromEntries(ORDER_STATES.map((st, i) => [st, counts[i]])),
    last_rejections: rejected,
    reconciliation: Object.fromEntries(reconciliations.map(([v, h]) => [v, { ...h, drift: parseJson(h['drift']) }])),
  };
}

export function parseJson(v: unknown): unknown {
  if (typeof v !== 'string') return undefined;
  try {
    return JSON.parse(v);
  } catch {
    return undefined;
  }
}

export function asRecord(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}
