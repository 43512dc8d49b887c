/**
 * The risk harmoniser sizes each target within the room the portfolio VaR
 * budget (risk_limits.var_budget_pct, 1.2 %) leaves, given the rest of the
 * book in risk:var_contrib: a long next to a long of 1.0 % gets 0.2 %, a
 * short offsets it and is held only by its own caps.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { encodeSignal, type Signal } from '../../services/core/messages.ts';
import { startRiskHarmoniser } from '../../services/risk-harmoniser/service.ts';
import { createTestEnv, eventually, type TestEnv } from '../support/system.ts';

interface Output {
  ts: number;
  var_pct: number;
  portfolio_var_pct: number;
  target_position_usd: number;
  caps: { cap: string }[];
}

describe('portfolio VaR budget in sizing', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = createTestEnv(inject('redisUrl'), 'var-limit');
    // The rest of the book: a long ETH position carrying 1.0 % VaR (ρ counts as 1 until 20 joint samples).
    await env.redis.hset(env.keys.varContributions, 'ETH-USD', '1.0');
    await env.start('risk-harmoniser', startRiskHarmoniser);
  });
  afterAll(async () => {
    await env.close();
  });

  const signal = (edgeBps: number, price: number): Signal => {
    const now = Date.now();
    return {
      symbol: 'BTC-USD',
      asset_class: 'crypto',
      tick_ts: now,
      first_tick_ts: now,
      tick_id: `${now}-0`,
      price,
      active_model: 'obi',
      spread_bps: 0,
      active_since: 1,
      ticks: 1,
      predictions: [{ model: 'obi', edge_bps: edgeBps, confidence: 0.9, horizon_ms: 60_000, ts: now }],
    };
  };
  const sizeOf = async (s: Signal): Promise<Output> => {
    const sent = Date.now();
    await env.redis.xadd(env.keys.strategySignals, '*', ...encodeSignal(s));
    return eventually(
      async () => {
        const raw = await env.redis.get(env.keys.edgeBlended('BTC-USD'));
        const o = raw ? (JSON.parse(raw) as Output) : undefined;
        return o && o.ts >= sent && Math.sign(o.target_position_usd) === Math.sign(s.predictions[0]!.edge_bps) ? o : undefined;
      },
      10_000,
      'the BTC-USD output',
    );
  };

  it('a long next to a long gets only what is left under the budget', async () => {
    const o = await sizeOf(signal(50, 65_000));
    expect(o.caps.map((c) => c.cap)).toContain('portfolio_var_budget');
    expect(o.var_pct).toBeCloseTo(0.2, 6);
    expect(o.portfolio_var_pct).toBeCloseTo(1.2, 6);
  });

  it('a short offsets the book and is held by its own caps', async () => {
    const o = await sizeOf(signal(-50, 65_010));
    expect(o.caps.map((c) => c.cap)).not.toContain('portfolio_var_budget');
    expect(o.caps.length).toBeGreaterThan(0);
    expect(o.portfolio_var_pct).toBeCloseTo(1.0 - o.var_pct, 6);
    expect(o.portfolio_var_pct).toBeLessThan(1.2);
  });
});
