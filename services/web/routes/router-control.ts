/** POST /api/router/pause and /api/router/resume: freeze or resume model switching everywhere. */
import type { Router } from 'express';
import { readRequest } from '../http.ts';
import { optionalReasonBody } from '../requests.ts';
import type { StatusDeps } from '../status-report.ts';
import { answer } from './outcome.ts';

export function routerControlRoutes(router: Router, d: StatusDeps): void {
  for (const paused of [true, false]) {
    router.post(paused ? '/api/router/pause' : '/api/router/resume', async (req, res) => {
      const r = readRequest(optionalReasonBody, req, res, false);
      if (!r) return;
      const outcome = await d.ctx.writer.router(paused, { reason: r.body.reason ?? (paused ? 'pause' : 'resume'), by: r.by });
      answer(res, outcome, { router: paused ? 'paused' : 'running', by: r.by });
    });
  }
}
