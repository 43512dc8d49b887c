/**
 * The operator HTTP API. Reads state from Redis; every mutation is a write
 * to the shared control plane (core/control.ts), seen by every instance.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { join } from 'node:path';
import type { ConfigHolder } from '../core/config/reloader.ts';
import type { RiskHarmoniserConfig } from '../core/config/schemas.ts';
import { readControl, recordBreakerTransition, UNKNOWN_CONTROL, writeControl, type ControlSnapshot } from '../core/control.ts';
import { transitionFor } from '../core/domain/breaker.ts';
import { applyBreakerTransition } from '../core/redis/breaker-scripts.ts';
import { parseScope, type Scope, type ScopedControl } from '../core/domain/scopes.ts';
import { checkKillReset, clearScoped, recordKillEvent, stateDir } from '../core/kill-switch.ts';
import { unknownScopeSubject } from '../core/scope-subjects.ts';
import { heartbeatMember, parseHeartbeats } from '../core/heartbeats.ts';
import { fieldsFromArray } from '../core/messages.ts';
import type { ServiceContext } from '../core/service.ts';
import { evaluateHealth, evaluateReady, type HealthInputs, type Heartbeat } from './domain/health.ts';
import { previewRisk } from '../core/domain/risk-preview.ts';
import { emergencyReduceBody, executionModeBody, killSwitchEngageBody, killSwitchResetBody, optionalReasonBody, parseBody, riskPreviewBody, startTradingBody, stopTradingBody } from './requests.ts';

export interface AppOptions {
  /** Mutations need `Authorization: Bearer <token>` when set. */
  token: string | undefined;
  requiredServices: readonly string[];
  heartbeatIntervalMs: number;
  risk: ConfigHolder<RiskHarmoniserConfig>;
  versions: () => Record<string, string>;
}

export function createApp(ctx: ServiceContext, o: AppOptions): express.Express {
  const { redis, keys } = ctx;
  const app = express();
  app.disable('x-powered-by');
  app.use(express.text({ type: () => true, limit: '64kb' }));
  const auditFile = join(stateDir(ctx.root), 'kill_events.jsonl');

  const requireAuth = (req: Request, res: Response, next: NextFunction): void => {
    if (!o.token) return next();
    if (req.headers.authorization === `Bearer ${o.token}`) return next();
    res.status(401).json({ error: 'missing or wrong Authorization: Bearer <token>' });
  };
  const body = (req: Request): string | undefined => (typeof req.body === 'string' ? req.body : undefined);
  const who = (operator: string | undefined, req: Request): string => operator ?? (req.headers['x-operator'] as string | undefined) ?? `http:${req.ip ?? 'unknown'}`;

  async function gather(): Promise<{ inputs: HealthInputs; heartbeats: Heartbeat[] }> {
    const now = ctx.clock.now();
    let redisOk = true;
    let redisError = '';
    let heartbeats: Heartbeat[];
    let control: ControlSnapshot = UNKNOWN_CONTROL;
    try {
      await redis.ping();
      const [members, details] = await Promise.all([redis.zrange(keys.heartbeats, '0', '-1', 'WITHSCORES'), redis.hgetall(keys.heartbeatDetail)]);
      heartbeats = parseHeartbeats(members).map((h) => ({ ...h, detail: (parseJson(details[heartbeatMember(h.service, h.instance)]) ?? {}) as Record<string, unknown> }));
      control = await readControl(redis, keys, now);
    } catch (err) {
      redisOk = false;
      redisError = err instanceof Error ? err.message : String(err);
      heartbeats = [];
    }
    return {
      heartbeats,
      inputs: { redisOk, redisError, heartbeats, requiredServices: o.requiredServices, control, now, heartbeatIntervalMs: o.heartbeatIntervalMs, missedCycles: o.risk.current.kill_switch.heartbeat_missed_cycles },
    };
  }

  app.get('/health', async (_req, res) => {
    const { inputs } = await gather();
    const report = evaluateHealth(inputs);
    res.status(report.status === 'healthy' ? 200 : 503).json({ ...report, timestamp: new Date(inputs.now).toISOString() });
  });

  app.get('/api/ready', async (_req, res) => {
    const { inputs } = await gather();
    const r = evaluateReady(inputs);
    res.status(r.ready ? 200 : 503).json(r);
  });

  app.get('/api/status', async (_req, res) => {
    const { inputs, heartbeats } = await gather();
    if (!inputs.redisOk) {
      res.status(503).json({ error: `redis unreachable: ${inputs.redisError}` });
      return;
    }
    const c = inputs.control;
    const symbols = Object.keys(await redis.hgetall(keys.marketDataSeen)).sort();
    const pipe = redis.pipeline();
    for (const s of symbols) pipe.get(keys.strategistState(s)).get(keys.position(s)).get(keys.edgeBlended(s));
    pipe.hgetall(keys.configApplied('risk_harmoniser')).hgetall(keys.configApplied('model_router'));
    pipe.xrevrange(keys.reloadOutcomes, '+', '-', 'COUNT', 20);
    pipe.hgetall(keys.riskPortfolio);
    const res2 = (await pipe.exec()) ?? [];
    const val = (i: number): unknown => res2[i]?.[1];
    const activeModels: Record<string, unknown> = {};
    const positions: Record<string, unknown> = {};
    const risk: Record<string, unknown> = {};
    symbols.forEach((s, i) => {
      const st = parseJson(val(i * 3)) as { routing?: { active: string; since: number; reason: string; ruleIndex: number }; horizonMs?: number; assetClass?: string; explanation?: string } | undefined;
      if (st?.routing) {
        activeModels[s] = { model: st.routing.active, since: new Date(st.routing.since).toISOString(), reason: st.routing.reason, rule_index: st.routing.ruleIndex, why: st.explanation, horizon_ms: st.horizonMs, asset_class: st.assetClass };
      }
      positions[s] = parseJson(val(i * 3 + 1)) ?? { qty: 0 };
      const edge = parseJson(val(i * 3 + 2)) as Record<string, unknown> | undefined;
      if (edge) risk[s] = { blended_edge_bps: edge['blended_edge_bps'], target_position_usd: edge['target_position_usd'], var_pct: edge['var_pct'], kelly_fraction: edge['kelly_fraction'] };
    });
    const base = symbols.length * 3;
    const applied = (i: number): Record<string, unknown> =>
      Object.fromEntries(Object.entries((val(i) as Record<string, string>) ?? {}).map(([k, v]) => [k, parseJson(v)]));
    const outcomes = ((val(base + 2) as [string, string[]][]) ?? []).map(([id, f]) => ({ id, ...fieldsFromArray(f) }));
    const services: Record<string, unknown[]> = {};
    for (const h of heartbeats) {
      (services[h.service] ??= []).push({ instance: h.instance, age_ms: inputs.now - h.ts, ...h.detail });
    }
    const killEngaged = c.killSwitch.engaged;
    res.json({
      timestamp: new Date(inputs.now).toISOString(),
      trading: {
        state: killEngaged ? 'HALTED' : c.trading.state,
        stored_state: c.trading.state,
        reason: killEngaged ? `kill switch: ${c.killSwitch.reason}` : c.trading.reason,
        by: c.trading.by,
        at: c.trading.at,
        mode: c.trading.mode,
        scope: 'system',
        trigger: killEngaged ? c.killSwitch.trigger : c.trading.state === 'ACTIVE' ? null : c.trading.trigger || 'manual',
        scoped: scopedList(c.scoped),
      },
      circuit_breaker: c.breaker,
      kill_switch: c.killSwitch,
      router: c.router,
      kelly_override: c.kellyOverride,
      portfolio: val(base + 3) ?? {},
      active_models: activeModels,
      risk,
      positions,
      config_versions: { web: o.versions(), applied: { risk_harmoniser: applied(base), model_router: applied(base + 1) } },
      reload_outcomes: outcomes,
      services,
    });
  });

  app.get('/metrics', async (_req, res) => {
    res.set('content-type', ctx.registry.contentType).send(await ctx.registry.metrics());
  });

  // ---- mutations --------------------------------------------------------
  const bad = (res: Response, error: string): void => void res.status(400).json({ error });

  /** Parse a scope and check it names a known symbol or model; answers 400 itself when not. */
  const scopeOf = async (text: string | undefined, res: Response): Promise<{ scope: Scope; key: string } | undefined> => {
    const parsed = parseScope(text);
    if (!parsed.ok) return void bad(res, parsed.reason);
    const unknown = await unknownScopeSubject(redis, keys, parsed.scope, ctx.root);
    if (unknown) return void bad(res, unknown);
    return parsed;
  };
  const scopedEntry = async (key: string): Promise<ScopedControl | undefined> => {
    const c = await readControl(redis, keys, ctx.clock.now());
    return c.scoped[key];
  };

  app.post('/api/stop-trading', requireAuth, async (req, res) => {
    const b = parseBody(stopTradingBody, body(req), false);
    if (!b.ok) return bad(res, b.error);
    const s = await scopeOf(b.value.scope, res);
    if (!s) return;
    const by = who(b.value.operator, req);
    const reason = b.value.reason ?? 'stop-trading';
    const state = b.value.state;
    if (s.scope.kind === 'system') {
      await writeControl(redis, keys, keys.tradingState, { state, reason, by, trigger: 'stop-trading', at: ctx.clock.now() }, 'trading.stopped');
    } else {
      if ((await scopedEntry(s.key))?.kind === 'kill') {
        res.status(409).json({ error: `${s.key} is killed; reset it with DELETE /admin/kill-switch {"scope": "${s.key}", ...}` });
        return;
      }
      const entry: ScopedControl = { state, kind: 'stop', reason, by, at: ctx.clock.now(), trigger: 'stop-trading' };
      await writeControl(redis, keys, keys.scopedControls, { [s.key]: JSON.stringify(entry) }, 'trading.stopped');
    }
    ctx.log.warn({ event: 'trading.stopped', by, scope: s.key, state }, state === 'HALTED' ? `trading stopped for ${s.key}: no new orders, resting orders cancelled` : `trading REDUCING for ${s.key}: only position-reducing orders`);
    res.json({ trading: state, scope: s.key, by });
  });

  app.post('/api/start-trading', requireAuth, async (req, res) => {
    const b = parseBody(startTradingBody, body(req), false);
    if (!b.ok) return bad(res, b.error);
    const s = await scopeOf(b.value.scope, res);
    if (!s) return;
    const by = who(b.value.operator, req);
    if (s.scope.kind === 'system') {
      await writeControl(redis, keys, keys.tradingState, { state: 'ACTIVE', reason: b.value.reason ?? 'start-trading', by, trigger: '', at: ctx.clock.now() }, 'trading.started');
    } else {
      const entry = await scopedEntry(s.key);
      if (entry?.kind === 'kill') {
        res.status(409).json({ error: `${s.key} is killed; reset it with DELETE /admin/kill-switch {"scope": "${s.key}", ...}` });
        return;
      }
      if (entry) await clearScoped(redis, keys, s.key, 'trading.started');
    }
    ctx.log.info({ event: 'trading.started', by, scope: s.key }, `trading started for ${s.key}`);
    const control = await readControl(redis, keys, ctx.clock.now());
    res.json({ trading: 'ACTIVE', scope: s.key, by, kill_switch_engaged: control.killSwitch.engaged, circuit_breaker: control.breaker.state, scoped: scopedList(control.scoped) });
  });

  // DRY_RUN decides and logs orders but sends none; LIVE needs a live venue, which this build does not ship.
  app.post('/api/execution-mode', requireAuth, async (req, res) => {
    const b = parseBody(executionModeBody, body(req), true);
    if (!b.ok) return bad(res, b.error);
    if (b.value.mode === 'LIVE') {
      res.status(409).json({ error: 'LIVE needs a live venue; this build ships the paper venue only' });
      return;
    }
    const by = who(b.value.operator, req);
    await writeControl(redis, keys, keys.tradingState, { mode: b.value.mode, mode_by: by, mode_at: ctx.clock.now() }, 'execution.mode_changed');
    ctx.log.warn({ event: 'execution.mode_changed', mode: b.value.mode, by }, `execution mode ${b.value.mode}`);
    res.json({ mode: b.value.mode, by });
  });

  const routerControl = (paused: boolean) => async (req: Request, res: Response): Promise<void> => {
    const b = parseBody(optionalReasonBody, body(req), false);
    if (!b.ok) return bad(res, b.error);
    const by = who(b.value.operator, req);
    await writeControl(redis, keys, keys.routerControl, { paused: paused ? '1' : '0', by, reason: b.value.reason ?? (paused ? 'pause' : 'resume'), at: ctx.clock.now() }, paused ? 'router.paused' : 'router.resumed');
    ctx.log.info({ event: paused ? 'router.paused' : 'router.resumed', by }, paused ? 'model router paused' : 'model router resumed');
    res.json({ router: paused ? 'paused' : 'running', by });
  };
  app.post('/api/router/pause', requireAuth, routerControl(true));
  app.post('/api/router/resume', requireAuth, routerControl(false));

  app.post('/api/risk/emergency-reduce', requireAuth, async (req, res) => {
    const b = parseBody(emergencyReduceBody, body(req), true);
    if (!b.ok) return bad(res, b.error);
    const by = who(b.value.operator, req);
    await writeControl(redis, keys, keys.kellyOverride, { kelly_fraction: b.value.kelly_fraction, reason: b.value.reason, by, at: ctx.clock.now() }, 'risk.kelly_override');
    ctx.log.warn({ event: 'risk.emergency_reduce', kelly_fraction: b.value.kelly_fraction, reason: b.value.reason, by }, `Kelly fraction lowered to ${b.value.kelly_fraction}: ${b.value.reason}`);
    res.json({ kelly_fraction: b.value.kelly_fraction, reason: b.value.reason, by });
  });

  app.delete('/api/risk/emergency-reduce', requireAuth, async (req, res) => {
    await redis.multi().del(keys.kellyOverride).publish(keys.controlEvents, JSON.stringify({ event: 'risk.kelly_override_cleared' })).exec();
    ctx.log.info({ event: 'risk.kelly_override_cleared', by: who(undefined, req) }, 'Kelly override cleared');
    res.json({ kelly_override: null });
  });

  // Side-effect free: no token needed.
  app.post('/api/risk/preview', (req, res) => {
    const b = parseBody(riskPreviewBody, body(req), true);
    if (!b.ok) return bad(res, b.error);
    res.json(previewRisk(b.value, o.risk.current));
  });

  app.post('/api/risk/refresh-volatility', requireAuth, async (_req, res) => {
    let receivers = await redis.publish(keys.controlCommands, 'refresh-volatility');
    if (receivers === 0) {
      // On Redis Cluster PUBLISH counts only the subscribers of the node it went
      // to (the message still reaches all); live risk-harmonisers say who listens.
      const since = ctx.clock.now() - 3 * o.heartbeatIntervalMs;
      receivers = parseHeartbeats(await redis.zrangebyscore(keys.heartbeats, since, '+inf', 'WITHSCORES')).filter((h) => h.service === 'risk-harmoniser').length;
    }
    if (receivers === 0) {
      res.status(503).json({ error: 'no risk-harmoniser is listening' });
      return;
    }
    res.status(202).json({ requested: true, receivers });
  });

  app.post('/api/circuit-breaker/reset', requireAuth, async (req, res) => {
    const b = parseBody(optionalReasonBody, body(req), false);
    if (!b.ok) return bad(res, b.error);
    const by = who(b.value.operator, req);
    // One atomic check-and-move: two resets, or a reset racing a trip, cannot both apply.
    const transition = transitionFor({ kind: 'operator_reset', reason: b.value.reason ?? 'manual' });
    const outcome = await applyBreakerTransition(redis, keys, transition, by, ctx.clock.now());
    if (!outcome.moved) {
      res.status(409).json({ error: `circuit breaker is ${outcome.previous}, not OPEN`, state: outcome.previous });
      return;
    }
    recordBreakerTransition(ctx, transition, outcome, by);
    res.json({ state: 'HALF_OPEN', previous: 'OPEN', by });
  });

  app.get('/admin/kill-switch', async (_req, res) => {
    const control = await readControl(redis, keys, ctx.clock.now());
    const h = await redis.hgetall(keys.killSwitch);
    res.json({
      engaged: control.killSwitch.engaged,
      reason: h['reason'] ?? null,
      by: h['by'] ?? null,
      trigger: h['trigger'] ?? null,
      scope: 'system',
      at: h['at'] ? Number(h['at']) : null,
      last_reset: h['reset_at'] ? { by: h['reset_by'], reason: h['reset_reason'], at: Number(h['reset_at']) } : null,
      scoped: scopedList(control.scoped).filter((e) => e.kind === 'kill'),
    });
  });

  app.post('/admin/kill-switch', requireAuth, async (req, res) => {
    const b = parseBody(killSwitchEngageBody, body(req), true);
    if (!b.ok) return bad(res, b.error);
    const s = await scopeOf(b.value.scope, res);
    if (!s) return;
    const by = who(b.value.operator, req);
    await recordKillEvent(redis, keys, { action: 'engage', reason: b.value.reason, by, trigger: 'manual', scope: s.key, at: ctx.clock.now() }, auditFile);
    ctx.log.error({ event: 'kill_switch.engaged', reason: b.value.reason, by, scope: s.key }, `Kill-switch triggered for ${s.key} due to ${b.value.reason}`);
    res.json({ engaged: true, scope: s.key, reason: b.value.reason, by });
  });

  app.delete('/admin/kill-switch', requireAuth, async (req, res) => {
    const raw = body(req) || (typeof req.query['reason'] === 'string' ? JSON.stringify({ reason: req.query['reason'], ...(typeof req.query['scope'] === 'string' ? { scope: req.query['scope'] } : {}) }) : '');
    const b = parseBody(killSwitchResetBody, raw, true);
    if (!b.ok) return bad(res, b.error);
    const parsed = parseScope(b.value.scope);
    if (!parsed.ok) return bad(res, parsed.reason);
    const by = who(b.value.operator, req);
    const check = await checkKillReset(redis, keys, parsed.scope, by, o.risk.current.kill_switch.require_second_operator);
    if (!check.ok) {
      res.status(409).json({ error: check.error });
      return;
    }
    await recordKillEvent(redis, keys, { action: 'reset', reason: b.value.reason, by, trigger: 'manual', scope: parsed.key, at: ctx.clock.now() }, auditFile);
    ctx.log.warn({ event: 'kill_switch.reset', reason: b.value.reason, by, scope: parsed.key }, `kill switch reset for ${parsed.key}`);
    res.json({ engaged: false, scope: parsed.key, reason: b.value.reason, by });
  });

  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: number }).status ?? 500;
    ctx.log.error({ event: 'http.error', err: String(err) }, 'request failed');
    res.status(status).json({ error: status === 500 ? 'internal error' : String((err as Error).message) });
  });
  return app;
}

function scopedList(scoped: Readonly<Record<string, ScopedControl>>): (ScopedControl & { scope: string })[] {
  return Object.entries(scoped)
    .map(([scope, c]) => ({ scope, ...c }))
    .sort((a, b) => a.scope.localeCompare(b.scope));
}

function parseJson(v: unknown): unknown {
  if (typeof v !== 'string') return undefined;
  try {
    return JSON.parse(v);
  } catch {
    return undefined;
  }
}
