/** POST /api/circuit-breaker/reset: OPEN → HALF_OPEN (limited test orders), CLOSED after the probation. */
import type { Router } from 'express';
import { readRequest, sendError } from '../http.ts';
import { optionalReasonBody } from '../requests.ts';
import type { StatusDeps } from '../status-report.ts';

export function breakerRoutes(router: Router, d: StatusDeps): void {
  router.post('/api/circuit-breaker/reset', async (req, res) => {
    const r = readRequest(optionalReasonBody, req, res, false);
    if (!r) return;
    // One atomic check-and-move: two resets, or a reset racing a trip, cannot both apply.
    const outcome = await d.ctx.writer.moveBreaker({ kind: 'operator_reset', reason: r.body.reason ?? 'manual' }, r.by);
    if (!outcome.moved) return sendError(res, 409, `circuit breaker is ${outcome.previous}, not OPEN`, { state: outcome.previous });
    res.json({ state: 'HALF_OPEN', previous: 'OPEN', by: r.by });
  });
}
