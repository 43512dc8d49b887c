/**
 * Execution drills against the local fake of Binance (which counts every
 * submission per client order id):
 *
 * - the executor (and with it its venue worker) killed with SIGKILL while
 *   orders are in flight, ten times: after each restart and reconciliation
 *   every order reached the venue at most once, and every fill the venue
 *   made is in the position exactly once;
 * - Redis restarted (AOF) while orders are in flight: the same.
 *
 * The fake answers a submission 300 ms after placing the order, so a kill
 * lands between "placed" and "answered" (the answer is lost) as often as
 * before the send.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LIVE_CONFIRMATION } from '../../services/core/settings.ts';
import { startExecutor } from '../../services/executor/service.ts';
import { FakeBinance } from '../support/fake-binance.ts';
import { orders, sendTarget, setQuotes } from '../support/orders.ts';
import { makeProjectDir } from '../support/project-dir.ts';
import { freePort, startRedis, type TestRedis } from '../support/redis-server.ts';
import { type TestEnv, createTestEnv, eventually, waitForExit } from '../support/system.ts';

const fake = new FakeBinance();
let url = '';
let root = '';
const PRICES = { 'BTC-USD': 65_000, 'ETH-USD': 3_000 } as const;
const VENUE_SYMBOL = { 'BTC-USD': 'BTCUSDT', 'ETH-USD': 'ETHUSDT' } as const;

beforeAll(async () => {
  url = await fake.start();
  fake.answerDelayMs = 300;
  root = makeProjectDir('drills', { risk: (t) => t.replace('reconcile_interval_ms: 30000', 'reconcile_interval_ms: 500') });
});
afterAll(async () => {
  await fake.stop();
});

const liveSettings = (): Record<string, string> => ({
  TP_ROOT: root,
  VENUE: 'binance',
  VENUE_API_KEY: 'drill-key',
  VENUE_API_SECRET: 'drill-secret',
  VENUE_URL: url,
  VENUE_TIMEOUT_MS: '2000',
  LIVE_TRADING_CONFIRM: LIVE_CONFIRMATION,
});

/** Every order of this test settled; then: at most one submission per client order id, and positions equal to the venue's fills. */
async function accounted(env: TestEnv): Promise<{ orders: number; filled: number }> {
  const all = await eventually(
    async () => {
      const os = await orders(env);
      const open = os.filter((o) => !['FILLED', 'CANCELLED', 'REJECTED', 'EXPIRED'].includes(o.state));
      if (open.length === 0) return os;
      throw new Error(`open: ${open.map((o) => `${o.clientOrderId} ${o.state}`).join(', ')}`);
    },
    60_000,
    'every order settled',
  );
  for (const o of all) expect(fake.submissions.get(o.clientOrderId) ?? 0, o.clientOrderId).toBeLessThanOrEqual(1);
  for (const [symbol, venueSymbol] of Object.entries(VENUE_SYMBOL)) {
    const position = (JSON.parse((await env.redis.get(env.keys.position(symbol))) ?? '{"qty":0}') as { qty: number }).qty;
    // The venue is authoritative: what it filled (in these drills, or before, adopted by reconciliation) is the position.
    expect(position, symbol).toBeCloseTo(fake.netFilled(venueSymbol), 9);
  }
  return { orders: all.length, filled: all.filter((o) => o.state === 'FILLED').length };
}

describe('drills', () => {
  it('SIGKILL of the executor while orders are in flight, ten times: each order sent at most once, each fill in the position once', { timeout: 300_000 }, async () => {
    const env = createTestEnv(inject('redisUrl'), 'drill-kill', { ...liveSettings(), CLAIM_IDLE_MS: '500', HEARTBEAT_INTERVAL_MS: '200' });
    try {
      await setQuotes(env, PRICES);
      let executor = env.spawn('executor');
      const units = { 'BTC-USD': 0, 'ETH-USD': 0 };
      for (let round = 0; round < 10; round++) {
        const before = fake.requests.filter((r) => r === 'POST /api/v3/order').length;
        for (const symbol of Object.keys(PRICES) as (keyof typeof PRICES)[]) {
          units[symbol] += 1; // always more, so a target never nets out against one superseded before it was sent
          const lot = symbol === 'BTC-USD' ? 0.01 : 0.1;
          await sendTarget(env, { symbol, target_usd: units[symbol] * lot * PRICES[symbol], price: PRICES[symbol] });
        }
        // Killed once a submission of this round reached the venue (its answer is 300 ms away).
        await eventually(() => fake.requests.filter((r) => r === 'POST /api/v3/order').length > before, 60_000, `round ${round}: a submission at the venue`);
        executor.kill('SIGKILL');
        await waitForExit(executor);
        executor = env.spawn('executor');
      }
      const { orders: n, filled } = await accounted(env);
      expect(n).toBeGreaterThanOrEqual(10);
      expect(filled).toBeGreaterThan(0);
      console.info(`kill drill: ${n} orders, ${filled} filled, ${[...fake.submissions.values()].reduce((a, b) => a + b, 0)} submissions in all`);
    } finally {
      await env.close();
    }
  });

  it('Redis restarted (AOF) while orders are in flight: each order sent at most once, each fill in the position once', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-drill-redis-'));
    let redis: TestRedis = await startRedis({ port: await freePort(), dir, appendonly: true });
    const env = createTestEnv(redis.url, 'drill-redis', liveSettings());
    try {
      await setQuotes(env, PRICES);
      await env.start('executor', startExecutor, 'exec-drill');
      for (let i = 1; i <= 3; i++) await sendTarget(env, { symbol: 'BTC-USD', target_usd: i * 0.01 * 65_000, price: 65_000 });
      await eventually(() => fake.requests.includes('POST /api/v3/order'), 10_000, 'a submission at the venue');
      // SHUTDOWN (AOF flushed), then a new redis-server on the same port and directory.
      await redis.stop();
      redis = await startRedis({ port: redis.port, dir, appendonly: true });
      // Orders decided after the restart, on the state Redis kept.
      await setQuotes(env, PRICES);
      await sendTarget(env, { symbol: 'ETH-USD', target_usd: 0.5 * 3_000, price: 3_000 });
      const { filled } = await accounted(env);
      expect(filled).toBeGreaterThan(0);
    } finally {
      await env.close();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
