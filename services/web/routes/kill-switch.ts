/**
 * GET, POST (engage) and DELETE (reset) /admin/kill-switch, through the
 * control writer (one wording, one audit, the second-operator rule).
 *
 * With `kill_switch.require_second_operator`, a reset must come from an
 * operator authenticated by their own token (WEB_OPERATOR_TOKENS) who is
 * not the one who engaged it: a name in the body or an X-Operator header
 * proves nothing, so it cannot satisfy the rule.
 */
import type { Router } from 'express';
import { readControl } from '../../core/control/read.ts';
import { parseScope } from '../../core/domain/scopes.ts';
import { bodyText, readRequest, sendError } from '../http.ts';
import { killSwitchEngageBody, killSwitchResetBody } from '../requests.ts';
import { killSwitchView, scopedList, type StatusDeps } from '../status-report.ts';
import { answer } from './outcome.ts';
import { scopeOf } from './trading.ts';

export function killSwitchRoutes(router: Router, d: StatusDeps): void {
  const { ctx } = d;
  const { redis, keys } = ctx;

  router.get('/admin/kill-switch', async (_req, res) => {
    const control = await readControl(redis, keys, ctx.clock.now());
    const h = await redis.hgetall(keys.killSwitch);
    const k = killSwitchView(control);
    res.json({
      engaged: k.engaged,
      reason: k.engaged ? k.reason : null,
      by: k.engaged ? k.by : null,
      trigger: k.engaged ? k.trigger : null,
      scope: 'system',
      at: k.engaged ? k.at : null,
      last_reset: h['reset_at'] ? { by: h['reset_by'], reason: h['reset_reason'], at: Number(h['reset_at']) } : null,
      scoped: scopedList(control.scoped).filter((e) => e.kind === 'kill'),
    });
  });

  router.post('/admin/kill-switch', async (req, res) => {
    const r = readRequest(killSwitchEngageBody, req, res, true);
    if (!r) return;
    const s = await scopeOf(d, r.body.scope, res);
    if (!s) return;
    const who = { reason: r.body.reason, by: r.by, trigger: 'manual' };
    const outcome = s.scope.kind === 'system' ? await ctx.writer.killSwitch('engage', who) : await ctx.writer.scope(s.key, { kind: 'kill' }, who);
    answer(res, outcome, { engaged: true, scope: s.key, reason: r.body.reason, by: r.by });
  });

  router.delete('/admin/kill-switch', async (req, res) => {
    // The reason may also come as ?reason=...&scope=... (curl -X DELETE without a body).
    const q = req.query;
    if (!bodyText(req) && typeof q['reason'] === 'string') req.body = JSON.stringify({ reason: q['reason'], ...(typeof q['scope'] === 'string' ? { scope: q['scope'] } : {}) });
    const r = readRequest(killSwitchResetBody, req, res, true);
    if (!r) return;
    const parsed = parseScope(r.body.scope);
    if (!parsed.ok) return sendError(res, 400, parsed.reason);
    const dual = d.risk.current.kill_switch.require_second_operator;
    if (dual && !r.authenticated) {
      return sendError(
        res,
        403,
        "kill_switch.require_second_operator is set: a reset must be authenticated with the operator's own token (WEB_OPERATOR_TOKENS); a name in the body or X-Operator proves nothing",
      );
    }
    const who = { reason: r.body.reason, by: r.by, trigger: 'manual', requireSecondOperator: dual };
    const outcome = parsed.scope.kind === 'system' ? await ctx.writer.killSwitch('reset', who) : await ctx.writer.scope(parsed.key, { kind: 'reset' }, who);
    answer(res, outcome, { engaged: false, scope: parsed.key, reason: r.body.reason, by: r.by });
  });
}
