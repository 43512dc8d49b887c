import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { fieldsFromArray } from '../../services/core/messages.ts';
import { activeBookRoot } from '../support/project-dir.ts';
import { createTestEnv, eventually, startAllServices, type TestEnv } from '../support/system.ts';

describe('the pipeline end to end on real Redis', () => {
  let env: TestEnv;
  let base = '';

  beforeAll(async () => {
    env = createTestEnv(inject('redisUrl'), 'pipeline', { TP_ROOT: activeBookRoot() });
    ({ base } = await startAllServices(env, { rate: 1_000, seed: 11, maxTicks: 3_000, streamMaxLen: 100_000 }));
  });

  afterAll(async () => {
    await env.close();
  });

  it('a tick reaches risk.edge_blended.<symbol> with a TTL between 1 and 300 s', async () => {
    const raw = await eventually(() => env.redis.get(env.keys.edgeBlended('BTC-USD')), 20_000, 'risk.edge_blended.BTC-USD');
    const out = JSON.parse(raw) as Record<string, unknown>;
    expect(out).toMatchObject({ symbol: 'BTC-USD', kelly_fraction: 0.25 });
    expect(Array.isArray(out['breakdown'])).toBe(true);
    const ttl = await env.redis.ttl(env.keys.edgeBlended('BTC-USD'));
    expect(ttl).toBeGreaterThanOrEqual(1);
    expect(ttl).toBeLessThanOrEqual(300);
  });

  it('writes the metrics hashes, the fallback history and the volatility estimates', async () => {
    const h = await eventually(async () => {
      const v = await env.redis.hgetall(env.keys.metricsHash('edge_blended_bps', 'ETH-USD'));
      return v['value'] !== undefined ? v : undefined;
    });
    expect(h).toMatchObject({ metric: 'edge_blended_bps', symbol: 'ETH-USD' });
    expect(Number.isFinite(Number(h['value']))).toBe(true);
    expect(await env.redis.type(env.keys.timeSeries('var_pct', 'AAPL'))).toBe('zset');
    expect(await env.redis.pttl(env.keys.timeSeries('var_pct', 'AAPL'))).toBeGreaterThan(604_700_000);
    const vol = await env.redis.hgetall(env.keys.volatilityEstimates);
    expect(Object.keys(vol).sort()).toEqual(['AAPL', 'BTC-USD', 'ETH-USD']);
  });

  it('samples the series and metric hashes: one point per symbol per metrics.sample_ms (250), many targets between', async () => {
    const points = await eventually(
      async () => {
        const flat = await env.redis.zrange(env.keys.timeSeries('var_pct', 'BTC-USD'), '0', '-1', 'WITHSCORES');
        const at = flat.filter((_, i) => i % 2 === 1).map(Number);
        return at.length >= 3 ? at : undefined;
      },
      20_000,
      'three var_pct points for BTC-USD',
    );
    for (let i = 1; i < points.length; i++) expect(points[i]! - points[i - 1]!).toBeGreaterThanOrEqual(250);
    const targets = ((await env.redis.xrange(env.keys.orderIntents, '-', '+')) as [string, string[]][]).filter(([, f]) => fieldsFromArray(f)['symbol'] === 'BTC-USD');
    expect(targets.length).toBeGreaterThan(points.length);
  });

  it('a target becomes a paper fill with a position in Redis', async () => {
    const fill = await eventually(
      async () => {
        const reports = (await env.redis.xrange(env.keys.execReports, '-', '+')) as [string, string[]][];
        return reports.map(([, f]) => fieldsFromArray(f)).find((r) => r['status'] === 'FILLED');
      },
      30_000,
      'a FILLED exec report',
    );
    expect(Number(fill['qty'])).toBeGreaterThan(0);
    const order = await env.redis.hgetall(env.keys.order(fill['client_order_id']!));
    expect(order).toMatchObject({ state: 'FILLED', client_order_id: fill['client_order_id'] });
    expect(Number(order['fees_usd'])).toBeGreaterThan(0);
    // The position is the sum of the symbol's fills (read in one transaction:
    // a fill and its position are committed together). It may be back at 0.
    const symbol = fill['symbol']!;
    const [[, rawReports], [, rawPosition]] = (await env.redis.multi().xrange(env.keys.execReports, '-', '+').get(env.keys.position(symbol)).exec()) as [
      [null, [string, string[]][]],
      [null, string | null],
    ];
    const fills = rawReports.map(([, f]) => fieldsFromArray(f)).filter((r) => r['symbol'] === symbol && (r['status'] === 'FILLED' || r['status'] === 'PARTIALLY_FILLED'));
    const signed = fills.reduce((sum, r) => sum + (r['side'] === 'BUY' ? 1 : -1) * Number(r['qty']), 0);
    const position = JSON.parse(rawPosition ?? '{}') as { qty: number; fees_usd: number };
    expect(position.qty).toBeCloseTo(signed, 9);
    expect(position.qty).toBeCloseTo(Number(fills.at(-1)!['position_qty']), 9);
    expect(position.fees_usd).toBeGreaterThan(0);
  });

  it('logs the initial model choice per symbol to model.switch.log', async () => {
    const entries = (await env.redis.xrange(env.keys.modelSwitchLog, '-', '+')) as [string, string[]][];
    const rows = entries.map(([, f]) => fieldsFromArray(f));
    expect(rows.length).toBeGreaterThanOrEqual(3);
    expect(Object.keys(rows[0]!)).toEqual(['timestamp', 'symbol', 'old_model', 'new_model', 'latency_ms', 'reason', 'confidence']);
    expect(
      rows
        .filter((r) => r['reason'] === 'initial')
        .map((r) => r['symbol'])
        .sort(),
    ).toEqual(['AAPL', 'BTC-USD', 'ETH-USD']);
  });

  it('/health says healthy and /api/status shows models, versions and heartbeats', async () => {
    const health = await eventually(async () => {
      const r = await fetch(`${base}/health`);
      return r.status === 200 ? ((await r.json()) as Record<string, unknown>) : undefined;
    });
    expect(health['status']).toBe('healthy');
    expect(Object.keys(health['components'] as object)).toEqual(expect.arrayContaining(['redis', 'service:feed', 'risk_manager', 'circuit_breaker']));
    expect((await fetch(`${base}/api/ready`)).status).toBe(200);
    const status = (await (await fetch(`${base}/api/status`)).json()) as Record<string, Record<string, unknown>>;
    expect(Object.keys(status['active_models']!).sort()).toEqual(['AAPL', 'BTC-USD', 'ETH-USD']);
    expect(status['circuit_breaker']).toMatchObject({ state: 'CLOSED' });
    expect(status['trading']).toMatchObject({ state: 'ACTIVE', mode: 'PAPER' });
    const applied = (status['config_versions'] as { applied: Record<string, Record<string, unknown>> }).applied;
    expect(Object.keys(applied['model_router']!)).toHaveLength(1);
    expect(Object.keys(applied['risk_harmoniser']!)).toHaveLength(3); // risk-harmoniser, executor, web
    expect(Object.keys(status['services']!).sort()).toEqual(['executor', 'feed', 'risk-harmoniser', 'strategist', 'web']);
  });

  it('/metrics serves Prometheus text', async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toContain('# TYPE redis_latency_p99 gauge');
  });

  it('consumer groups drain: every tick processed and acknowledged', async () => {
    await eventually(
      async () => {
        const groups = (await env.redis.xinfo('GROUPS', env.keys.marketEvents)) as unknown[][];
        const g = groups.map((x) => fieldsFromArray(x.map(String)))[0]!;
        const len = await env.redis.xlen(env.keys.marketEvents);
        if (g['pending'] === '0' && g['lag'] === '0' && len === 3_000) return true;
        throw new Error(`pending ${g['pending']}, lag ${g['lag']}, length ${len}`);
      },
      30_000,
      'market_events drained',
    );
    let ticks = 0;
    for (const s of ['BTC-USD', 'ETH-USD', 'AAPL']) ticks += (JSON.parse((await env.redis.get(env.keys.strategistState(s))) ?? '{}') as { ticks: number }).ticks;
    expect(ticks).toBe(3_000);
  });
});
