import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { RedisClient } from '../../services/core/redis/connect.ts';
import { UNKNOWN_CONTROL } from '../../services/core/domain/control-state.ts';
import { ALL_CLEAR } from '../support/control-fixture.ts';
import { redisKeys } from '../../services/core/redis/keys.ts';
import { addCommands, createCommand, RETENTION_MS } from '../../services/core/redis/timeseries.ts';
import { evaluateHealth, evaluateReady, type HealthInputs } from '../../services/web/domain/health.ts';

const CONTROL = ALL_CLEAR;
const NOW = 1_000_000;
const X: HealthInputs = {
  redisOk: true,
  redisError: '',
  heartbeats: [
    { service: 'feed', instance: 'f1', ts: NOW - 500, detail: {} },
    { service: 'web', instance: 'w1', ts: NOW - 100, detail: {} },
  ],
  requiredServices: ['feed', 'web'],
  control: CONTROL,
  now: NOW,
  heartbeatIntervalMs: 1_000,
  missedCycles: 3,
};

describe('health', () => {
  it('is healthy when Redis answers, every service beats and nothing is tripped', () => {
    expect(evaluateHealth(X)).toMatchObject({ status: 'healthy', failing: [] });
    expect(evaluateReady(X).ready).toBe(true);
  });

  it('names a service whose heartbeat is missing for 3 cycles', () => {
    const r = evaluateHealth({ ...X, heartbeats: [{ service: 'feed', instance: 'f1', ts: NOW - 3_001, detail: {} }, X.heartbeats[1]!] });
    expect(r.status).toBe('unhealthy');
    expect(r.failing).toEqual(['service:feed']);
    expect(r.components['service:feed']!.detail).toContain('3001 ms');
  });

  it('fails the risk manager when the kill switch is engaged and the breaker when OPEN', () => {
    const r = evaluateHealth({
      ...X,
      control: {
        ...CONTROL,
        killSwitch: { engaged: true, reason: 'ws_stale_60s', by: 'auto', at: 1, trigger: 'stale' },
        breaker: { state: 'OPEN', cause: 'var', at: 1, halfOpenOrders: 0, seq: 0 },
      },
    });
    expect(r.failing).toEqual(['risk_manager', 'circuit_breaker']);
    expect(r.components['risk_manager']!.detail).toContain('ws_stale_60s');
  });

  it('is not ready without Redis or before every service reported', () => {
    expect(evaluateReady({ ...X, redisOk: false, redisError: 'ECONNREFUSED', control: UNKNOWN_CONTROL }).reason).toContain('ECONNREFUSED');
    expect(evaluateReady({ ...X, heartbeats: [X.heartbeats[0]!] })).toEqual({ ready: false, reason: 'no heartbeat from: web' });
  });
});

describe('TimeSeries commands', () => {
  it('creates each series with 7-day retention and labels (module)', () => {
    expect(createCommand('var_pct:BTC-USD', 'var_pct', 'BTC-USD')).toEqual([
      'TS.CREATE',
      'var_pct:BTC-USD',
      'RETENTION',
      '604800000',
      'DUPLICATE_POLICY',
      'LAST',
      'LABELS',
      'metric',
      'var_pct',
      'symbol',
      'BTC-USD',
    ]);
  });

  it('adds a sample with TS.ADD when the module is present', () => {
    expect(addCommands('module', 'edge_blended_bps:ETH-USD', 1_000, 2.5)).toEqual([['TS.ADD', 'edge_blended_bps:ETH-USD', '1000', '2.5', 'ON_DUPLICATE', 'LAST']]);
  });

  it('keeps a sorted set trimmed to the same retention without it', () => {
    const ts = RETENTION_MS + 5_000;
    expect(addCommands('fallback', 'k', ts, -1, false)).toEqual([['ZADD', 'k', String(ts), `${ts}:-1`]]);
    expect(addCommands('fallback', 'k', ts, -1)).toEqual([
      ['ZADD', 'k', String(ts), `${ts}:-1`],
      ['ZREMRANGEBYSCORE', 'k', '-inf', '(5000'],
      ['PEXPIRE', 'k', '604800000'],
    ]);
  });
});

describe('TimeSeriesWriter (module reported present)', async () => {
  const { TimeSeriesWriter } = await import('../../services/core/redis/timeseries.ts');
  type Redis = import('ioredis').Redis;
  type Tx = import('../../services/core/redis/batch-commit.ts').TxWriter;

  it('issues TS.CREATE once per series and TS.ADD per sample, exactly', async () => {
    const sent: string[][] = [];
    const fakeRedis = { call: async (...args: string[]) => void sent.push(args) } as unknown as Redis;
    const fakeTx = { call: (...args: string[]) => sent.push(args) } as unknown as Tx;
    const w = new TimeSeriesWriter(fakeRedis, redisKeys(''), 'module');
    await w.ensure('position_size_usd', 'BTC-USD');
    await w.ensure('position_size_usd', 'BTC-USD');
    w.add(fakeTx, 'position_size_usd', 'BTC-USD', 1_700_000_000_000, -1500.5);
    expect(sent).toEqual([
      ['TS.CREATE', 'position_size_usd:BTC-USD', 'RETENTION', '604800000', 'DUPLICATE_POLICY', 'LAST', 'LABELS', 'metric', 'position_size_usd', 'symbol', 'BTC-USD'],
      ['TS.ADD', 'position_size_usd:BTC-USD', '1700000000000', '-1500.5', 'ON_DUPLICATE', 'LAST'],
    ]);
  });

  it('treats an existing series as created', async () => {
    const fakeRedis = { call: async () => Promise.reject(new Error('ERR TSDB: key already exists')) } as unknown as Redis;
    const w = new TimeSeriesWriter(fakeRedis, redisKeys(''), 'module');
    await expect(w.ensure('var_pct', 'AAPL')).resolves.toBeUndefined();
  });

  it('sends nothing to TS.* in fallback mode, and trims each series once a minute', async () => {
    const sent: string[][] = [];
    const fakeTx = { call: (...args: string[]) => sent.push(args) } as unknown as Tx;
    const w = new TimeSeriesWriter({} as Redis, redisKeys(''), 'fallback');
    await w.ensure('var_pct', 'AAPL');
    w.add(fakeTx, 'var_pct', 'AAPL', 1_000_000_000, 0.5);
    w.add(fakeTx, 'var_pct', 'AAPL', 1_000_030_000, 0.6);
    w.add(fakeTx, 'var_pct', 'AAPL', 1_000_060_000, 0.7);
    expect(sent.map((c) => c[0])).toEqual(['ZADD', 'ZREMRANGEBYSCORE', 'PEXPIRE', 'ZADD', 'ZADD', 'ZREMRANGEBYSCORE', 'PEXPIRE']);
  });
});

describe("the runbook's TimeSeries log line", () => {
  it('says exactly "WARNING: Connected to Redis (TimeSeries module not available - using fallback)"', async () => {
    const { TimeSeriesWriter } = await import('../../services/core/redis/timeseries.ts');
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    await TimeSeriesWriter.create({} as RedisClient, redisKeys(''), log, 'fallback');
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['WARNING: Connected to Redis (TimeSeries module not available - using fallback)']);
  });
});
