/** GET /health, /api/ready, /api/status, /metrics. */
import type { Router } from 'express';
import { evaluateHealth, evaluateReady } from '../domain/health.ts';
import { sendError } from '../http.ts';
import { buildStatus, gatherHealth, type StatusDeps } from '../status-report.ts';

export function healthRoutes(router: Router, d: StatusDeps): void {
  router.get('/health', async (_req, res) => {
    const { inputs } = await gatherHealth(d);
    const report = evaluateHealth(inputs);
    const limits = await d.rateLimits().catch(() => ({}));
    const components = { ...report.components, rate_limiters: { ...report.components['rate_limiters'], limits } };
    res.status(report.status === 'healthy' ? 200 : 503).json({ ...report, components, timestamp: new Date(inputs.now).toISOString() });
  });

  router.get('/api/ready', async (_req, res) => {
    const { inputs } = await gatherHealth(d);
    const r = evaluateReady(inputs);
    res.status(r.ready ? 200 : 503).json(r);
  });

  router.get('/api/status', async (_req, res) => {
    const { inputs, heartbeats } = await gatherHealth(d);
    if (!inputs.redisOk) return sendError(res, 503, `redis unreachable: ${inputs.redisError}`);
    res.json(await buildStatus(d, inputs, heartbeats));
  });

  router.get('/metrics', async (_req, res) => {
    res.set('content-type', d.ctx.registry.contentType).send(await d.ctx.registry.metrics());
  });
}
