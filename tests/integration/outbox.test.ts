/**
 * Decide, commit, then send. The target handler runs inside the batch
 * commit, which re-runs it when a key it read changed before the commit
 * (here: the position moves while the first attempt is deciding). Only the
 * attempt that committed may lead to a send: one order, recorded with the
 * quantity decided on the position as it was at commit, put on the send
 * queue once. (The executor of round one called the venue from the
 * handler: this conflict sent an order for the first attempt's quantity and
 * another for the second's.)
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ConfigHolder } from '../../services/core/config/reloader.ts';
import type { RiskHarmoniserConfig } from '../../services/core/config/schemas.ts';
import type { ControlView } from '../../services/core/context.ts';
import { UNKNOWN_CONTROL, type ControlSnapshot } from '../../services/core/domain/control-state.ts';
import { encodeTick } from '../../services/core/domain/market-data.ts';
import { createLogger } from '../../services/core/log.ts';
import type { Target } from '../../services/core/messages.ts';
import { decodeWith, targetSchema } from '../../services/core/messages.ts';
import { createRegistry } from '../../services/core/metrics.ts';
import { connectRedis } from '../../services/core/redis/connect.ts';
import { StreamConsumer, type StreamHandler } from '../../services/core/redis/streams.ts';
import type { Order } from '../../services/executor/domain/order-lifecycle.ts';
import { createExecutorMetrics } from '../../services/executor/metrics.ts';
import { createTargetHandler } from '../../services/executor/on-targets.ts';
import { order, sendTarget } from '../support/orders.ts';
import { projectRiskConfig } from '../support/risk.ts';
import { createTestEnv, eventually, type TestEnv } from '../support/system.ts';

let env: TestEnv;
afterAll(async () => {
  await env.close();
});

const ACTIVE: ControlSnapshot = {
  ...UNKNOWN_CONTROL,
  known: true,
  readAt: Date.now(),
  trading: { state: 'ACTIVE', reason: '', by: 'test', at: 1, mode: 'PAPER', trigger: '' },
  breaker: { state: 'CLOSED', cause: '', at: 1, halfOpenOrders: 0, seq: 1 },
};

/** The executor's target handler on the project's risk parameters, orders handed to `enqueue`. */
function targetHandler(e: TestEnv, control: ControlView, enqueue: (orders: readonly Order[]) => void): StreamHandler<Target> {
  return createTargetHandler({
    keys: e.keys,
    clock: { now: () => Date.now() },
    config: new ConfigHolder<RiskHarmoniserConfig>(projectRiskConfig(), 'test', 'conf/risk_params.yml', Date.now()),
    control,
    mode: () => 'PAPER',
    reconciled: () => true,
    lotSize: () => 0.0001,
    enqueue,
    unqueue: () => undefined,
    metrics: createExecutorMetrics(createRegistry('executor')),
    reportsMaxLen: 1_000,
  });
}

describe('the outbox', () => {
  it('a commit that conflicts while a target is handled records and enqueues one order, decided on the committed state', async () => {
    env = createTestEnv(inject('redisUrl'), 'outbox');
    const control: ControlView = { snapshot: { ...ACTIVE, readAt: Date.now() }, onChange: () => () => undefined, refresh: async () => undefined, moveBreaker: async () => false };
    const enqueued: Order[][] = [];
    const inner = targetHandler(env, control, (orders) => enqueued.push([...orders]));
    // The first attempt: while it decides, the position moves (another fill lands); the commit must see that.
    let attempts = 0;
    const handler: StreamHandler<Target> = {
      ...inner,
      async handle(entries, ctx) {
        attempts++;
        await inner.handle(entries, ctx);
        if (attempts === 1) await env.redis.set(env.keys.position('BTC-USD'), JSON.stringify({ qty: 0.4, avg_price: 65_000, realized_pnl: 0 }));
      },
    };
    await env.redis.hset(
      env.keys.lastTick('BTC-USD'),
      ...encodeTick({ symbol: 'BTC-USD', ts: Date.now(), bid: 64_999.5, ask: 65_000.5, bid_size: 1, ask_size: 1, last: 65_000, volume: 1 }),
    );
    const consumer = new StreamConsumer<Target>({
      redis: connectRedis({ url: env.url, name: 'outbox' }),
      stream: env.keys.orderIntents,
      group: 'executor',
      consumer: 'outbox-test',
      deadLetter: env.keys.deadLetter,
      decode: (raw) => decodeWith(targetSchema, raw),
      handler,
      log: createLogger('executor', 'outbox', 'fatal'),
      registry: createRegistry('executor'),
      blockMs: 50,
    });
    await consumer.start();
    const id = await sendTarget(env, { symbol: 'BTC-USD', target_usd: 65_000, price: 65_000 });
    await eventually(() => enqueued.length > 0, 10_000, 'an order enqueued');
    await consumer.stop();

    expect(attempts).toBe(2); // the first attempt conflicted and was thrown away
    expect(enqueued).toHaveLength(1);
    expect(enqueued[0]!.map((o) => [o.clientOrderId, o.side, o.qty])).toEqual([[`T${id}`, 'BUY', 0.6]]);
    expect(await order(env, `T${id}`)).toMatchObject({ state: 'NEW', qty: 0.6 });
    expect(await env.redis.zcard(env.keys.orderIndex)).toBe(1);
    expect(await env.redis.hgetall(env.keys.working('BTC-USD'))).toEqual({ [`T${id}`]: '0.6' });
    expect((await env.redis.xpending(env.keys.orderIntents, 'executor'))[0]).toBe(0);
  });

  it('an older target delivered after a newer one (another replica) is stale: it does not cancel the newer order', async () => {
    const staleEnv = createTestEnv(inject('redisUrl'), 'outbox-stale');
    // Trading REDUCING with 10 BTC long: the older target (more BTC) is denied, the newer (less) is an order.
    const reducing: ControlSnapshot = { ...ACTIVE, readAt: Date.now() + 60_000, trading: { ...ACTIVE.trading, state: 'REDUCING', reason: 'test' } };
    const control: ControlView = { snapshot: reducing, onChange: () => () => undefined, refresh: async () => undefined, moveBreaker: async () => false };
    await staleEnv.redis.set(staleEnv.keys.position('BTC-USD'), JSON.stringify({ qty: 10, avg_price: 65_000, realized_pnl: 0 }));
    // Nothing is sent: the newer order stays NEW (unsent), what an older target could touch.
    const inner = targetHandler(staleEnv, control, () => undefined);
    await staleEnv.redis.hset(
      staleEnv.keys.lastTick('BTC-USD'),
      ...encodeTick({ symbol: 'BTC-USD', ts: Date.now(), bid: 64_999.5, ask: 65_000.5, bid_size: 1, ask_size: 1, last: 65_000, volume: 1 }),
    );
    // Replica X takes the older target and stalls in it (its state already read) until replica Y has committed the newer one.
    let entered!: () => void;
    const xEntered = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let xBatches = 0;
    const slow: StreamHandler<Target> = {
      ...inner,
      async handle(entries, ctx) {
        if (xBatches++ === 0) {
          entered();
          await gate;
        }
        await inner.handle(entries, ctx);
      },
    };
    const consumer = (name: string, handler: StreamHandler<Target>): StreamConsumer<Target> =>
      new StreamConsumer<Target>({
        redis: connectRedis({ url: staleEnv.url, name }),
        stream: staleEnv.keys.orderIntents,
        group: 'executor',
        consumer: name,
        deadLetter: staleEnv.keys.deadLetter,
        decode: (raw) => decodeWith(targetSchema, raw),
        handler,
        log: createLogger('executor', name, 'fatal'),
        registry: createRegistry('executor'),
        blockMs: 50,
      });
    const x = consumer('replica-x', slow);
    await x.start();
    const older = await sendTarget(staleEnv, { symbol: 'BTC-USD', target_usd: 940_000, price: 65_000 });
    await xEntered;
    const y = consumer('replica-y', inner);
    await y.start();
    const newer = await sendTarget(staleEnv, { symbol: 'BTC-USD', target_usd: 390_000, price: 65_000 });
    await eventually(() => order(staleEnv, `T${newer}`), 10_000, 'the newer order recorded');
    release();
    await eventually(async () => ((await staleEnv.redis.xpending(staleEnv.keys.orderIntents, 'executor'))[0] === 0 ? true : undefined), 10_000, 'both acknowledged');
    await x.stop();
    await y.stop();
    expect(await order(staleEnv, `T${newer}`)).toMatchObject({ state: 'NEW', side: 'SELL', qty: 4 });
    expect(await order(staleEnv, `T${older}`)).toBeUndefined();
    expect(await staleEnv.redis.get(staleEnv.keys.lastTarget('BTC-USD'))).toBe(newer);
    await staleEnv.close();
  });
});
