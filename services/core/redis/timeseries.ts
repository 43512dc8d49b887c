/**
 * Metric history: RedisTimeSeries when the module is loaded, else a sorted
 * set under the same key name (score = ms timestamp, member "<ts>:<value>")
 * trimmed to the same 7-day retention. The commands are built by pure
 * functions, so tests can assert exactly what each mode sends.
 */
import type { RedisClient } from './connect.ts';
import { redisErrorCode } from './errors.ts';
import type { TxWriter } from './batch-commit.ts';
import type { Logger } from '../log.ts';
import type { MetricName, RedisKeys } from './keys.ts';

export const RETENTION_MS = 604_800_000; // 7 days
export const FALLBACK_WARNING = 'TimeSeries module not available - using fallback';

export type TimeSeriesMode = 'module' | 'fallback';
export type Command = [name: string, ...args: string[]];

export function createCommand(key: string, metric: MetricName, symbol: string): Command {
  return ['TS.CREATE', key, 'RETENTION', String(RETENTION_MS), 'DUPLICATE_POLICY', 'LAST', 'LABELS', 'metric', metric, 'symbol', symbol];
}

/** The fallback trims each series at most this often (it only has to hold 7 days, not to the millisecond). */
export const FALLBACK_TRIM_EVERY_MS = 60_000;

export function addCommands(mode: TimeSeriesMode, key: string, ts: number, value: number, trim = true): Command[] {
  if (mode === 'module') return [['TS.ADD', key, String(ts), String(value), 'ON_DUPLICATE', 'LAST']];
  const add: Command = ['ZADD', key, String(ts), `${ts}:${value}`];
  if (!trim) return [add];
  return [add, ['ZREMRANGEBYSCORE', key, '-inf', `(${ts - RETENTION_MS}`], ['PEXPIRE', key, String(RETENTION_MS)]];
}

export async function detectTimeSeries(redis: RedisClient): Promise<TimeSeriesMode> {
  try {
    const modules = (await redis.call('MODULE', 'LIST')) as unknown[];
    const names = JSON.stringify(modules).toLowerCase();
    return names.includes('"timeseries"') ? 'module' : 'fallback';
  } catch {
    return 'fallback';
  }
}

export class TimeSeriesWriter {
  private readonly created = new Set<string>();
  private readonly trimmedAt = new Map<string, number>();

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    readonly mode: TimeSeriesMode,
  ) {}

  static async create(redis: RedisClient, keys: RedisKeys, log: Logger, forced?: TimeSeriesMode): Promise<TimeSeriesWriter> {
    const mode = forced ?? (await detectTimeSeries(redis));
    if (mode === 'fallback') log.warn({ event: 'timeseries.fallback' }, `WARNING: Connected to Redis (${FALLBACK_WARNING})`);
    else log.info({ event: 'timeseries.module' }, 'Connected to Redis (TimeSeries module available)');
    return new TimeSeriesWriter(redis, keys, mode);
  }

  /** Create the series once per process (module mode); an existing series is fine. */
  async ensure(metric: MetricName, symbol: string): Promise<void> {
    const key = this.keys.timeSeries(metric, symbol);
    if (this.mode !== 'module' || this.created.has(key)) return;
    try {
      await this.redis.call(...createCommand(key, metric, symbol));
    } catch (err) {
      if (redisErrorCode(err) !== 'ALREADY_EXISTS') throw err;
    }
    this.created.add(key);
  }

  add(tx: TxWriter, metric: MetricName, symbol: string, ts: number, value: number): void {
    const key = this.keys.timeSeries(metric, symbol);
    const trim = ts - (this.trimmedAt.get(key) ?? 0) >= FALLBACK_TRIM_EVERY_MS;
    if (trim) this.trimmedAt.set(key, ts);
    for (const [name, ...args] of addCommands(this.mode, key, ts, value, trim)) tx.call(name, ...args);
  }
}
