/**
 * POST /api/replay (queue a smoke replay), GET /api/replay (the last 20),
 * GET /api/replay/:id (one, with its whole report), DELETE /api/replay/:id
 * (cancel). The replays run on the web's BullMQ worker (services/replay).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Router } from 'express';
import type { Replays } from '../../replay/replay-queue.ts';
import { readRequest, sendError } from '../http.ts';
import { replayBody } from '../requests.ts';
import type { StatusDeps } from '../status-report.ts';

const ID = /^r\d{1,16}$/;

export function replayRoutes(router: Router, d: StatusDeps, replays: Replays): void {
  router.post('/api/replay', async (req, res) => {
    const r = readRequest(replayBody, req, res, false);
    if (!r) return;
    const csv = r.body.csv ? resolve(d.ctx.root, r.body.csv) : undefined;
    if (csv && !existsSync(csv)) return sendError(res, 400, `field "csv": ${r.body.csv} not found in the project`);
    const { queued, id } = await replays.request({ minutes: r.body.minutes, speed: r.body.speed, csv }, r.by);
    if (!queued) return sendError(res, 409, `a replay is already queued or running (${id}): one at a time; DELETE /api/replay/${id} to cancel it`, { id });
    d.ctx.log.info({ event: 'replay.requested', id, by: r.by, minutes: r.body.minutes, speed: r.body.speed, csv: r.body.csv }, `replay ${id} requested by ${r.by}`);
    res.status(202).json({ id, state: 'waiting', status_url: `/api/replay/${id}` });
  });

  router.get('/api/replay', async (_req, res) => {
    res.json({ replays: await replays.list() });
  });

  router.get('/api/replay/:id', async (req, res) => {
    const id = String(req.params['id'] ?? '');
    if (!ID.test(id)) return sendError(res, 400, 'replay id: r<digits>');
    const v = await replays.view(id, true);
    if (!v) return sendError(res, 404, `no replay ${id} (the last 20 are kept)`);
    res.json(v);
  });

  router.delete('/api/replay/:id', async (req, res) => {
    const id = String(req.params['id'] ?? '');
    if (!ID.test(id)) return sendError(res, 400, 'replay id: r<digits>');
    const outcome = await replays.cancel(id);
    if (outcome === 'unknown') return sendError(res, 404, `no replay ${id}`);
    if (outcome === 'finished') return sendError(res, 409, `replay ${id} has already finished`);
    res.status(202).json({ id, cancel: outcome });
  });
}
