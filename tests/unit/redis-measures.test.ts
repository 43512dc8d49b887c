/** Redis' own latency from LATENCY HISTOGRAM replies, and a consumer group's lag that stays right after a restart. */
import { describe, expect, it } from 'vitest';
import { compareStreamIds, consumerLag } from '../../services/core/domain/consumer-lag.ts';
import { callsBetween, mergeCounts, parseLatencyHistogram, quantileOf } from '../../services/core/domain/latency-histogram.ts';

/** A LATENCY HISTOGRAM reply: command → cumulative [bound, count] pairs. */
const reply = (cmds: Record<string, [number, number][]>): unknown[] =>
  Object.entries(cmds).flatMap(([cmd, pairs]) => [cmd, ['calls', pairs.at(-1)?.[1] ?? 0, 'histogram_usec', pairs.flat()]]);

describe('Redis command latency', () => {
  it('takes the calls of an interval from two cumulative samples, merged over commands, without admin commands', () => {
    const a = parseLatencyHistogram(
      reply({
        evalsha: [
          [64, 100],
          [128, 100],
        ],
        xreadgroup: [[32, 50]],
        info: [[8192, 3]],
      }),
    );
    const b = parseLatencyHistogram(
      reply({
        evalsha: [
          [64, 150],
          [128, 151],
          [8192, 153],
        ],
        xreadgroup: [[32, 80]],
        info: [[8192, 9]],
        set: [[16, 5]],
      }),
    );
    expect(a.has('info')).toBe(false);
    expect(callsBetween(a, b)).toEqual(
      new Map([
        [64, 50],
        [128, 1],
        [8192, 2],
        [32, 30],
        [16, 5],
      ]),
    );
  });

  it('gives a p99 of the window that a few slow calls move, and 0 with no calls', () => {
    const fast = new Map([[32, 990]]);
    const slow = new Map([[16384, 20]]);
    expect(quantileOf(mergeCounts([fast]), 0.99)).toBe(32);
    expect(quantileOf(mergeCounts([fast, slow]), 0.99)).toBe(16384);
    expect(quantileOf(mergeCounts([fast, slow]), 0.5)).toBe(32);
    expect(quantileOf(new Map(), 0.99)).toBe(0);
  });

  it('drops an interval in which the counters went back (CONFIG RESETSTAT, a restart)', () => {
    const a = parseLatencyHistogram(reply({ set: [[16, 100]] }));
    const b = parseLatencyHistogram(reply({ set: [[16, 4]] }));
    expect(callsBetween(a, b)).toBeUndefined();
  });
});

describe('consumer group lag', () => {
  const base = { counted: 0, cap: 1_000, reported: 6_329, length: 50_000 };
  it("is zero when the group was delivered the stream's last entry, whatever Redis reports", () => {
    expect(consumerLag({ ...base, lastDeliveredId: '1700-5', lastGeneratedId: '1700-5' })).toBe(0);
  });
  it('is the entries counted after the last delivered one, up to the cap', () => {
    expect(consumerLag({ ...base, lastDeliveredId: '1700-5', lastGeneratedId: '1800-0', counted: 12 })).toBe(12);
  });
  it("past the cap takes Redis' figure, bounded by the stream length", () => {
    expect(consumerLag({ ...base, lastDeliveredId: '1-0', lastGeneratedId: '9-0', counted: 1_001, reported: 40_000 })).toBe(40_000);
    expect(consumerLag({ ...base, lastDeliveredId: '1-0', lastGeneratedId: '9-0', counted: 1_001, reported: 90_000 })).toBe(50_000);
    expect(consumerLag({ ...base, lastDeliveredId: '1-0', lastGeneratedId: '9-0', counted: 1_001, reported: null })).toBe(1_001);
  });
});

describe('stream id order', () => {
  // The reference: BigInt on both parts (ids past 2^53 included), a missing sequence 0.
  const reference = (a: string, b: string): number => {
    const [am = '0', as = '0'] = a.split('-');
    const [bm = '0', bs = '0'] = b.split('-');
    const d = BigInt(am) - BigInt(bm) || BigInt(as) - BigInt(bs);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  };

  it('orders by milliseconds, then sequence, as numbers not text', () => {
    expect(compareStreamIds('9-0', '10-0')).toBe(-1);
    expect(compareStreamIds('10-2', '10-10')).toBe(-1);
    expect(compareStreamIds('10-10', '10-2')).toBe(1);
    expect(compareStreamIds('1700000000000-5', '1700000000000-5')).toBe(0);
    expect(compareStreamIds('5', '5-0')).toBe(0);
    expect(compareStreamIds('0-0', '0-1')).toBe(-1);
    expect(compareStreamIds('007-1', '7-1')).toBe(0);
  });

  it('agrees with a BigInt reference on 20,000 random pairs', () => {
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const part = (): string => (rand(4) === 0 ? String(rand(3)) : String(rand(2 ** 30) * 2 ** rand(24)));
    for (let i = 0; i < 20_000; i++) {
      const a = rand(5) === 0 ? part() : `${part()}-${part()}`;
      const b = rand(3) === 0 ? a : rand(5) === 0 ? part() : `${part()}-${part()}`;
      expect(compareStreamIds(a, b), `${a} vs ${b}`).toBe(reference(a, b));
    }
  });

  it('sorts a shuffled batch into stream order', () => {
    const ids = ['1-0', '1-1', '1-10', '2-0', '10-0', '10-2', '100-0'];
    expect([...ids].reverse().sort(compareStreamIds)).toEqual(ids);
  });
});

describe('Redis error codes', () => {
  it("are the reply's first word, the socket's errno, or ioredis' connection states", async () => {
    const { redisErrorCode, isConnectionError } = await import('../../services/core/redis/errors.ts');
    expect(redisErrorCode(new Error("READONLY You can't write against a read only replica."))).toBe('READONLY');
    expect(redisErrorCode(new Error('BUSYGROUP Consumer Group name already exists'))).toBe('BUSYGROUP');
    expect(redisErrorCode(new Error('ERR TSDB: key already exists'))).toBe('ALREADY_EXISTS');
    expect(redisErrorCode(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe('ECONNREFUSED');
    expect(redisErrorCode(new Error('Connection is closed.'))).toBe('CONNECTION_CLOSED');
    expect(redisErrorCode('whatever')).toBe('UNKNOWN');
    expect(isConnectionError(new Error('LOADING Redis is loading the dataset in memory'))).toBe(true);
    expect(isConnectionError(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe(false);
  });
});
