/**
 * Two risk-harmoniser replicas share strategy_signals; an emergency Kelly
 * reduction and a reload are seen by both; refresh-volatility recomputes from
 * market data; the preview endpoint sizes by hand with no side effects.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dailyVolOf, volFromPrices } from '../../services/core/domain/volatility.ts';
import { fieldsFromArray } from '../../services/core/messages.ts';
import { encodeTick } from '../../services/core/domain/market-data.ts';
import { startFeed } from '../../services/feed/service.ts';
import { startRiskHarmoniser } from '../../services/risk-harmoniser/service.ts';
import { startStrategist } from '../../services/strategist/service.ts';
import { activeBookRoot } from '../support/project-dir.ts';
import { type TestEnv, createTestEnv, eventually, startTestWeb } from '../support/system.ts';

describe('risk harmoniser replicas', () => {
  let env: TestEnv;
  let base = '';
  const post = (path: string, body?: string) => fetch(`${base}${path}`, { method: 'POST', ...(body ? { body } : {}) });

  beforeAll(async () => {
    env = createTestEnv(inject('redisUrl'), 'risk', { TP_ROOT: activeBookRoot() });
    await env.start('risk-harmoniser', startRiskHarmoniser, 'risk-a');
    await env.start('risk-harmoniser', startRiskHarmoniser, 'risk-b');
    await env.start('strategist', startStrategist, 'strat-a');
    const port = (await startTestWeb(env, undefined, { settings: { REQUIRED_SERVICES: 'none' } })).port;
    base = `http://127.0.0.1:${port}`;
    await env.start('feed', (ctx) => startFeed(ctx, { rate: 400, seed: 21, streamMaxLen: 100_000 }));
  });
  afterAll(async () => {
    await env.close();
  });

  const latestOutputs = async () =>
    Promise.all(
      ['BTC-USD', 'ETH-USD', 'AAPL'].map(
        async (s) => JSON.parse((await env.redis.get(env.keys.edgeBlended(s))) ?? '{}') as { kelly_fraction?: number; kelly_source?: string; ts?: number; instance?: string },
      ),
    );

  it('both replicas consume the signals', async () => {
    await eventually(async () => {
      const consumers = ((await env.redis.xinfo('CONSUMERS', env.keys.strategySignals, 'risk-harmoniser')) as unknown[][]).map((c) => fieldsFromArray(c.map(String)));
      return consumers.length === 2 && consumers.every((c) => Number(c['seen-time'] ?? c['idle']) >= 0) ? consumers : undefined;
    });
    // Each replica commits targets: order_intents grows while both run.
    await eventually(async () => (await env.redis.xlen(env.keys.orderIntents)) > 20);
  });

  it('an emergency Kelly reduction reaches every replica at once', async () => {
    expect((await post('/api/risk/emergency-reduce', '{"kelly_fraction": 0.1, "reason": "VaR breach"}')).status).toBe(200);
    const since = Date.now();
    const seen = new Set<string>();
    await eventually(
      async () => {
        const outs = await latestOutputs();
        for (const o of outs) {
          if ((o.ts ?? 0) <= since) continue;
          expect(o.kelly_fraction).toBe(0.1);
          expect(o.kelly_source).toBe('operator_override');
          seen.add(o.instance ?? '');
        }
        return seen.has('risk-a') && seen.has('risk-b');
      },
      15_000,
      'kelly 0.1 from both replicas',
    );
    // Both replicas produced outputs under the override.
    const intents = ((await env.redis.xrevrange(env.keys.orderIntents, '+', '-', 'COUNT', 200)) as [string, string[]][]).length;
    expect(intents).toBeGreaterThan(0);
    const cleared = await fetch(`${base}/api/risk/emergency-reduce`, { method: 'DELETE' });
    expect(cleared.status).toBe(200);
    const after = Date.now();
    await eventually(async () => (await latestOutputs()).every((o) => (o.ts ?? 0) > after && o.kelly_fraction === 0.25), 10_000, 'kelly back to 0.25');
  });

  it('a reload is applied and recorded by both replicas', async () => {
    await env.redis.del(env.keys.configApplied('risk_harmoniser'));
    await env.redis.publish(env.keys.paramReload, '{"component": "risk_harmoniser", "config_path": "conf/risk_params.yml"}');
    const applied = await eventually(async () => {
      const h = await env.redis.hgetall(env.keys.configApplied('risk_harmoniser'));
      return h['risk-a'] && h['risk-b'] ? h : undefined;
    });
    expect(JSON.parse(applied['risk-a']!)).toMatchObject({ service: 'risk-harmoniser' });
    expect((JSON.parse(applied['risk-a']!) as { version: string }).version).toBe((JSON.parse(applied['risk-b']!) as { version: string }).version);
  });

  it('keeps a correlation estimate and a portfolio VaR', async () => {
    const corr = await eventually(
      async () => {
        const c = JSON.parse((await env.redis.get(env.keys.riskCorrelation)) ?? '{"samples":{}}') as { samples: Record<string, number> };
        return Object.keys(c.samples).length >= 3 ? c : undefined;
      },
      15_000,
      'correlation samples',
    );
    expect(Object.keys(corr.samples)).toEqual(expect.arrayContaining(['BTC-USD|ETH-USD']));
    const p = await env.redis.hgetall(env.keys.riskPortfolio);
    expect(Number(p['var_pct'])).toBeGreaterThan(0);
  });

  it('previews blending and sizing by hand without side effects', async () => {
    const before = await env.redis.dbsize();
    const r = await post(
      '/api/risk/preview',
      JSON.stringify({
        edges: [
          { model: 'obi', edge_bps: 2, confidence: 0.8 },
          { model: 'nope', edge_bps: 50_000, confidence: 0.9 },
        ],
        price: 100,
        asset_class: 'crypto',
        daily_vol_pct: 3,
        horizon_ms: 86_400_000,
      }),
    );
    expect(r.status).toBe(200);
    const p = (await r.json()) as Record<string, unknown> & { breakdown: { model: string; excluded: string | null; weight: number }[] };
    // One model used: raw edge 2; shrinkage k=0.2 toward 0 with evidence exp(-0.1)·0.8.
    const evidence = Math.exp(-0.1) * 0.8;
    expect(p['raw_edge_bps']).toBeCloseTo(2, 9);
    expect(p['blended_edge_bps']).toBeCloseTo((evidence * 2) / (evidence + 0.2), 9);
    expect(p.breakdown[1]).toMatchObject({ model: 'nope', weight: 0 });
    expect(p.breakdown[1]!.excluded).toContain('10000');
    // Kelly over a one-day horizon: 0.25 · (E'/1e4) / 0.03² of 1e6 ≈ 43,529 USD, under every cap
    // (10 % = 100,000; leverage 2× = 2e6; VaR target 1.5 % / (1.645 · 3 %) ≈ 303,970).
    const blended = (evidence * 2) / (evidence + 0.2);
    expect(p['target_position_usd']).toBeCloseTo(((0.25 * (blended / 1e4)) / 0.0009) * 1e6, 6);
    expect(p['caps']).toEqual([]);
    const bad = await post('/api/risk/preview', JSON.stringify({ edges: [], price: 100, asset_class: 'crypto', daily_vol_pct: 3 }));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain('edges');
    expect(Math.abs((await env.redis.dbsize()) - before)).toBeLessThan(50); // only the running pipeline writes
  });
});

describe('refresh-volatility', () => {
  it('recomputes the EWMA volatility from the ticks in market_events', async () => {
    const env = createTestEnv(inject('redisUrl'), 'refresh-vol');
    try {
      await env.start('risk-harmoniser', startRiskHarmoniser);
      const port = (await startTestWeb(env, undefined, { settings: { REQUIRED_SERVICES: 'none' } })).port;
      const prices: { price: number; ts: number }[] = [];
      let mid = 100;
      const t0 = Date.now() - 300_000;
      for (let i = 0; i < 200; i++) {
        mid *= i % 3 === 0 ? 1.001 : 0.9995;
        const ts = t0 + i * 1_000;
        prices.push({ price: mid, ts });
        // Written as they arrived: the entry id is Redis' receive time.
        await env.redis.xadd(
          env.keys.marketEvents,
          `${ts}-0`,
          ...encodeTick({ symbol: 'ETH-USD', ts, bid: mid - 0.01, ask: mid + 0.01, bid_size: 1, ask_size: 1, last: mid, volume: i }),
        );
      }
      const r = await fetch(`http://127.0.0.1:${port}/api/risk/refresh-volatility`, { method: 'POST' });
      expect(r.status).toBe(202);
      const got = await eventually(async () => Number(await env.redis.hget(env.keys.volatilityEstimates, 'ETH-USD')) || undefined);
      const expected = dailyVolOf(volFromPrices(prices, 0.94, 3, 86_400), 86_400) * 100;
      expect(got).toBeCloseTo(expected, 4);
      const state = JSON.parse((await env.redis.get(env.keys.riskState('ETH-USD'))) ?? '{}') as { vol: { samples: number } };
      expect(state.vol.samples).toBe(199);
    } finally {
      await env.close();
    }
  });
});
