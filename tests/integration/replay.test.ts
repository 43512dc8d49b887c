/**
 * Smoke replays (seed 001) as BullMQ jobs on the web: the last N minutes of
 * market_events through strategist, risk harmoniser and executor in a
 * namespace of their own on the paper venue. The report has the orders,
 * PnL, VaR path and switches; production keys are untouched and the replay
 * namespace is gone afterwards; one replay at a time; a running replay can
 * be cancelled and keeps its partial report.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { encodeTick } from '../../services/core/domain/market-data.ts';
import { makeProjectDir } from '../support/project-dir.ts';
import { type TestEnv, createTestEnv, eventually, startTestWeb } from '../support/system.ts';

let env: TestEnv;
let base = '';
const TICKS = 400;

beforeAll(async () => {
  // Trade every edge (no cost filter), so the replay has orders to report.
  const root = makeProjectDir('replay', { risk: (t) => t.replace(/cost_aware: true /, 'cost_aware: false') });
  env = createTestEnv(inject('redisUrl'), 'replay', { TP_ROOT: root });
  // 400 ticks over the last 80 s (a 0.2 s beat), a random walk per symbol, as the feed writes them.
  const start = Date.now() - 80_000;
  const mids: Record<string, number> = { 'BTC-USD': 65_000, 'ETH-USD': 3_500 };
  let seed = 7;
  const rnd = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5;
  for (let i = 0; i < TICKS; i++) {
    const symbol = i % 2 === 0 ? 'BTC-USD' : 'ETH-USD';
    const mid = (mids[symbol] = mids[symbol]! * (1 + rnd() * 0.002));
    const ts = start + i * 200;
    await env.redis.xadd(
      env.keys.marketEvents,
      `${ts}-0`,
      ...encodeTick({ symbol, ts, bid: mid * 0.99995, ask: mid * 1.00005, bid_size: 1 + (i % 5), ask_size: 1 + ((i + 2) % 5), last: mid, volume: 1 }),
    );
  }
  base = (await startTestWeb(env)).base;
}, 60_000);

afterAll(async () => {
  await env.close();
});

const post = async (body: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
  const r = await fetch(`${base}/api/replay`, { method: 'POST', body: JSON.stringify(body) });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
};
const view = async (id: string): Promise<Record<string, unknown>> => (await (await fetch(`${base}/api/replay/${id}`)).json()) as Record<string, unknown>;

describe('smoke replay', () => {
  it('replays the last minutes through the pipeline in its own namespace and reports; production is untouched', { timeout: 120_000 }, async () => {
    const started = await post({ minutes: 2, speed: 20, reason: 'smoke', operator: 'quinn' });
    expect(started.status).toBe(202);
    const id = started.json['id'] as string;
    // One at a time: a second request gets the first one back.
    const second = await post({ minutes: 2 });
    expect(second).toMatchObject({ status: 409, json: { detail: { id } } });

    const done = await eventually(
      async () => {
        const v = await view(id);
        return v['state'] === 'completed' ? v : undefined;
      },
      90_000,
      'the replay completed',
    );
    const r = done['result'] as {
      ticks: { total: number; sent: number };
      orders: { total: number; byState: Record<string, number> };
      pnl: { feesUsd: number; netUsd: number };
      var: { path: unknown[]; maxPct: number };
      deadLetters: number;
      withinTolerance: boolean;
      namespace: string;
      cancelled: boolean;
    };
    expect(r.ticks).toMatchObject({ total: TICKS, sent: TICKS });
    expect(r.cancelled).toBe(false);
    expect(r.deadLetters).toBe(0);
    expect(r.orders.total).toBeGreaterThan(0);
    expect(r.orders.byState['FILLED']).toBeGreaterThan(0);
    expect(r.pnl.feesUsd).toBeGreaterThan(0);
    expect(r.var.path.length).toBeGreaterThan(1);
    expect(r.withinTolerance).toBe(true);
    expect(done).toMatchObject({ requested_by: 'quinn', request: { minutes: 2, speed: 20 } });

    // Production: no signals, no orders, no positions; the replay's namespace is gone.
    expect(await env.redis.exists(env.keys.strategySignals, env.keys.orderIntents, env.keys.orderIndex, env.keys.position('BTC-USD'))).toBe(0);
    expect(r.namespace.startsWith(`${env.ns}replay-`)).toBe(true);
    expect(await env.redis.keys(`${r.namespace}*`)).toEqual([]);
    // Listed, with its headline figures.
    const list = (await (await fetch(`${base}/api/replay`)).json()) as { replays: { id: string; state: string }[] };
    expect(list.replays[0]).toMatchObject({ id, state: 'completed' });
  });

  it('a running replay can be cancelled and keeps its partial report; bad requests are 400', { timeout: 60_000 }, async () => {
    const started = await post({ minutes: 2, speed: 1 });
    expect(started.status).toBe(202);
    const id = started.json['id'] as string;
    await eventually(async () => ((await view(id))['progress'] as { sent: number } | null)?.sent ?? 0, 20_000, 'the replay sending');
    const cancel = await fetch(`${base}/api/replay/${id}`, { method: 'DELETE' });
    expect(cancel.status).toBe(202);
    const done = await eventually(
      async () => {
        const v = await view(id);
        return v['state'] === 'cancelled' ? v : undefined;
      },
      30_000,
      'cancelled',
    );
    const r = done['result'] as { cancelled: boolean; ticks: { sent: number; total: number } };
    expect(r.cancelled).toBe(true);
    expect(r.ticks.sent).toBeLessThan(r.ticks.total);
    expect((await post({ minutes: 0 })).status).toBe(400);
    expect((await post({ csv: '../etc/passwd.csv' })).status).toBe(400);
    expect((await post({ csv: 'missing.csv' })).json['error']).toContain('not found');
    expect((await fetch(`${base}/api/replay/r1`)).status).toBe(404);
  });
});
