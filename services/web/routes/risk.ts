/**
 * POST/DELETE /api/risk/emergency-reduce, POST /api/risk/preview,
 * POST /api/risk/refresh-volatility (one refresh at a time across the
 * deployment: a second request while one runs gets 409 with who asked).
 */
import { randomUUID } from 'node:crypto';
import type { Router } from 'express';
import { previewRisk } from '../../core/domain/risk-preview.ts';
import { parseHeartbeats } from '../../core/heartbeats.ts';
import { parseBody } from '../requests.ts';
import { bodyText, readRequest, sendError } from '../http.ts';
import { emergencyReduceBody, optionalReasonBody, riskPreviewBody } from '../requests.ts';
import { parseJson, type StatusDeps } from '../status-report.ts';
import { answer } from './outcome.ts';

/** How long a refresh may hold the lock; the worker releases it when done. */
export const VOL_REFRESH_LOCK_MS = 120_000;

export function riskRoutes(router: Router, d: StatusDeps): void {
  const { ctx } = d;
  const { redis, keys } = ctx;

  router.post('/api/risk/emergency-reduce', async (req, res) => {
    const r = readRequest(emergencyReduceBody, req, res, true);
    if (!r) return;
    const outcome = await ctx.writer.kellyOverride(r.body.kelly_fraction, { reason: r.body.reason, by: r.by });
    answer(res, outcome, { kelly_fraction: r.body.kelly_fraction, reason: r.body.reason, by: r.by });
  });

  router.delete('/api/risk/emergency-reduce', async (req, res) => {
    const r = readRequest(optionalReasonBody, req, res, false);
    if (!r) return;
    const outcome = await ctx.writer.kellyOverride(null, { reason: r.body.reason ?? 'cleared by an operator', by: r.by });
    answer(res, outcome, { kelly_override: null, by: r.by });
  });

  // Side-effect free: no token needed (still rate limited as a POST).
  router.post('/api/risk/preview', (req, res) => {
    const b = parseBody(riskPreviewBody, bodyText(req), true);
    if (!b.ok) return sendError(res, 400, b.error);
    res.json(previewRisk(b.value, d.risk.current));
  });

  router.post('/api/risk/refresh-volatility', async (req, res) => {
    const r = readRequest(optionalReasonBody, req, res, false);
    if (!r) return;
    const id = randomUUID();
    const request = { id, by: r.by, requested_at: ctx.clock.now() };
    // The first shard's request is the lock; with write shards every other shard gets the request too (each refreshes its symbols).
    const [first, ...others] = ctx.shards.keys;
    const taken = await redis.set(first!.volRefresh, JSON.stringify(request), 'PX', VOL_REFRESH_LOCK_MS, 'NX');
    if (taken === null) {
      const running = parseJson(await redis.get(first!.volRefresh));
      return sendError(res, 409, 'a volatility refresh is already running; wait for it (GET /api/status shows the last one)', running ?? null);
    }
    await Promise.all(others.map((k) => redis.set(k.volRefresh, JSON.stringify(request), 'PX', VOL_REFRESH_LOCK_MS)));
    let receivers = await redis.publish(keys.controlCommands, `refresh-volatility:${id}`);
    if (receivers === 0) {
      // On Redis Cluster PUBLISH counts only the subscribers of the node it went
      // to (the message still reaches all); live risk-harmonisers say who listens.
      const since = ctx.clock.now() - 3 * ctx.settings.heartbeatIntervalMs;
      receivers = parseHeartbeats(await redis.zrangebyscore(keys.heartbeats, since, '+inf', 'WITHSCORES')).filter((h) => h.service === 'risk-harmoniser').length;
    }
    if (receivers === 0) {
      await Promise.all(ctx.shards.keys.map((k) => redis.del(k.volRefresh)));
      return sendError(res, 503, 'no risk-harmoniser is listening');
    }
    res.status(202).json({ requested: true, id, receivers });
  });
}
