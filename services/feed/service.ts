/**
 * The market-data feed: publishes ticks to `market_events` (MAXLEN-capped),
 * keeps the latest tick per symbol for the executor's paper fills, and the
 * last-seen time per symbol for staleness checks.
 *
 * FEED_RATE ticks/s (default 200) from the seeded synthetic market
 * (FEED_SEED, default 42), or FEED_CSV=<path> to replay a file.
 * FEED_MAX_TICKS stops publishing after that many ticks.
 */
import { readFile } from 'node:fs/promises';
import { Counter } from '../core/metrics.ts';
import { encodeTick } from '../core/messages.ts';
import type { RunningService, ServiceContext } from '../core/service.ts';
import { parseTickCsv } from './domain/csv-ticks.ts';
import { DEFAULT_INSTRUMENTS, SyntheticMarket, type MarketTick } from './domain/synthetic-market.ts';

export interface FeedOptions {
  rate: number;
  seed: number;
  csvPath?: string;
  maxTicks?: number;
  streamMaxLen: number;
}

export function feedOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): FeedOptions {
  const options: FeedOptions = {
    rate: Number(env['FEED_RATE'] ?? 200),
    seed: Number(env['FEED_SEED'] ?? 42),
    streamMaxLen: Number(env['FEED_STREAM_MAXLEN'] ?? 500_000),
  };
  if (env['FEED_CSV']) options.csvPath = env['FEED_CSV'];
  if (env['FEED_MAX_TICKS']) options.maxTicks = Number(env['FEED_MAX_TICKS']);
  return options;
}

export async function startFeed(ctx: ServiceContext, options: FeedOptions = feedOptionsFromEnv()): Promise<RunningService> {
  const { redis, keys, log } = ctx;
  const published = new Counter({ name: 'feed_ticks_published_total', help: 'Ticks written to market_events', labelNames: ['symbol'], registers: [ctx.registry] });
  const publishErrors = new Counter({ name: 'feed_publish_errors_total', help: 'Publish rounds in which some ticks were not written (see feed.publish_failed)', registers: [ctx.registry] });
  // One tick per symbol every (symbols / rate) seconds of wall time: scale volatility to that.
  const market = new SyntheticMarket({ seed: options.seed, secondsPerTick: DEFAULT_INSTRUMENTS.length / Math.max(1, options.rate) });

  for (const spec of market.instruments) {
    const key = keys.instrumentInfo(spec.symbol);
    if ((await redis.exists(key)) === 0) {
      await redis.hset(key, { asset_class: spec.assetClass, exchange: spec.exchange, tick_size: spec.tickSize, lot_size: spec.lotSize, market_hours: spec.marketHours });
    }
  }

  let source: () => MarketTick | undefined;
  if (options.csvPath) {
    const parsed = parseTickCsv(await readFile(options.csvPath, 'utf8'));
    if (!parsed.ok) throw new Error(`${options.csvPath}: ${parsed.reason}`);
    const rows = parsed.rows.filter((r) => {
      if (!r.ok) log.warn({ event: 'feed.csv_row_rejected', line: r.line, reason: r.reason }, `CSV line ${r.line} rejected: ${r.reason}`);
      return r.ok;
    });
    let i = 0;
    source = () => {
      const row = rows[i++];
      return row && row.ok ? row.tick : undefined;
    };
  } else {
    source = () => market.next(ctx.clock.now());
  }

  let sent = 0;
  let written = 0;
  let failed = 0;
  let running = true;
  let inFlight: Promise<void> = Promise.resolve();
  const startedAt = performance.now();

  const publish = async (): Promise<void> => {
    const due = Math.floor(((performance.now() - startedAt) / 1000) * options.rate) - sent;
    const limit = options.maxTicks !== undefined ? Math.min(due, options.maxTicks - sent) : due;
    if (limit <= 0) return;
    const pipe = redis.pipeline();
    const latest = new Map<string, MarketTick>();
    const symbols: string[] = [];
    let n = 0;
    for (; n < limit; n++) {
      const tick = source();
      if (!tick) {
        running = false;
        break;
      }
      pipe.xadd(keys.marketEvents, 'MAXLEN', '~', options.streamMaxLen, '*', ...encodeTick(tick));
      latest.set(tick.symbol, tick);
      symbols.push(tick.symbol);
    }
    const seenAt = ctx.clock.now();
    for (const [symbol, tick] of latest) {
      pipe.hset(keys.lastTick(symbol), ...encodeTick(tick));
      pipe.hset(keys.marketDataSeen, symbol, seenAt);
    }
    sent += n;
    // A pipeline reports errors per command (READONLY during a failover, OOM):
    // count what was written and say what was not. Market data is not retried.
    const res = (await pipe.exec()) ?? [];
    const errors: Error[] = [];
    for (let i = 0; i < symbols.length; i++) {
      const err = res[i]?.[0];
      if (err) {
        errors.push(err);
      } else {
        written++;
        published.inc({ symbol: symbols[i]! });
      }
    }
    if (errors.length > 0) {
      failed += errors.length;
      publishErrors.inc();
      log.warn({ event: 'feed.publish_failed', err: String(errors[0]), ticks_lost: errors.length }, 'ticks not written to market_events');
    }
    if (options.maxTicks !== undefined && sent >= options.maxTicks) {
      running = false;
      log.info({ event: 'feed.done', ticks: written, failed }, `feed published ${written} ticks`);
    }
  };

  let busy = false;
  const timer = setInterval(() => {
    if (!running || busy) return;
    busy = true;
    inFlight = publish()
      .catch((err: unknown) => log.warn({ event: 'feed.publish_failed', err: String(err) }, 'publish failed'))
      .finally(() => {
        busy = false;
      });
  }, 5);

  log.info({ event: 'feed.configured', rate: options.rate, seed: options.seed, csv: options.csvPath ?? null, max_ticks: options.maxTicks ?? null }, 'feed configured');
  return {
    status: () => ({ ticks_published: written, ticks_failed: failed, done: !running, rate: options.rate, source: options.csvPath ? 'csv' : 'synthetic' }),
    stop: async () => {
      running = false;
      clearInterval(timer);
      await inFlight;
    },
  };
}
