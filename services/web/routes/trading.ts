/** POST /api/stop-trading, /api/start-trading, /api/execution-mode. */
import type { Router } from 'express';
import { readControl, writeControl } from '../../core/control.ts';
import { parseScope, type Scope, type ScopedControl } from '../../core/domain/scopes.ts';
import { clearScoped } from '../../core/kill-switch.ts';
import { unknownScopeSubject } from '../../core/scope-subjects.ts';
import { readRequest, sendError } from '../http.ts';
import { executionModeBody, startTradingBody, stopTradingBody } from '../requests.ts';
import { scopedList, type StatusDeps } from '../status-report.ts';
import type { Response } from 'express';

/** Parse a scope and check it names a known symbol or model; answers 400 itself when not. */
export async function scopeOf(d: StatusDeps, text: string | undefined, res: Response): Promise<{ scope: Scope; key: string } | undefined> {
  const parsed = parseScope(text);
  if (!parsed.ok) return void sendError(res, 400, parsed.reason);
  const { ctx } = d;
  const unknown = await unknownScopeSubject({ redis: ctx.redis, keys: ctx.keys, universe: d.instruments.current, root: ctx.root, routerRulesPath: ctx.settings.configPaths.model_router }, parsed.scope);
  if (unknown) return void sendError(res, 400, unknown);
  return parsed;
}

export function tradingRoutes(router: Router, d: StatusDeps): void {
  const { ctx } = d;
  const { redis, keys } = ctx;
  const scopedEntry = async (key: string): Promise<ScopedControl | undefined> => (await readControl(redis, keys, ctx.clock.now())).scoped[key];
  const killed = (res: Response, key: string): void => sendError(res, 409, `${key} is killed; reset it with DELETE /admin/kill-switch {"scope": "${key}", ...}`);

  router.post('/api/stop-trading', async (req, res) => {
    const r = readRequest(stopTradingBody, req, res, false);
    if (!r) return;
    const s = await scopeOf(d, r.body.scope, res);
    if (!s) return;
    const reason = r.body.reason ?? 'stop-trading';
    const state = r.body.state;
    if (s.scope.kind === 'system') {
      await writeControl(redis, keys, keys.tradingState, { state, reason, by: r.by, trigger: 'stop-trading', at: ctx.clock.now() }, 'trading.stopped');
    } else {
      if ((await scopedEntry(s.key))?.kind === 'kill') return killed(res, s.key);
      const entry: ScopedControl = { state, kind: 'stop', reason, by: r.by, at: ctx.clock.now(), trigger: 'stop-trading' };
      await writeControl(redis, keys, keys.scopedControls, { [s.key]: JSON.stringify(entry) }, 'trading.stopped');
    }
    ctx.log.warn({ event: 'trading.stopped', by: r.by, scope: s.key, state }, state === 'HALTED' ? `trading stopped for ${s.key}: no new orders, resting orders cancelled` : `trading REDUCING for ${s.key}: only position-reducing orders`);
    res.json({ trading: state, scope: s.key, by: r.by });
  });

  router.post('/api/start-trading', async (req, res) => {
    const r = readRequest(startTradingBody, req, res, false);
    if (!r) return;
    const s = await scopeOf(d, r.body.scope, res);
    if (!s) return;
    if (s.scope.kind === 'system') {
      await writeControl(redis, keys, keys.tradingState, { state: 'ACTIVE', reason: r.body.reason ?? 'start-trading', by: r.by, trigger: '', at: ctx.clock.now() }, 'trading.started');
    } else {
      const entry = await scopedEntry(s.key);
      if (entry?.kind === 'kill') return killed(res, s.key);
      if (entry) await clearScoped(redis, keys, s.key, 'trading.started');
    }
    ctx.log.info({ event: 'trading.started', by: r.by, scope: s.key }, `trading started for ${s.key}`);
    const control = await readControl(redis, keys, ctx.clock.now());
    res.json({ trading: 'ACTIVE', scope: s.key, by: r.by, kill_switch_engaged: control.killSwitch.engaged, circuit_breaker: control.breaker.state, scoped: scopedList(control.scoped) });
  });

  // DRY_RUN decides and logs orders but sends none; LIVE needs a live venue.
  router.post('/api/execution-mode', async (req, res) => {
    const r = readRequest(executionModeBody, req, res, true);
    if (!r) return;
    if (r.body.mode === 'LIVE') return sendError(res, 409, 'LIVE needs a live venue; this build ships the paper venue only');
    await writeControl(redis, keys, keys.tradingState, { mode: r.body.mode, mode_by: r.by, mode_at: ctx.clock.now() }, 'execution.mode_changed');
    ctx.log.warn({ event: 'execution.mode_changed', mode: r.body.mode, by: r.by }, `execution mode ${r.body.mode}`);
    res.json({ mode: r.body.mode, by: r.by });
  });
}
