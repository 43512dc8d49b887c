/**
 * State read back from Redis goes through codecs: a value that does not
 * decode is reported with its key and never throws out of a handler. Derived
 * state is rebuilt; a position that cannot be read is never traded on.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { encodeTick } from '../../services/core/domain/market-data.ts';
import { encodeTarget, fieldsFromArray } from '../../services/core/messages.ts';
import { startExecutor } from '../../services/executor/service.ts';
import { startStrategist } from '../../services/strategist/service.ts';
import { type TestEnv, captureLog, createTestEnv, eventually, testTarget } from '../support/system.ts';

let env: TestEnv;
beforeAll(() => {
  env = createTestEnv(inject('redisUrl'), 'stored');
});
afterAll(async () => {
  await env.close();
});

describe('stored state that does not decode', () => {
  it('the strategist rebuilds a damaged symbol state, says which key, and keeps the tick', async () => {
    const log = captureLog();
    await env.redis.set(env.keys.strategistState('ETH-USD'), '{"features": "damaged"}');
    await env.start('strategist', startStrategist, 'strat-s', { logDestination: log.destination });
    const now = Date.now();
    await env.redis.xadd(env.keys.marketEvents, '*', ...encodeTick({ symbol: 'ETH-USD', ts: now, bid: 3_000, ask: 3_001, bid_size: 1, ask_size: 1, last: 3_000, volume: 1 }));
    const st = await eventually(
      async () => {
        const raw = await env.redis.get(env.keys.strategistState('ETH-USD'));
        const v = raw ? (JSON.parse(raw) as { ticks?: number }) : undefined;
        return v?.ticks === 1 ? v : undefined;
      },
      10_000,
      'the rebuilt state',
    );
    expect(st).toMatchObject({ ticks: 1 });
    const line = log.lines.find((l) => l['event'] === 'state.unreadable');
    expect(line).toMatchObject({ key: env.keys.strategistState('ETH-USD'), reason: expect.stringContaining('features') as unknown });
    expect(await env.redis.xlen(env.keys.deadLetter)).toBe(0);
  });

  it('the executor refuses a target whose position it cannot read: dead-lettered with the key, no order', async () => {
    await env.redis.set(env.keys.position('BTC-USD'), '{"qty": "lots"}');
    await env.start('executor', startExecutor, 'exec-s');
    const now = Date.now();
    await env.redis.hset(env.keys.lastTick('BTC-USD'), ...encodeTick({ symbol: 'BTC-USD', ts: now, bid: 65_000, ask: 65_001, bid_size: 1, ask_size: 1, last: 65_000, volume: 1 }));
    await env.redis.xadd(env.keys.orderIntents, '*', ...encodeTarget(testTarget({ symbol: 'BTC-USD', target_usd: 65_000, price: 65_000, edge_bps: 2, signal_id: '1-0', ts: now })));
    const letter = await eventually(
      async () =>
        ((await env.redis.xrange(env.keys.deadLetter, '-', '+')) as [string, string[]][])
          .map(([, f]) => fieldsFromArray(f))
          .find((d) => d['source_stream'] === env.keys.orderIntents),
      10_000,
      'the dead letter',
    );
    expect(letter['reason']).toContain(`stored value at ${env.keys.position('BTC-USD')} is not valid: qty`);
    expect(await env.redis.xlen(env.keys.execReports)).toBe(0);
    expect(await env.redis.get(env.keys.position('BTC-USD'))).toBe('{"qty": "lots"}');
  });
});
