/** POST /api/stop-trading, /api/start-trading, /api/execution-mode: changes through the control writer. */
import type { Response, Router } from 'express';
import { readControl } from '../../core/control/read.ts';
import { parseScope, type Scope } from '../../core/domain/scopes.ts';
import { unknownScopeSubject } from '../../core/scope-subjects.ts';
import { readRequest, sendError } from '../http.ts';
import { executionModeBody, startTradingBody, stopTradingBody } from '../requests.ts';
import { LIVE_CONFIRMATION } from '../../core/settings.ts';
import { asRecord, parseJson, scopedList, type StatusDeps } from '../status-report.ts';
import { answer } from './outcome.ts';

/** Parse a scope and check it names a known symbol or model; answers 400 itself when not. */
export async function scopeOf(d: StatusDeps, text: string | undefined, res: Response): Promise<{ scope: Scope; key: string } | undefined> {
  const parsed = parseScope(text);
  if (!parsed.ok) return void sendError(res, 400, parsed.reason);
  const { ctx } = d;
  const unknown = await unknownScopeSubject(
    { redis: ctx.redis, shards: ctx.shards, universe: d.instruments.current, root: ctx.root, routerRulesPath: ctx.settings.configPaths.model_router },
    parsed.scope,
  );
  if (unknown) return void sendError(res, 400, unknown);
  return parsed;
}

/** The kinds of venue the running executors trade on (paper, live), from their heartbeats. */
async function executorVenueKinds(d: StatusDeps): Promise<Set<string>> {
  const details = await d.ctx.redis.hgetall(d.ctx.keys.heartbeatDetail);
  const kinds = new Set<string>();
  for (const [member, raw] of Object.entries(details)) {
    if (!member.startsWith('executor|')) continue;
    const kind = asRecord(parseJson(raw))['venue_kind'];
    if (typeof kind === 'string') kinds.add(kind);
  }
  return kinds;
}

export function tradingRoutes(router: Router, d: StatusDeps): void {
  const { ctx } = d;

  router.post('/api/stop-trading', async (req, res) => {
    const r = readRequest(stopTradingBody, req, res, false);
    if (!r) return;
    const s = await scopeOf(d, r.body.scope, res);
    if (!s) return;
    const who = { reason: r.body.reason ?? 'stop-trading', by: r.by, trigger: 'stop-trading' };
    const command = { kind: 'stop', state: r.body.state } as const;
    const outcome = s.scope.kind === 'system' ? await ctx.writer.trading(command, who) : await ctx.writer.scope(s.key, command, who);
    answer(res, outcome, { trading: r.body.state, scope: s.key, by: r.by });
  });

  router.post('/api/start-trading', async (req, res) => {
    const r = readRequest(startTradingBody, req, res, false);
    if (!r) return;
    const s = await scopeOf(d, r.body.scope, res);
    if (!s) return;
    const who = { reason: r.body.reason ?? 'start-trading', by: r.by };
    const outcome = s.scope.kind === 'system' ? await ctx.writer.trading({ kind: 'start' }, who) : await ctx.writer.scope(s.key, { kind: 'start' }, who);
    const control = await readControl(ctx.redis, ctx.keys, ctx.clock.now());
    answer(res, outcome, {
      trading: 'ACTIVE',
      scope: s.key,
      by: r.by,
      kill_switch_engaged: control.killSwitch.engaged,
      circuit_breaker: control.breaker.state,
      scoped: scopedList(control.scoped),
    });
  });

  // DRY_RUN decides and logs orders but sends none. PAPER and LIVE send: which one is the executors' venue (VENUE), not a switch here.
  router.post('/api/execution-mode', async (req, res) => {
    const r = readRequest(executionModeBody, req, res, true);
    if (!r) return;
    if (r.body.mode !== 'DRY_RUN') {
      const kinds = await executorVenueKinds(d);
      if (r.body.mode === 'LIVE' && !kinds.has('live'))
        return sendError(
          res,
          409,
          `LIVE needs a live venue: no executor runs one (start them with VENUE=binance, VENUE_API_KEY, VENUE_API_SECRET and LIVE_TRADING_CONFIRM=${LIVE_CONFIRMATION})`,
        );
      if (r.body.mode === 'PAPER' && kinds.has('live'))
        return sendError(res, 409, 'the executors trade on a live venue (real orders): DRY_RUN stops sending; a paper book needs executors started with VENUE=paper');
    }
    const outcome = await ctx.writer.executionMode(r.body.mode, { reason: r.body.reason ?? 'execution-mode', by: r.by });
    answer(res, outcome, { mode: r.body.mode, by: r.by });
  });
}
