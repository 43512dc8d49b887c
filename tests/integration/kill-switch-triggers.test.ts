/**
 * Each automatic trigger engages the kill switch through a real executor,
 * with one audit entry even when two executor replicas both see it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { readControl } from '../../services/core/control/read.ts';
import { testWriter } from '../support/control.ts';
import { encodeTarget, fieldsFromArray } from '../../services/core/messages.ts';
import { encodeTick } from '../../services/core/domain/market-data.ts';
import { tradingDay } from '../../services/executor/domain/daily-pnl.ts';
import { startExecutor } from '../../services/executor/service.ts';
import { order, sendTarget, settledOrder } from '../support/orders.ts';
import { makeProjectDir } from '../support/project-dir.ts';
import { type TestEnv, afterSafetyRounds, createTestEnv, eventually, everyInstanceSees, testTarget } from '../support/system.ts';

let env: TestEnv;
let stateDir = '';
beforeAll(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'tp-kill-'));
});
afterEach(async () => {
  await env.close();
});

async function twoExecutors(label: string, settings: Record<string, string> = {}): Promise<TestEnv> {
  env = createTestEnv(inject('redisUrl'), label, { SAFETY_INTERVAL_MS: '100', STATE_DIR: stateDir, ...settings });
  await env.start('executor', startExecutor, 'exec-a');
  await env.start('executor', startExecutor, 'exec-b');
  return env;
}

async function engagedBy(): Promise<{ trigger: string; reason: string; audit: Record<string, string>[] }> {
  const h = await eventually(
    async () => {
      const k = await env.redis.hgetall(env.keys.killSwitch);
      return k['engaged'] === '1' ? k : undefined;
    },
    10_000,
    'kill switch engaged',
  );
  await afterSafetyRounds(env.handles, 3); // both replicas have seen it engaged (and not engaged it again)
  const audit = ((await env.redis.xrange(env.keys.killSwitchAudit, '-', '+')) as [string, string[]][]).map(([, f]) => fieldsFromArray(f));
  return { trigger: h['trigger']!, reason: h['reason']!, audit };
}

const quote = (symbol: string, ts: number, mid: number) => encodeTick({ symbol, ts, bid: mid - 0.5, ask: mid + 0.5, bid_size: 1, ask_size: 1, last: mid, volume: 1 });

/** The day starts flat; then 10 BTC bought at 65,000 and the last tick at `mark`. Returns now. */
async function longBtcMarkedAt(mark: number): Promise<number> {
  const now = Date.now();
  await env.redis.hset(env.keys.dailyStats(tradingDay(now)), 'unrealized_start', '0', 'started_at', String(now));
  await env.redis.set(env.keys.position('BTC-USD'), JSON.stringify({ qty: 10, avg_price: 65_000, realized_pnl: 0 }));
  await env.redis.hset(env.keys.lastTick('BTC-USD'), ...quote('BTC-USD', now, mark));
  await env.redis.hset(env.keys.marketDataSeen, 'BTC-USD', String(now));
  return now;
}

describe('automatic kill-switch triggers', () => {
  it('market data stale for over 60 s', async () => {
    await twoExecutors('kill-stale');
    await env.redis.hset(env.keys.marketDataSeen, 'BTC-USD', String(Date.now() - 61_000));
    const r = await engagedBy();
    expect(r.trigger).toBe('ws_stale_60s');
    expect(r.audit).toHaveLength(1);
    expect(r.audit[0]).toMatchObject({ action: 'engage', trigger: 'ws_stale_60s' });
    expect(r.audit[0]!['by']).toMatch(/^auto:exec-/);
    expect((await readControl(env.redis, env.keys, Date.now())).killSwitch.engaged).toBe(true);
  });

  it('a trading service whose heartbeat is missing for 3 cycles', async () => {
    await twoExecutors('kill-heartbeat');
    // A strategist that beats once the executors run, then dies without removing its heartbeat.
    await env.redis.zadd(env.keys.heartbeats, Date.now(), 'strategist|dead-one');
    expect((await engagedBy()).trigger).toBe('heartbeat_missing');
  });

  it('not while trading is stopped (the restart sequence stops trading first)', async () => {
    await twoExecutors('kill-halted');
    await testWriter(env.redis, env.keys).trading({ kind: 'stop', state: 'HALTED' }, { reason: 'stop-trading', by: 'test' });
    await everyInstanceSees(env.handles, (s) => s.trading.state === 'HALTED', 'trading HALTED');
    await env.redis.zadd(env.keys.heartbeats, Date.now(), 'strategist|dead-one');
    await env.redis.hset(env.keys.marketDataSeen, 'BTC-USD', String(Date.now() - 61_000));
    // The heartbeat goes missing (older than 3 × 1 s) with the data stale, and both replicas check after that.
    await eventually(async () => Date.now() - Number(await env.redis.zscore(env.keys.heartbeats, 'strategist|dead-one')) > 3_500, 10_000, 'the heartbeat 3.5 s old');
    await afterSafetyRounds(env.handles, 2);
    expect(await env.redis.hget(env.keys.killSwitch, 'engaged')).toBeNull();
  });

  it('daily drawdown over its limit, from marked-to-market positions', async () => {
    await twoExecutors('kill-dd');
    // Day starts flat; a 10 BTC long bought at 65,000 is now marked at 40,000: −250,000 on 1,000,000 = 25 % > 20 %.
    const now = await longBtcMarkedAt(40_000);
    const r = await engagedBy();
    expect(r.trigger).toBe('max_dd_exceeded');
    expect(r.reason).toContain('> 20% hard limit');
    const day = await env.redis.hgetall(env.keys.dailyStats(tradingDay(now)));
    expect(Number(day['max_drawdown_pct'])).toBeCloseTo(25, 6);
    expect(Number(day['net_pnl'])).toBeCloseTo(-250_000, 6);
  });

  it('not on a partial read: a position Redis cannot return is not marked as flat; blind for 3 cycles, it stops trading', async () => {
    await twoExecutors('kill-partial');
    // Up 350,000 (10 BTC from 65,000 to 100,000): equity peaks at 1,350,000.
    const now = await longBtcMarkedAt(100_000);
    const day = env.keys.dailyStats(tradingDay(now));
    await eventually(async () => Number(await env.redis.hget(day, 'peak_equity')) > 1_349_000, 5_000, 'peak marked');
    // The position key now holds a hash: GET fails for it alone. Marking it flat would read as a
    // 26 % drawdown from the peak and kill trading; the check must skip the round instead.
    await env.redis.del(env.keys.position('BTC-USD'));
    await env.redis.hset(env.keys.position('BTC-USD'), 'qty', '10');
    await afterSafetyRounds(env.handles, 10);
    expect((await env.redis.hgetall(env.keys.killSwitch))['engaged'] ?? '0').toBe('0');
    expect(Number(await env.redis.hget(day, 'max_drawdown_pct'))).toBe(0);
    // Blind for longer than 3 heartbeat cycles: trading stops, with the reason.
    const r = await engagedBy();
    expect(r.trigger).toBe('safety_blind');
    expect(r.reason).toContain('WRONGTYPE');
    expect(r.audit).toHaveLength(1);
  });

  it('daily PnL below its floor', async () => {
    await twoExecutors('kill-pnl');
    const now = Date.now();
    await env.redis.hset(env.keys.dailyStats(tradingDay(now)), 'unrealized_start', '0', 'started_at', String(now), 'realized_pnl', '-60000');
    expect((await engagedBy()).trigger).toBe('pnl_floor');
  });

  it('venue errors are counted per minute from failed sends and over the threshold engage it; the kill cancels the order being retried', async () => {
    await twoExecutors('kill-venue', { PAPER_FAIL_RATE: '1' });
    const now = Date.now();
    await env.redis.hset(env.keys.lastTick('ETH-USD'), ...quote('ETH-USD', now, 3_000));
    await env.redis.hset(env.keys.marketDataSeen, 'ETH-USD', String(now));
    const id = await sendTarget(env, { symbol: 'ETH-USD', target_usd: 30_000, price: 3_000, signal_id: '1-0', ts: now });
    const minute = (): number => Math.floor(Date.now() / 60_000);
    const counted = async (): Promise<number> => Number(await env.redis.get(env.keys.venueErrors(minute()))) + Number(await env.redis.get(env.keys.venueErrors(minute() - 1)));
    // The first send failed (a 503: transient), was counted, and waits for its retry (1 s, then 2, 4, 8).
    await eventually(async () => (await counted()) >= 1, 10_000, 'the failed send counted');
    expect(await order(env, `T${id}`)).toMatchObject({ state: 'SUBMITTED', filledQty: 0 });
    expect(await env.redis.hget(env.keys.killSwitch, 'engaged')).toBeNull();
    await env.redis.incrby(env.keys.venueErrors(minute()), 24);
    expect((await engagedBy()).trigger).toBe('excessive_venue_errors');
    // The order never reached the venue; after the kill it is not sent again.
    const o = await eventually(
      async () => {
        const x = await order(env, `T${id}`);
        return x && (x.state === 'CANCELLED' || x.state === 'EXPIRED' || x.state === 'REJECTED') ? x : undefined;
      },
      30_000,
      'the order ended',
    );
    expect(o.filledQty).toBe(0);
    expect(await env.redis.exists(env.keys.paperOrder(`T${id}`))).toBe(0);
  }, 45_000);

  it('a daily loss past 80 % of its floor moves trading to REDUCING first, once; the full floor then kills', async () => {
    await twoExecutors('reduce-first');
    // 10 BTC bought at 65,000 marked at 60,500: −45,000, past 80 % of the −50,000 floor.
    const now = await longBtcMarkedAt(60_500);
    const t = await eventually(
      async () => {
        const h = await env.redis.hgetall(env.keys.tradingState);
        return h['state'] === 'REDUCING' ? h : undefined;
      },
      10_000,
      'trading REDUCING',
    );
    expect(t['trigger']).toBe('pnl_reduce_first');
    expect(t['reason']).toContain('reducing only');
    await afterSafetyRounds(env.handles, 3);
    // Written once: the other replica saw REDUCING and left it (same author and time).
    expect(await env.redis.hmget(env.keys.tradingState, 'by', 'at')).toEqual([t['by'], t['at']]);
    expect(await env.redis.hget(env.keys.killSwitch, 'engaged')).toBeNull();

    // An increasing order is refused, a reducing one fills.
    const reportsBefore = await env.redis.xlen(env.keys.execReports);
    await sendTarget(env, { symbol: 'BTC-USD', target_usd: 940_000, price: 60_500, signal_id: '1-0', ts: now });
    const reducing = await sendTarget(env, { symbol: 'BTC-USD', target_usd: 235_000, price: 60_500, signal_id: '2-0', ts: now });
    expect(await settledOrder(env, reducing)).toMatchObject({ state: 'FILLED', side: 'SELL', reason: 'trading REDUCING' });
    const denials = ((await env.redis.xrange(env.keys.execReports, '-', '+')) as [string, string[]][])
      .slice(reportsBefore)
      .map(([, f]) => fieldsFromArray(f))
      .filter((r) => r['status'] === 'REJECTED');
    for (const x of denials) expect(x['reason']).toContain('trading REDUCING: only position-reducing orders');
    expect(await env.redis.zcard(env.keys.ordersBySymbol('BTC-USD'))).toBe(1);

    // Further down, past the floor itself: the kill switch engages.
    await env.redis.hset(env.keys.lastTick('BTC-USD'), ...quote('BTC-USD', Date.now(), 52_000));
    expect((await engagedBy()).trigger).toBe('pnl_floor');
  });

  it('rolls the day over at UTC midnight once across replicas (controlled clocks), keeping the old day', async () => {
    // One fill per order (no partial fills), so the day's trade count is exact.
    env = createTestEnv(inject('redisUrl'), 'midnight', { TP_ROOT: makeProjectDir('midnight', { risk: (x) => x.replace('partial_fill_ratio: 0.1', 'partial_fill_ratio: 0') }) });
    const dayA = Date.UTC(2026, 10, 22);
    const dayB = dayA + 86_400_000;
    // Two replicas whose clocks differ by 100 ms, both just before midnight.
    let t = dayB - 2_000;
    // A 2 BTC long bought at 60,000, marked at 65,000: +10,000 unrealised; 1,500 realised earlier in day A.
    // Written before the executors start, so their first round already sees the whole picture.
    await env.redis.set(env.keys.position('BTC-USD'), JSON.stringify({ qty: 2, avg_price: 60_000, realized_pnl: 0 }));
    await env.redis.hset(env.keys.lastTick('BTC-USD'), ...quote('BTC-USD', t, 65_000));
    await env.redis.hset(env.keys.marketDataSeen, 'BTC-USD', String(t));
    await env.redis.hset(env.keys.dailyStats('2026-11-22'), 'unrealized_start', '0', 'started_at', String(dayA), 'realized_pnl', '1500', 'trades', '7');
    await env.start('executor', startExecutor, 'exec-a', { clock: { now: () => t } });
    await env.start('executor', startExecutor, 'exec-b', { clock: { now: () => t + 100 } });
    const a = await eventually(
      async () => {
        const h = await env.redis.hgetall(env.keys.dailyStats('2026-11-22'));
        return h['marked_at'] ? h : undefined;
      },
      10_000,
      'day A marked',
    );
    expect(Number(a['net_pnl'])).toBeCloseTo(11_500, 6);

    t = dayB + 500; // midnight passes
    await env.redis.hset(env.keys.marketDataSeen, 'BTC-USD', String(t));
    const b = await eventually(
      async () => {
        const h = await env.redis.hgetall(env.keys.dailyStats('2026-11-23'));
        return h['marked_at'] ? h : undefined;
      },
      10_000,
      'day B started',
    );
    // The new day starts from the current unrealised PnL: net 0, no trades, no drawdown.
    expect(b).toMatchObject({ unrealized_start: '10000', net_pnl: '0', drawdown_pct: '0' });
    expect(b['trades']).toBeUndefined();
    expect([String(dayB + 500), String(dayB + 600)]).toContain(b['started_at']);
    await afterSafetyRounds(env.handles, 3);
    expect(await env.redis.hget(env.keys.dailyStats('2026-11-23'), 'started_at')).toBe(b['started_at']); // set once (HSETNX)

    // Day A keeps its final figures; a fill now counts in day B.
    const aAfter = await env.redis.hgetall(env.keys.dailyStats('2026-11-22'));
    expect(aAfter).toMatchObject({ realized_pnl: '1500', trades: '7' });
    await env.redis.xadd(env.keys.orderIntents, '*', ...encodeTarget(testTarget({ symbol: 'BTC-USD', target_usd: 65_000, price: 65_000, signal_id: '9-0', ts: t })));
    await eventually(async () => (await env.redis.hget(env.keys.dailyStats('2026-11-23'), 'trades')) === '1', 10_000, 'fill counted in day B');
    expect(await env.redis.hget(env.keys.dailyStats('2026-11-22'), 'trades')).toBe('7');
    // Sold 1 BTC at the bid, 64,999.5, less the paper venue's impact (0.5 bps per 100,000 USD) and its 4 bps taker fee.
    const price = 64_999.5 * (1 - (0.5 * 0.649995) / 10_000);
    expect(Number(await env.redis.hget(env.keys.dailyStats('2026-11-23'), 'realized_pnl'))).toBeCloseTo(price - 60_000 - (price * 4) / 10_000, 6);
    expect(Number(await env.redis.hget(env.keys.dailyStats('2026-11-23'), 'fees_usd'))).toBeCloseTo((price * 4) / 10_000, 6);
  });

  it('rolls the day over once across replicas and persists the stats', async () => {
    await twoExecutors('kill-day');
    const day = env.keys.dailyStats(tradingDay(Date.now()));
    const h = await eventually(async () => {
      const v = await env.redis.hgetall(day);
      return v['marked_at'] ? v : undefined;
    });
    expect(h).toMatchObject({ unrealized_start: '0', net_pnl: '0', drawdown_pct: '0' });
    expect(await env.redis.ttl(day)).toBeGreaterThan(29 * 86_400);
  });
});
