/** The stream consumer's guarantees, shown on a real Redis with the real strategist handler. */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { fieldsFromArray } from '../../services/core/messages.ts';
import { encodeTick } from '../../services/core/domain/market-data.ts';
import { createLogger } from '../../services/core/log.ts';
import { createRegistry } from '../../services/core/metrics.ts';
import { connectRedis } from '../../services/core/redis/connect.ts';
import { ensureGroup, StreamConsumer, type StreamHandler } from '../../services/core/redis/streams.ts';
import { startStrategist } from '../../services/strategist/service.ts';
import { createTestEnv, eventually, type TestEnv } from '../support/system.ts';

const T0 = Date.now();
const tick = (i: number) => ({ symbol: 'BTC-USD', ts: T0 + i, bid: 100, ask: 100.5, bid_size: 1, ask_size: 2, last: 100.2, volume: i });

describe('stream consumer', () => {
  let env: TestEnv;
  beforeAll(() => {
    env = createTestEnv(inject('redisUrl'), 'streams', { CLAIM_IDLE_MS: '200' });
  });
  afterAll(async () => {
    await env.close();
  });

  it('claims entries left pending by a dead consumer and processes each once', async () => {
    await ensureGroup(env.redis, env.keys.marketEvents, 'strategist');
    for (let i = 0; i < 20; i++) await env.redis.xadd(env.keys.marketEvents, '*', ...encodeTick(tick(i)));
    // A consumer that read 20 entries and died before acknowledging them.
    const read = (await env.redis.xreadgroup('GROUP', 'strategist', 'dead-consumer', 'COUNT', 20, 'STREAMS', env.keys.marketEvents, '>')) as [string, unknown[]][];
    expect(read[0]![1]).toHaveLength(20);
    expect((await env.redis.xpending(env.keys.marketEvents, 'strategist'))[0]).toBe(20);

    await env.start('strategist', startStrategist);
    await eventually(async () => (await env.redis.xpending(env.keys.marketEvents, 'strategist'))[0] === 0, 20_000, 'pending claimed');
    const st = JSON.parse((await env.redis.get(env.keys.strategistState('BTC-USD'))) ?? '{}') as { ticks: number };
    expect(st.ticks).toBe(20);
    // The dead consumer holds nothing any more.
    const consumers = ((await env.redis.xinfo('CONSUMERS', env.keys.marketEvents, 'strategist')) as unknown[][]).map((c) => fieldsFromArray(c.map(String)));
    expect(consumers.find((c) => c['name'] === 'dead-consumer')?.['pending']).toBe('0');
  });

  it('moves a malformed tick to the dead-letter stream with its reason and keeps going', async () => {
    await env.redis.xadd(
      env.keys.marketEvents,
      '*',
      'symbol',
      'BTC-USD',
      'ts',
      String(T0 + 1000),
      'bid',
      'abc',
      'ask',
      '1',
      'bid_size',
      '1',
      'ask_size',
      '1',
      'last',
      '1',
      'volume',
      '1',
    );
    await env.redis.xadd(
      env.keys.marketEvents,
      '*',
      'symbol',
      'BTC-USD',
      'ts',
      String(T0 + 1001),
      'bid',
      '101',
      'ask',
      '100',
      'bid_size',
      '1',
      'ask_size',
      '1',
      'last',
      '1',
      'volume',
      '1',
    );
    await env.redis.xadd(env.keys.marketEvents, '*', 'garbage', 'x');
    await env.redis.xadd(env.keys.marketEvents, '*', ...encodeTick(tick(100)));
    const dead = await eventually(
      async () => {
        const entries = ((await env.redis.xrange(env.keys.deadLetter, '-', '+')) as [string, string[]][]).map(([, f]) => fieldsFromArray(f));
        return entries.length === 3 ? entries : undefined;
      },
      10_000,
      'three dead letters',
    );
    expect(dead.map((d) => d['reason'])).toEqual([expect.stringContaining('bid'), expect.stringContaining('ask 100 is below bid 101'), expect.stringContaining('symbol')]);
    expect(dead[0]).toMatchObject({ source_stream: env.keys.marketEvents, group: 'strategist' });
    expect(JSON.parse(dead[0]!['fields']!)).toContain('abc');
    await eventually(
      async () => (JSON.parse((await env.redis.get(env.keys.strategistState('BTC-USD'))) ?? '{}') as { ticks: number }).ticks === 21,
      10_000,
      'valid tick processed',
    );
    expect((await env.redis.xpending(env.keys.marketEvents, 'strategist'))[0]).toBe(0);
  });

  it('a consumer that stalls past the claim time cannot apply entries another consumer claimed and committed', async () => {
    const stream = `${env.ns}stall:in`;
    const counter = `${env.ns}stall:count`;
    const applied = `${env.ns}stall:applied`;
    for (let i = 0; i < 10; i++) await env.redis.xadd(stream, '*', 'n', String(i));
    let release: () => void = () => undefined;
    const stalled = new Promise<void>((r) => (release = r));
    let stalls = 0;
    // Counts entries into one state key and logs which consumer applied each.
    const handler = (name: string, stall: boolean): StreamHandler<Record<string, string>> => ({
      watchKeys: () => [counter],
      handle: async (entries, ctx) => {
        if (stall && stalls++ === 0) await stalled;
        ctx.tx.set(counter, String(Number(ctx.state.get(counter) ?? 0) + entries.length));
        for (const e of entries) ctx.tx.xadd(applied, '*', 'id', e.id, 'by', name);
      },
    });
    const consumer = (name: string, stall: boolean, claimIdleMs: number): StreamConsumer<Record<string, string>> =>
      new StreamConsumer({
        redis: connectRedis({ url: env.url, name }),
        stream,
        group: 'g',
        consumer: name,
        deadLetter: `${env.ns}stall:dead`,
        decode: (raw) => ({ ok: true, value: fieldsFromArray(raw) }),
        handler: handler(name, stall),
        log: createLogger('strategist', name),
        registry: createRegistry('strategist'),
        claimIdleMs,
        claimEveryMs: 100,
        blockMs: 100,
      });
    await ensureGroup(env.redis, stream, 'g');
    await env.redis.xgroup('SETID', stream, 'g', '0');
    const a = consumer('stalls', true, 60_000);
    await a.start();
    await eventually(() => stalls > 0, 5_000, 'A holds the batch');
    const b = consumer('claims', false, 200);
    await b.start();
    await eventually(async () => Number(await env.redis.get(counter)) === 10, 10_000, 'B claimed and applied all 10');
    release();
    await eventually(async () => (await env.redis.xpending(stream, 'g'))[0] === 0, 5_000, 'nothing pending');
    await a.stop();
    await b.stop();
    expect(Number(await env.redis.get(counter))).toBe(10);
    const rows = ((await env.redis.xrange(applied, '-', '+')) as [string, string[]][]).map(([, f]) => fieldsFromArray(f));
    expect(rows).toHaveLength(10);
    expect(new Set(rows.map((r) => r['by']))).toEqual(new Set(['claims']));
  });

  it("reports a group's lag as 0 once it was delivered the last entry, even when Redis' own figure is stuck", async () => {
    const stream = `${env.ns}lag:in`;
    for (let i = 0; i < 30; i++) await env.redis.xadd(stream, '*', 'n', String(i));
    const consumer = new StreamConsumer<Record<string, string>>({
      redis: connectRedis({ url: env.url, name: 'lag' }),
      stream,
      group: 'g',
      consumer: 'c',
      deadLetter: `${env.ns}lag:dead`,
      decode: (raw) => ({ ok: true, value: fieldsFromArray(raw) }),
      handler: { watchKeys: () => [], handle: () => undefined },
      log: createLogger('strategist', 'lag', 'fatal'),
      registry: createRegistry('strategist'),
      blockMs: 50,
    });
    await ensureGroup(env.redis, stream, 'g');
    await env.redis.xgroup('SETID', stream, 'g', '0');
    await consumer.start();
    await eventually(async () => (await env.redis.xpending(stream, 'g'))[0] === 0 && (await consumer.reportLag()) === 0, 5_000, 'drained');
    // As seen after a Redis restart: the group holds the last entry, Redis' entries-read is off.
    const [last] = ((await env.redis.xrevrange(stream, '+', '-', 'COUNT', 1)) as [string, string[]][])[0]!;
    await env.redis.call('XGROUP', 'SETID', stream, 'g', last, 'ENTRIESREAD', '0');
    const info = ((await env.redis.xinfo('GROUPS', stream)) as unknown[][]).map((g) => fieldsFromArray(g.map(String)))[0]!;
    expect(Number(info['lag'])).toBe(30);
    expect(await consumer.reportLag()).toBe(0);
    // Real lag is counted: five new entries, with the consumer stopped.
    await consumer.stop();
    for (let i = 0; i < 5; i++) await env.redis.xadd(stream, '*', 'n', String(i));
    expect(await consumer.reportLag()).toBe(5);
  });
});
