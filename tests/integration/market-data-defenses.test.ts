/**
 * Hostile or broken market data on real Redis, through the real strategist,
 * risk-harmoniser and executor: nothing outside the universe, out of its
 * time window, loosely written or outside the price band is traded; each is
 * dead-lettered with its reason and counted. Every case here was accepted
 * (and traded) before the checks existed.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { encodeTick, type Tick } from '../../services/core/domain/market-data.ts';
import { fieldsFromArray } from '../../services/core/messages.ts';
import { startFeed } from '../../services/feed/service.ts';
import { type TestEnv, createTestEnv, eventually, startProcessors, startTestWeb } from '../support/system.ts';

let env: TestEnv;
let base = '';
const rows = async (key: string): Promise<Record<string, string>[]> => ((await env.redis.xrange(key, '-', '+')) as [string, string[]][]).map(([, f]) => fieldsFromArray(f));
const tick = (patch: Partial<Tick> = {}): Tick => {
  const mid = patch.bid ?? 65_000;
  return { symbol: 'BTC-USD', ts: Date.now(), bid: mid, ask: mid + 1, bid_size: 2, ask_size: 1, last: mid, volume: 1, ...patch };
};
const raw = (patch: Record<string, string>): string[] => {
  const f = encodeTick(tick());
  for (const [k, v] of Object.entries(patch)) f[f.indexOf(k) + 1] = v;
  return f;
};

beforeAll(async () => {
  env = createTestEnv(inject('redisUrl'), 'md-defense');
  await startProcessors(env);
  base = (await startTestWeb(env, 'web-md', { settings: { REQUIRED_SERVICES: 'none' } })).base;
  await env.redis.hset(env.keys.lastTick('BTC-USD'), ...encodeTick(tick()));
});

afterAll(async () => {
  await env.close();
});

describe('market data the pipeline refuses', () => {
  it('dead-letters each bad tick with its reason and counts it, and trades none of them', async () => {
    const m = env.keys.marketEvents;
    const year = 365 * 86_400_000;
    // A good level first, then every kind of bad input, each followed by good ticks.
    for (let i = 0; i < 5; i++) await env.redis.xadd(m, '*', ...encodeTick(tick({ bid: 65_000 + i })));
    const bad: [string, string[]][] = [
      ['unknown_symbol', encodeTick(tick({ symbol: 'EVIL-USD' }))],
      ['timestamp', encodeTick(tick({ ts: Date.now() + year }))],
      ['timestamp', encodeTick(tick({ ts: 1_000 }))],
      ['malformed', raw({ bid: '0x10' })],
      ['malformed', raw({ ask: ' 65001' })],
      ['malformed', raw({ last: '6.5e4' })],
      ['malformed', [...encodeTick(tick()), 'bid', '64000']],
      ['malformed', raw({ symbol: '../../x' })],
      ['malformed', raw({ symbol: 'btc-usd' })],
      ['price_band', encodeTick(tick({ bid: 0.01, ask: 0.02, last: 0.01 }))],
      ['price_band', encodeTick(tick({ bid: 1, ask: 1.01, last: 1 }))],
      ['price_band', encodeTick(tick({ bid: 1e9, ask: 1e9 + 1, last: 1e9 }))],
    ];
    for (const [, fields] of bad) {
      await env.redis.xadd(m, '*', ...fields);
      await env.redis.xadd(m, '*', ...encodeTick(tick({ bid: 65_010 })));
    }
    const letters = await eventually(
      async () => {
        const d = await rows(env.keys.deadLetter);
        return d.length >= bad.length ? d : undefined;
      },
      15_000,
      'every bad tick dead-lettered',
    );
    expect(letters).toHaveLength(bad.length);
    expect(letters.map((l) => l['reason']!.split(':')[0])).toEqual(bad.map(([check]) => check));
    expect(letters[0]!['reason']).toContain('unknown symbol EVIL-USD');
    expect(letters[9]!['reason']).toMatch(/^price_band: mid 0\.015 is -100\.00% from the last good mid/);
    // Drained: everything acknowledged, no signal or target for the unknown symbol or at a bad price.
    await eventually(
      async () => (await env.redis.xpending(m, 'strategist'))[0] === 0 && (await env.redis.xpending(env.keys.strategySignals, 'risk-harmoniser'))[0] === 0,
      10_000,
      'drained',
    );
    const signals = await rows(env.keys.strategySignals);
    expect(signals.every((s) => s['symbol'] === 'BTC-USD' && Math.abs(Number(s['price']) / 65_005 - 1) < 0.01)).toBe(true);
    const intents = await rows(env.keys.orderIntents);
    expect(intents.length).toBeGreaterThan(0);
    expect(intents.every((t) => t['symbol'] === 'BTC-USD' && Math.abs(Number(t['price']) / 65_005 - 1) < 0.01)).toBe(true);
    expect(await env.redis.hexists(env.keys.varContributions, 'EVIL-USD')).toBe(0);
    // Counted by check, and the far-past tick did not reach the tick-to-target histogram.
    const metrics = await fetch(`${base}/metrics`).then((r) => r.text());
    expect(metrics).toContain('# HELP');
    const strategist = env.handles.find((h) => h.ctx.service === 'strategist')!;
    const text = await strategist.ctx.registry.metrics();
    for (const [check, n] of [
      ['unknown_symbol', 1],
      ['timestamp', 2],
      ['malformed', 6],
      ['price_band', 3],
    ] as const) {
      expect(text).toMatch(new RegExp(`stream_entries_dead_lettered_total\\{[^}]*check="${check}"[^}]*\\} ${n}\\n`));
    }
    const risk = env.handles.find((h) => h.ctx.service === 'risk-harmoniser')!;
    const sum = Number(/tick_to_target_seconds_sum\{[^}]*\} ([\d.e+-]+)/.exec(await risk.ctx.registry.metrics())?.[1]);
    expect(sum).toBeLessThan(60);
  });

  it('follows a real level change once enough ticks confirm it', async () => {
    const before = (await rows(env.keys.orderIntents)).length;
    for (let i = 0; i < 6; i++) await env.redis.xadd(env.keys.marketEvents, '*', ...encodeTick(tick({ bid: 72_000 + i })));
    const t = await eventually(async () => (await rows(env.keys.orderIntents)).slice(before).find((x) => Number(x['price']) > 71_000), 10_000, 'a target at the new level');
    expect(Number(t['price'])).toBeLessThan(73_000);
  });

  it('lets an operator stop a symbol that has state even outside the universe, and refuses one that has none', async () => {
    const call = (scope: string) => fetch(`${base}/api/stop-trading`, { method: 'POST', body: JSON.stringify({ scope, state: 'REDUCING' }) });
    const none = await call('symbol:EVIL-USD');
    expect(none.status).toBe(400);
    expect(((await none.json()) as { error: string }).error).toContain('unknown symbol EVIL-USD: not in the tradable universe');
    // A position left from before the symbol left the universe (or written by hand).
    await env.redis.set(env.keys.position('EVIL-USD'), JSON.stringify({ symbol: 'EVIL-USD', qty: 3, avg_price: 10, realized_pnl: 0 }));
    expect((await call('symbol:EVIL-USD')).status).toBe(200);
    expect(await env.redis.hexists(env.keys.scopedControls, 'symbol:EVIL-USD')).toBe(1);
  });
});

describe('the synthetic feed after a restart', () => {
  it('resumes each walk from the last price in Redis instead of jumping back to its start price', async () => {
    const e = createTestEnv(inject('redisUrl'), 'feed-resume');
    try {
      await e.redis.hset(e.keys.lastTick('BTC-USD'), ...encodeTick(tick({ bid: 70_000, ask: 70_001, last: 70_000 })));
      await e.start('feed', (ctx) => startFeed(ctx, { rate: 300, seed: 42, maxTicks: 30, streamMaxLen: 10_000 }));
      const first = await eventually(
        async () => ((await e.redis.xrange(e.keys.marketEvents, '-', '+')) as [string, string[]][]).map(([, f]) => fieldsFromArray(f)).find((t) => t['symbol'] === 'BTC-USD'),
        5_000,
        'a BTC tick',
      );
      expect(Math.abs(Number(first['bid']) / 70_000 - 1)).toBeLessThan(0.005);
    } finally {
      await e.close();
    }
  });
});
