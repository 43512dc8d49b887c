/**
 * GET /api/positions, /api/orders, /api/orders/:id, /api/blend/:symbol,
 * /api/daily-stats, /api/switch-log: what the dashboard shows, for anyone
 * with curl (read-only, no token needed).
 */
import type { Router } from 'express';
import { tradingDay } from '../../executor/domain/daily-pnl.ts';
import { listOrders, readBlend, readDailyStats, readOrder, readPositions, readSwitchLog } from '../book.ts';
import { sendError } from '../http.ts';
import { dailyStatsQuery, ordersQuery, parseQuery, switchLogQuery } from '../requests.ts';
import { knownSymbols, type StatusDeps } from '../status-report.ts';

export function bookRoutes(router: Router, d: StatusDeps): void {
  const { redis, shards } = d.ctx;

  router.get('/api/positions', async (_req, res) => {
    res.json(await readPositions(redis, shards, await knownSymbols(d)));
  });

  router.get('/api/orders', async (req, res) => {
    const q = parseQuery(ordersQuery, req.query);
    if (!q.ok) return sendError(res, 400, q.error);
    res.json(await listOrders(redis, shards, q.value));
  });

  router.get('/api/orders/:id', async (req, res) => {
    const id = String(req.params['id'] ?? '');
    if (!/^[A-Za-z0-9._:-]{1,64}$/.test(id)) return sendError(res, 400, 'order id: 1-64 characters of A-Z a-z 0-9 . _ : -');
    const o = await readOrder(redis, shards, id);
    if (!o) return sendError(res, 404, `no order ${id}`);
    res.json(o);
  });

  router.get('/api/blend/:symbol', async (req, res) => {
    const symbol = String(req.params['symbol'] ?? '');
    const blend = await readBlend(redis, shards, symbol);
    if (blend === undefined) return sendError(res, 404, `no blend for ${symbol} (the risk-harmoniser writes risk.edge_blended.<symbol>, TTL 300 s)`);
    res.json(blend);
  });

  router.get('/api/daily-stats', async (req, res) => {
    const q = parseQuery(dailyStatsQuery, req.query);
    if (!q.ok) return sendError(res, 400, q.error);
    const day = q.value.day ?? tradingDay(d.ctx.clock.now());
    res.json({ day, ...(await readDailyStats(redis, shards, day)) });
  });

  router.get('/api/switch-log', async (req, res) => {
    const q = parseQuery(switchLogQuery, req.query);
    if (!q.ok) return sendError(res, 400, q.error);
    res.json({ entries: await readSwitchLog(redis, shards, q.value.count) });
  });
}
