/**
 * An executor SIGKILLed while its send is on the way to the venue, then the
 * kill switch engaged. The order is SUBMITTED and its job still active (the
 * dead worker's lock), so the kill's cancel leaves it to its send; the send
 * never arrives, and the job, once stalled, waits on the paused queue. The
 * next executor must still cancel it for the kill, as soon as the send is
 * no longer in flight, rather than leave it open until reconciliation
 * expires it as unknown at the venue.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { ServiceHandle } from '../../services/core/service.ts';
import { startExecutor } from '../../services/executor/service.ts';
import { order, sendTarget, setQuotes, testPaperVenue } from '../support/orders.ts';
import { testWriter } from '../support/control.ts';
import { makeProjectDir, tradeEveryEdge } from '../support/project-dir.ts';
import { createTestEnv, eventually, waitForExit, type TestEnv } from '../support/system.ts';

let env: TestEnv;
let live: TestEnv | undefined;
afterAll(async () => {
  await env.close();
  await live?.close();
});

describe('a kill after the executor died mid-send', () => {
  it('cancels the order whose send never arrived, for the kill, once its job is no longer active', async () => {
    // The breaker's call timeout is 10 x latency_threshold_ms: 30 s here, so the 20 s send is still on its way when it is killed.
    const root = makeProjectDir('kill-mid-send', { risk: (t) => tradeEveryEdge(t).replace('latency_threshold_ms: 100', 'latency_threshold_ms: 3000') });
    env = createTestEnv(inject('redisUrl'), 'kill-mid-send', { TP_ROOT: root });
    await setQuotes(env, { 'BTC-USD': 65_000 });
    const first = env.spawn('executor', { PAPER_LATENCY_MS: '20000' });
    await eventually(async () => (await env.redis.zcard(env.keys.heartbeats)) >= 1, 30_000, 'executor up');

    const target = await sendTarget(env, { symbol: 'BTC-USD', target_usd: 65_000, price: 65_000 });
    const id = `T${target}`;
    await eventually(async () => (await order(env, id))?.state === 'SUBMITTED', 15_000, 'order marked SUBMITTED, its send on the way');
    first.kill('SIGKILL');
    await waitForExit(first);

    const engaged = await testWriter(env.redis, env.keys).killSwitch('engage', { reason: 'drill: dead sender', by: 'test', trigger: 'manual' });
    expect(engaged.kind).toBe('moved');
    await env.start('executor', startExecutor, 'exec-next');

    const settled = await eventually(
      async () => {
        const o = await order(env, id);
        return o && !['NEW', 'SUBMITTED', 'ACCEPTED', 'PARTIALLY_FILLED'].includes(o.state) ? o : undefined;
      },
      45_000,
      'order settled',
    );
    expect(settled.state).toBe('CANCELLED');
    expect(settled.reason).toContain('kill switch engaged: drill: dead sender');
    expect(settled.reason).toContain('(not at the venue)');
    expect(await env.redis.zcard(env.keys.paperOpen('BTC-USD'))).toBe(0);
  }, 90_000);

  it('a kill reset before the send arrives: the order then rests at the venue, and the kill does not cancel it afterwards', async () => {
    // A limit order 50 bps from the touch rests; the venue answers after 3 s.
    const root = makeProjectDir('kill-reset-mid-send', {
      risk: (t) =>
        tradeEveryEdge(t)
          .replace('latency_threshold_ms: 100', 'latency_threshold_ms: 3000')
          .replace('order_type: market', 'order_type: limit')
          .replace('limit_offset_bps: 0', 'limit_offset_bps: -50'),
    });
    live = createTestEnv(inject('redisUrl'), 'kill-reset-mid-send', { TP_ROOT: root });
    const e = live;
    await setQuotes(e, { 'BTC-USD': 65_000 });
    const exec: ServiceHandle = await e.start('executor', (ctx) => startExecutor(ctx, { venue: testPaperVenue(ctx, { latencyMs: 3_000 }) }), 'exec-live');
    const target = await sendTarget(e, { symbol: 'BTC-USD', target_usd: 65_000, price: 65_000 });
    const id = `T${target}`;
    await eventually(async () => (await order(e, id))?.state === 'SUBMITTED', 15_000, 'order marked SUBMITTED, its send on the way');

    const writer = testWriter(e.redis, e.keys);
    expect((await writer.killSwitch('engage', { reason: 'drill: short kill', by: 'test', trigger: 'manual' })).kind).toBe('moved');
    await eventually(() => exec.contexts.every((c) => c.control.snapshot.killSwitch.engaged), 5_000, 'the executor sees the kill');
    expect((await writer.killSwitch('reset', { reason: 'drill over', by: 'test', trigger: 'manual' })).kind).toBe('moved');
    await eventually(() => exec.contexts.every((c) => !c.control.snapshot.killSwitch.engaged), 5_000, 'the executor sees the reset');

    await eventually(async () => (await order(e, id))?.state === 'ACCEPTED', 15_000, 'the send arrived after the reset: resting');
    // Three of the executor's 2-second housekeeping rounds, which ask again about orders a cancel left to their sends.
    await new Promise((r) => setTimeout(r, 6_000));
    const o = await order(e, id);
    expect(o?.state, o?.reason).toBe('ACCEPTED');
    expect(await e.redis.zcard(e.keys.paperOpen('BTC-USD'))).toBe(1);
  }, 60_000);
});
