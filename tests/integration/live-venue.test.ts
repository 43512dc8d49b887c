/**
 * The live venue (ccxt, Binance spot) against a local fake of Binance's
 * REST API on loopback: what the fake answers (accepted, partially filled,
 * rejected, not found, HTTP 429 with Retry-After, timeouts before and after
 * the order is placed, 503) and what the OMS makes of it. The fake counts
 * submissions per client order id: at most one order is placed per id,
 * whatever was retried. LIVE is refused without credentials and the
 * explicit confirmation, and /api/status says LIVE when it runs.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LIVE_CONFIRMATION, parseSettings } from '../../services/core/settings.ts';
import { startExecutor } from '../../services/executor/service.ts';
import { FakeBinance } from '../support/fake-binance.ts';
import { order, sendTarget, settledOrder, setQuotes } from '../support/orders.ts';
import { makeProjectDir } from '../support/project-dir.ts';
import { type TestEnv, createTestEnv, eventually, everyInstanceSees, startTestWeb } from '../support/system.ts';

const fake = new FakeBinance();
let env: TestEnv;
let base = '';

beforeAll(async () => {
  const url = await fake.start();
  // Reconcile every 300 ms, so fills of resting orders (which a REST venue reports only when asked) land quickly.
  const root = makeProjectDir('live', { risk: (t) => t.replace('reconcile_interval_ms: 30000', 'reconcile_interval_ms: 300') });
  env = createTestEnv(inject('redisUrl'), 'live', {
    TP_ROOT: root,
    VENUE: 'binance',
    VENUE_API_KEY: 'test-key',
    VENUE_API_SECRET: 'test-secret',
    VENUE_URL: url,
    VENUE_TIMEOUT_MS: '400',
    LIVE_TRADING_CONFIRM: LIVE_CONFIRMATION,
  });
  await setQuotes(env, { 'BTC-USD': 65_000 });
  await env.start('executor', startExecutor, 'exec-live');
  base = (await startTestWeb(env, undefined, { settings: { REQUIRED_SERVICES: 'none' } })).base;
}, 30_000);

afterAll(async () => {
  await env.close();
  await fake.stop();
});

/** Net BTC the OMS holds. */
const btc = async (): Promise<number> => (JSON.parse((await env.redis.get(env.keys.position('BTC-USD'))) ?? '{"qty":0}') as { qty: number }).qty;
let held = 0;
/** A target that moves the position by `qty` BTC. */
const move = async (qty: number): Promise<string> => {
  held += qty;
  return sendTarget(env, { symbol: 'BTC-USD', target_usd: held * 65_000, price: 65_000 });
};

describe('a live venue through ccxt (Binance spot, faked on loopback)', () => {
  it('accepted: a market order fills at the venue, with its fee, into the position', async () => {
    const id = await move(0.5);
    const o = await settledOrder(env, id);
    expect(o).toMatchObject({ state: 'FILLED', filledQty: 0.5, avgFillPrice: 65_000.5 });
    expect(o!.venueOrderId).not.toBe('');
    expect(o!.feesUsd).toBeCloseTo(0.5 * 65_000.5 * 0.001, 6);
    expect(fake.submissions.get(`T${id}`)).toBe(1);
    expect(await btc()).toBeCloseTo(0.5, 9);
  });

  it('partially filled: the rest fills later and reconciliation brings it in', async () => {
    fake.script('partial');
    const id = await move(0.2);
    await eventually(async () => (await order(env, `T${id}`))?.state === 'PARTIALLY_FILLED', 10_000, 'partially filled');
    expect(await btc()).toBeCloseTo(0.6, 9);
    // The venue fills the rest; the next reconciliation applies it.
    fake.fillRest(`T${id}`);
    expect(await settledOrder(env, id)).toMatchObject({ state: 'FILLED', filledQty: 0.2 });
    expect(await btc()).toBeCloseTo(0.7, 9);
    expect(fake.submissions.get(`T${id}`)).toBe(1);
  });

  it('rejected: the venue says no, the order ends REJECTED with its reason, never retried', async () => {
    fake.script('reject');
    const id = await move(0.1);
    const o = await settledOrder(env, id);
    expect(o).toMatchObject({ state: 'REJECTED', filledQty: 0 });
    expect(o!.reason).toContain('insufficient balance');
    expect(fake.submissions.get(`T${id}`)).toBe(1);
    held -= 0.1;
  });

  it('HTTP 429 with Retry-After: the send waits as long as the venue asked, then goes once', async () => {
    fake.retryAfterS = 2;
    fake.script('429');
    const t0 = Date.now();
    const id = await move(0.1);
    const o = await settledOrder(env, id, 20_000);
    expect(o).toMatchObject({ state: 'FILLED' });
    expect(o!.acceptedAt - t0).toBeGreaterThanOrEqual(2_000);
    expect(fake.submissions.get(`T${id}`)).toBe(2); // the refused one and the one placed
    expect([...fake.orders.keys()].filter((k) => k === `T${id}`)).toHaveLength(1);
  });

  it('503 then a timeout before the order was placed: retried until placed, once', async () => {
    fake.script('503', 'timeout-before');
    const id = await move(0.1);
    const o = await settledOrder(env, id, 20_000);
    expect(o).toMatchObject({ state: 'FILLED', filledQty: 0.1 });
    expect(fake.submissions.get(`T${id}`)).toBe(3);
    expect(await btc()).toBeCloseTo(held, 9);
  });

  it('a timeout after the order was placed (the answer lost): found by its client order id, not sent again', async () => {
    fake.script('timeout-after');
    const id = await move(0.1);
    const o = await settledOrder(env, id, 20_000);
    expect(o).toMatchObject({ state: 'FILLED', filledQty: 0.1 });
    expect(fake.submissions.get(`T${id}`)).toBe(1);
    expect(await btc()).toBeCloseTo(held, 9);
  });

  it('not found: an order the OMS thinks is at the venue and the venue does not know is expired by reconciliation', async () => {
    const now = Date.now();
    const ghost = 'T1-ghost';
    await env.redis.hset(env.keys.order(ghost), {
      client_order_id: ghost,
      symbol: 'BTC-USD',
      side: 'BUY',
      type: 'limit',
      qty: '0.1',
      limit_price: '60000',
      state: 'ACCEPTED',
      filled_qty: '0',
      avg_fill_price: '0',
      fees_usd: '0',
      venue_order_id: '999999',
      target_id: '1-0',
      model: 'obi',
      reduce_only: '0',
      probe: '0',
      reason: '',
      created_at: String(now),
      updated_at: String(now),
      submitted_at: String(now),
      accepted_at: String(now),
      filled_at: '0',
      adopted: '0',
      version: '3',
    });
    await env.redis.zadd(env.keys.ordersByState('ACCEPTED'), now, ghost);
    const o = await eventually(
      async () => {
        const x = await order(env, ghost);
        return x?.state === 'EXPIRED' ? x : undefined;
      },
      10_000,
      'the ghost expired',
    );
    expect(o.reason).toBe('not found at venue (reconciliation)');
  });

  it('reconciliation adopts an order placed at the venue that the OMS never knew', async () => {
    fake.orders.set('manual-1', {
      symbol: 'BTCUSDT',
      orderId: 777_777,
      clientOrderId: 'manual-1',
      side: 'SELL',
      type: 'LIMIT',
      price: 99_000,
      origQty: 0.01,
      executedQty: 0,
      cummulativeQuoteQty: 0,
      status: 'NEW',
      time: Date.now(),
      updateTime: Date.now(),
    });
    // Adoption records the order, then applies the venue's state: wait for the state, not only the record.
    const o = await eventually(async () => ((await order(env, 'manual-1'))?.state === 'ACCEPTED' ? order(env, 'manual-1') : undefined), 10_000, 'adopted and ACCEPTED');
    expect(o).toMatchObject({ adopted: true, state: 'ACCEPTED', side: 'SELL', qty: 0.01, model: 'adopted' });
  });

  it('position drift: a holding the OMS does not know of, seen the same at two reconciliations, moves the symbol to REDUCING', async () => {
    fake.balances['BTC'] = (fake.balances['BTC'] ?? 0) + 0.3; // a trade made elsewhere
    try {
      await everyInstanceSees(env.handles, (s) => s.scoped['symbol:BTC-USD']?.state === 'REDUCING', 'symbol:BTC-USD REDUCING');
      const scoped = env.handles[0]!.ctx.control.snapshot.scoped['symbol:BTC-USD']!;
      expect(scoped).toMatchObject({ trigger: 'position_drift' });
      const recon = await env.redis.hgetall(env.keys.reconciliation('binance'));
      expect((JSON.parse(recon['drift'] ?? '{}') as Record<string, number>)['BTC-USD']).toBeGreaterThan(0.5);
    } finally {
      fake.balances['BTC'] = (fake.balances['BTC'] ?? 0) - 0.3;
    }
    // Checked and put right: the operator starts the symbol again, and it stays started.
    const r = await fetch(`${base}/api/start-trading`, { method: 'POST', body: JSON.stringify({ scope: 'symbol:BTC-USD', operator: 'ops', reason: 'drift explained' }) });
    expect(r.status).toBe(200);
    await everyInstanceSees(env.handles, (s) => s.scoped['symbol:BTC-USD'] === undefined, 'symbol:BTC-USD cleared');
    const at = Number((await env.redis.hget(env.keys.reconciliation('binance'), 'ok_at')) ?? 0);
    await eventually(async () => Number((await env.redis.hget(env.keys.reconciliation('binance'), 'ok_at')) ?? 0) > at + 300, 10_000, 'two more reconciliations');
    expect(env.handles[0]!.ctx.control.snapshot.scoped['symbol:BTC-USD']).toBeUndefined();
  });

  it('/api/status says the executor trades LIVE on binance, with its last reconciliation and rejections', async () => {
    const status = await eventually(
      async () => {
        const s = (await (await fetch(`${base}/api/status`)).json()) as { execution: Record<string, unknown> & { executors: Record<string, unknown>[] } };
        return s.execution.executors.length > 0 ? s : undefined;
      },
      10_000,
      'the executor in /api/status',
    );
    expect(status.execution).toMatchObject({ mode: 'LIVE', executors: [{ venue: 'binance', venue_kind: 'live', mode: 'LIVE', reconciled: true }] });
    expect((status.execution['reconciliation'] as Record<string, Record<string, string>>)['binance']).toMatchObject({ ok: '1' });
    expect((status.execution['last_rejections'] as { reason: string }[])[0]!.reason).toContain('insufficient balance');
  });
});

describe('the execution mode with a live venue', () => {
  it('DRY_RUN stops sending and LIVE resumes it; PAPER is refused while the executors trade live', async () => {
    const post = async (mode: string): Promise<{ status: number; body: Record<string, unknown> }> => {
      const r = await fetch(`${base}/api/execution-mode`, { method: 'POST', body: JSON.stringify({ mode, operator: 'ops', reason: 'drill' }) });
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    expect(await post('PAPER')).toMatchObject({
      status: 409,
      body: { error: 'the executors trade on a live venue (real orders): DRY_RUN stops sending; a paper book needs executors started with VENUE=paper' },
    });
    expect((await post('DRY_RUN')).status).toBe(200);
    const executor = env.handles.find((h) => h.ctx.service === 'executor')!;
    await eventually(() => executor.ctx.control.snapshot.trading.mode === 'DRY_RUN', 5_000, 'the executor in DRY_RUN');
    const sentBefore = fake.requests.filter((r) => r === 'POST /api/v3/order').length;
    const id = await move(0.1);
    await eventually(
      async () => ((await env.redis.xrevrange(env.keys.execReports, '+', '-', 'COUNT', 1)) as [string, string[]][])[0]?.[1].includes('DRY_RUN'),
      5_000,
      'a DRY_RUN report',
    );
    expect(await order(env, `T${id}`)).toBeUndefined();
    expect(fake.requests.filter((r) => r === 'POST /api/v3/order').length).toBe(sentBefore);
    held -= 0.1;
    expect((await post('LIVE')).status).toBe(200);
  });
});

describe('LIVE needs credentials and an explicit confirmation', () => {
  it('refuses a live venue without them, naming what is missing', () => {
    const r = parseSettings({ VENUE: 'binance' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual([
      'VENUE: binance is a live venue (real orders); it needs VENUE_API_KEY and VENUE_API_SECRET, found no VENUE_API_KEY',
      `VENUE: binance is a live venue (real orders); set LIVE_TRADING_CONFIRM=${LIVE_CONFIRMATION} to confirm, found nothing`,
    ]);
    const confirmedWrongly = parseSettings({ VENUE: 'binance', VENUE_API_KEY: 'k', VENUE_API_SECRET: 's', LIVE_TRADING_CONFIRM: 'yes' });
    expect(confirmedWrongly.ok ? [] : confirmedWrongly.errors).toEqual([
      `VENUE: binance is a live venue (real orders); set LIVE_TRADING_CONFIRM=${LIVE_CONFIRMATION} to confirm, found "yes"`,
    ]);
    expect(parseSettings({ VENUE: 'binance', VENUE_API_KEY: 'k', VENUE_API_SECRET: 's', LIVE_TRADING_CONFIRM: LIVE_CONFIRMATION }).ok).toBe(true);
  });
});
