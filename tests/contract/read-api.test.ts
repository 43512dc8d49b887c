/**
 * The read endpoints (what the dashboard shows, for curl): positions with
 * PnL, orders filtered by symbol, model and state with paging, one order
 * with its transitions, the latest blend, the day's statistics, the switch
 * log; one error body for bad queries; 405 for a wrong method, also on a
 * path with a parameter.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startExecutor } from '../../services/executor/service.ts';
import { sendTarget, settledOrder, setQuotes } from '../support/orders.ts';
import { makeProjectDir } from '../support/project-dir.ts';
import { type TestEnv, createTestEnv, startTestWeb } from '../support/system.ts';

let env: TestEnv;
let base = '';
const PRICES = { 'BTC-USD': 65_000, 'ETH-USD': 3_000 } as const;
const ids: string[] = [];

const get = async (path: string): Promise<{ status: number; json: Record<string, unknown> }> => {
  const r = await fetch(`${base}${path}`);
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
};

beforeAll(async () => {
  env = createTestEnv(inject('redisUrl'), 'read-api', { TP_ROOT: makeProjectDir('read-api') });
  await setQuotes(env, PRICES);
  await env.start('executor', startExecutor, 'exec-read');
  base = (await startTestWeb(env)).base;
  // Seven orders: BTC by obi (4, alternating buys and sells), ETH by momentum (3).
  for (let i = 0; i < 4; i++) {
    const id = await sendTarget(env, { symbol: 'BTC-USD', target_usd: (i % 2 === 0 ? 0.1 : 0) * 65_000, price: 65_000, model: 'obi', signal_id: `${Date.now()}-${i}` });
    ids.push(`T${id}`);
    await settledOrder(env, id);
  }
  for (let i = 1; i <= 3; i++) {
    const id = await sendTarget(env, { symbol: 'ETH-USD', target_usd: i * 3_000, price: 3_000, model: 'momentum', signal_id: `${Date.now()}-e${i}` });
    ids.push(`T${id}`);
    await settledOrder(env, id);
  }
}, 60_000);

afterAll(async () => {
  await env.close();
});

describe('read endpoints', () => {
  it('GET /api/positions: each symbol marked to its mid, with realized PnL, fees and totals', async () => {
    const { status, json } = await get('/api/positions');
    expect(status).toBe(200);
    const positions = json['positions'] as { symbol: string; qty: number; mark: number; unrealized_pnl: number; fees_usd: number; realized_pnl: number }[];
    const eth = positions.find((p) => p.symbol === 'ETH-USD')!;
    expect(eth.qty).toBeCloseTo(3, 9);
    expect(eth.mark).toBe(3_000);
    expect(eth.fees_usd).toBeGreaterThan(0);
    const btc = positions.find((p) => p.symbol === 'BTC-USD')!;
    expect(btc.qty).toBeCloseTo(0, 9);
    expect(btc.realized_pnl).toBeLessThan(0); // bought at the ask, sold at the bid
    const totals = json['totals'] as { fees_usd: number };
    expect(totals.fees_usd).toBeCloseTo(
      positions.reduce((s, p) => s + p.fees_usd, 0),
      9,
    );
  });

  it('GET /api/orders: newest first, filtered by symbol, model and state, paged by cursor without loss or repeat', async () => {
    const all = await get('/api/orders?limit=100');
    expect(all.status).toBe(200);
    const listed = (all.json['orders'] as { client_order_id: string }[]).map((o) => o.client_order_id);
    expect(listed).toEqual([...ids].reverse());
    expect(all.json['next']).toBeNull();

    const btc = await get('/api/orders?symbol=BTC-USD');
    expect((btc.json['orders'] as { symbol: string }[]).map((o) => o.symbol)).toEqual(['BTC-USD', 'BTC-USD', 'BTC-USD', 'BTC-USD']);
    const momentum = await get('/api/orders?model=momentum&state=FILLED');
    expect((momentum.json['orders'] as { client_order_id: string }[]).map((o) => o.client_order_id)).toEqual(ids.slice(4).reverse());

    const paged: string[] = [];
    let cursor: string | null = null;
    for (let n = 0; n < 10; n++) {
      const page = await get(`/api/orders?limit=3${cursor ? `&before=${encodeURIComponent(cursor)}` : ''}`);
      expect(page.status).toBe(200);
      paged.push(...(page.json['orders'] as { client_order_id: string }[]).map((o) => o.client_order_id));
      cursor = page.json['next'] as string | null;
      if (!cursor) break;
    }
    expect(paged).toEqual([...ids].reverse());
  });

  it('GET /api/orders/:id: the order and its transitions; 404 for an unknown id', async () => {
    const { status, json } = await get(`/api/orders/${ids[4]}`);
    expect(status).toBe(200);
    expect(json['order']).toMatchObject({ client_order_id: ids[4], symbol: 'ETH-USD', state: 'FILLED', model: 'momentum' });
    const events = (json['events'] as { event: string }[]).map((e) => e.event);
    expect(events[0]).toBe('OrderCreated');
    expect(events.at(-1)).toBe('OrderFilled');
    expect(await get('/api/orders/T999-0')).toMatchObject({ status: 404, json: { error: 'no order T999-0', detail: null } });
  });

  it('bad queries answer 400 with the one error body, naming the parameter', async () => {
    expect(await get('/api/orders?state=DONE')).toMatchObject({ status: 400, json: { error: expect.stringContaining('query state') as string, detail: null } });
    expect(await get('/api/orders?limit=0')).toMatchObject({ status: 400, json: { error: expect.stringContaining('query limit') as string } });
    expect(await get('/api/orders?colour=red')).toMatchObject({ status: 400 });
    expect(await get('/api/orders?before=yesterday')).toMatchObject({ status: 400, json: { error: expect.stringContaining('query before') as string } });
    expect(await get('/api/daily-stats?day=today')).toMatchObject({ status: 400, json: { error: expect.stringContaining('YYYY-MM-DD') as string } });
    expect(await get('/api/switch-log?count=100000')).toMatchObject({ status: 400 });
  });

  it('a wrong method is 405 with Allow, on a plain path and on one with a parameter', async () => {
    const r = await fetch(`${base}/api/orders/${ids[0]}`, { method: 'DELETE' });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET, HEAD');
    expect(await r.json()).toMatchObject({ error: `DELETE is not allowed on /api/orders/${ids[0]}` });
    expect((await fetch(`${base}/api/positions`, { method: 'POST', body: '{}' })).status).toBe(405);
  });

  it('GET /api/blend/:symbol is the latest blend, 404 without one; daily stats and the switch log answer', async () => {
    expect(await get('/api/blend/BTC-USD')).toMatchObject({ status: 404, json: { error: expect.stringContaining('no blend for BTC-USD') as string } });
    await env.redis.set(env.keys.edgeBlended('BTC-USD'), JSON.stringify({ symbol: 'BTC-USD', blended_edge_bps: 2.5, breakdown: [] }));
    expect(await get('/api/blend/BTC-USD')).toMatchObject({ status: 200, json: { symbol: 'BTC-USD', blended_edge_bps: 2.5 } });
    const day = await get('/api/daily-stats');
    expect(day.status).toBe(200);
    expect(day.json['day']).toBe(new Date().toISOString().slice(0, 10));
    await env.redis.xadd(env.keys.modelSwitchLog, '*', 'symbol', 'BTC-USD', 'old_model', 'obi', 'new_model', 'momentum', 'reason', 'rule:1');
    const log = await get('/api/switch-log?count=5');
    expect(log.json['entries']).toMatchObject([{ symbol: 'BTC-USD', old_model: 'obi', new_model: 'momentum', reason: 'rule:1' }]);
  });
});
