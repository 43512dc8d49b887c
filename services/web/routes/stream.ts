/**
 * GET /api/stream: the dashboard's live feed (server-sent events). One
 * reader per web instance builds the picture every 500 ms while anyone is
 * listening (status, positions with PnL, the latest orders, the switch log,
 * each symbol's latest blend) and sends it to every listener when it
 * changed, so a change in Redis is on the page within a second.
 */
import type { Request, Response, Router } from 'express';
import { listOrders, readBlend, readPositions, readSwitchLog } from '../book.ts';
import { buildStatus, gatherHealth, knownSymbols, type StatusDeps } from '../status-report.ts';
import { evaluateHealth } from '../domain/health.ts';

export const STREAM_INTERVAL_MS = 500;

export function streamRoutes(router: Router, d: StatusDeps): { stop(): void } {
  const listeners = new Set<Response>();
  let timer: NodeJS.Timeout | undefined;
  let last = '';
  let lastSentAt = 0;
  let building = false;

  const picture = async (): Promise<Record<string, unknown>> => {
    const { redis, shards } = d.ctx;
    const { inputs, heartbeats } = await gatherHealth(d);
    const health = evaluateHealth(inputs);
    if (!inputs.redisOk) return { at: inputs.now, health: { status: health.status, redis: inputs.redisError } };
    const symbols = await knownSymbols(d);
    const [status, book, orders, switches, blends] = await Promise.all([
      buildStatus(d, inputs, heartbeats),
      readPositions(redis, shards, symbols),
      listOrders(redis, shards, { limit: 25 }),
      readSwitchLog(redis, shards, 20),
      Promise.all(symbols.map(async (s) => [s, await readBlend(redis, shards, s)] as const)),
    ]);
    const l = d.risk.current.risk_limits;
    const limits = { reload_block: l.reload_block_var_pct, guard: l.var_limit_pct * l.var_warning_ratio, limit: l.var_limit_pct };
    return { at: inputs.now, health: { status: health.status }, limits, status, book, orders: orders.orders, switches, blends: Object.fromEntries(blends) };
  };

  const tick = async (): Promise<void> => {
    if (building || listeners.size === 0) return;
    building = true;
    try {
      const p = await picture();
      const { at: _at, ...rest } = p;
      const body = JSON.stringify(rest);
      const now = d.ctx.clock.now();
      // On change, and at least every 5 s (the page shows how old its picture is).
      if (body === last && now - lastSentAt < 5_000) return;
      last = body;
      lastSentAt = now;
      const frame = `event: picture\ndata: ${JSON.stringify(p)}\n\n`;
      for (const res of listeners) res.write(frame);
    } catch (err) {
      d.ctx.log.warn({ event: 'http.stream_failed', err: String(err) }, 'dashboard stream: picture failed');
    } finally {
      building = false;
    }
  };

  router.get('/api/stream', (req: Request, res: Response) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(`retry: 2000\n\n`);
    listeners.add(res);
    last = ''; // the new listener gets the next picture at once
    if (!timer) {
      timer = setInterval(() => void tick(), STREAM_INTERVAL_MS);
      timer.unref();
    }
    void tick();
    req.on('close', () => {
      listeners.delete(res);
      if (listeners.size === 0 && timer) {
        clearInterval(timer);
        timer = undefined;
      }
    });
  });

  return {
    stop() {
      if (timer) clearInterval(timer);
      for (const res of listeners) res.end();
      listeners.clear();
    },
  };
}
