/** POST /api/router/pause and /api/router/resume: freeze or resume model switching everywhere. */
import type { Router } from 'express';
import { writeControl } from '../../core/control.ts';
import { readRequest } from '../http.ts';
import { optionalReasonBody } from '../requests.ts';
import type { StatusDeps } from '../status-report.ts';

export function routerControlRoutes(router: Router, d: StatusDeps): void {
  const { ctx } = d;
  for (const paused of [true, false]) {
    router.post(paused ? '/api/router/pause' : '/api/router/resume', async (req, res) => {
      const r = readRequest(optionalReasonBody, req, res, false);
      if (!r) return;
      await writeControl(ctx.redis, ctx.keys, ctx.keys.routerControl, { paused: paused ? '1' : '0', by: r.by, reason: r.body.reason ?? (paused ? 'pause' : 'resume'), at: ctx.clock.now() }, paused ? 'router.paused' : 'router.resumed');
      ctx.log.info({ event: paused ? 'router.paused' : 'router.resumed', by: r.by }, paused ? 'model router paused' : 'model router resumed');
      res.json({ router: paused ? 'paused' : 'running', by: r.by });
    });
  }
}
