/**
 * The market-data feed: publishes ticks to `market_events` (MAXLEN-capped; with
 * write shards, the `market_events` of each symbol's shard),
 * keeps the latest tick per symbol for the executor's paper fills, and the
 * last-seen time per symbol for staleness checks.
 *
 * With TP_SHARD set, only the symbols of that write shard.
 *
 * FEED_RATE ticks/s (default 200) from the seeded synthetic market for the
 * instruments of conf/instruments.yml that carry a `synthetic` block
 * (FEED_SEED, default 42), each walk resuming from the last price in Redis,
 * so a restart does not jump; or FEED_CSV=<path> to replay a file, each row
 * stamped with the time it is sent. FEED_MAX_TICKS stops after that many.
 */
import { readFile } from 'node:fs/promises';
import { instrumentsReloadTarget, loadInstrumentsAtStart } from '../core/config/instruments.ts';
import { startReloader } from '../core/config/reloader.ts';
import type { InstrumentsConfig } from '../core/config/schemas.ts';
import { encodeTick } from '../core/domain/market-data.ts';
import { Counter } from '../core/metrics.ts';
import type { RunningService, ServiceContext } from '../core/service.ts';
import type { Settings } from '../core/settings.ts';
import { parseTickCsv } from './domain/csv-ticks.ts';
import { SyntheticMarket, type InstrumentSpec, type MarketTick } from './domain/synthetic-market.ts';

export interface FeedOptions {
  rate: number;
  seed: number;
  csvPath?: string;
  maxTicks?: number;
  streamMaxLen: number;
}

export function feedOptionsFrom(settings: Settings): FeedOptions {
  const f = settings.feed;
  return { rate: f.rate, seed: f.seed, streamMaxLen: f.streamMaxLen, ...(f.csvPath ? { csvPath: f.csvPath } : {}), ...(f.maxTicks !== undefined ? { maxTicks: f.maxTicks } : {}) };
}

/** The universe's instruments the synthetic market makes ticks for. */
export function syntheticSpecs(cfg: InstrumentsConfig): InstrumentSpec[] {
  return Object.entries(cfg.symbols).flatMap(([symbol, s]) =>
    s.synthetic
      ? [
          {
            symbol,
            assetClass: s.asset_class,
            exchange: s.exchange,
            price: s.synthetic.price,
            dailyVol: s.synthetic.daily_vol_pct / 100,
            tickSize: s.tick_size,
            lotSize: s.lot_size,
            spreadBps: s.synthetic.spread_bps,
            marketHours: s.market_hours,
          },
        ]
      : [],
  );
}

export async function startFeed(ctx: ServiceContext, options: FeedOptions = feedOptionsFrom(ctx.settings)): Promise<RunningService> {
  const { redis, shards, log } = ctx;
  const published = new Counter({ name: 'feed_ticks_published_total', help: 'Ticks written to market_events', labelNames: ['symbol'], registers: [ctx.registry] });
  const publishErrors = new Counter({
    name: 'feed_publish_errors_total',
    help: 'Publish rounds in which some ticks were not written (see feed.publish_failed)',
    registers: [ctx.registry],
  });
  const instruments = await loadInstrumentsAtStart(ctx);
  /** Mid of the last tick in Redis per symbol: where a restarted walk resumes. */
  const lastPrices = async (symbols: readonly string[]): Promise<Record<string, number>> => {
    const out: Record<string, number> = {};
    const quotes = await Promise.all(symbols.map((s) => redis.hmget(shards.keysOf(s).lastTick(s), 'bid', 'ask')));
    symbols.forEach((s, i) => {
      const [bid, ask] = (quotes[i] ?? []).map(Number);
      if (bid! > 0 && ask! > 0) out[s] = (bid! + ask!) / 2;
    });
    return out;
  };
  // TP_SHARD: a feed per write shard, each making only its shard's symbols (one feed process is the first ceiling, docs/benchmarks.md).
  const mine = (list: InstrumentSpec[]): InstrumentSpec[] => (ctx.settings.shard === undefined ? list : list.filter((x) => shards.of(x.symbol) === ctx.settings.shard));
  const specs = mine(syntheticSpecs(instruments.current));
  const resumed = await lastPrices(specs.map((s) => s.symbol));
  // One tick per symbol every (symbols / rate) seconds of wall time: scale volatility to that.
  const market = new SyntheticMarket({ seed: options.seed, instruments: specs, startPrices: resumed, secondsPerTick: Math.max(1, specs.length) / Math.max(1, options.rate) });
  if (Object.keys(resumed).length > 0)
    log.info({ event: 'feed.resumed', prices: resumed }, `synthetic market resumes from the last prices in Redis (${Object.keys(resumed).join(', ')})`);
  const reloader = await startReloader(ctx, [
    instrumentsReloadTarget(ctx, instruments, (next) => {
      const nextSpecs = mine(syntheticSpecs(next));
      void lastPrices(nextSpecs.map((s) => s.symbol)).then((prices) => {
        market.setInstruments(nextSpecs, prices);
        log.info(
          { event: 'feed.instruments_changed', symbols: nextSpecs.map((s) => s.symbol) },
          `synthetic market now makes ${nextSpecs.map((s) => s.symbol).join(', ') || 'no'} ticks`,
        );
      });
    }),
  ]);

  let source: () => MarketTick | undefined;
  if (options.csvPath) {
    const parsed = parseTickCsv(await readFile(options.csvPath, 'utf8'));
    if (!parsed.ok) throw new Error(`${options.csvPath}: ${parsed.reason}`);
    const outside = new Set<string>();
    const rows = parsed.rows.filter((r) => {
      if (!r.ok) log.warn({ event: 'feed.csv_row_rejected', line: r.line, reason: r.reason }, `CSV line ${r.line} rejected: ${r.reason}`);
      else if (ctx.settings.shard !== undefined && shards.of(r.tick.symbol) !== ctx.settings.shard) return false;
      else if (!Object.hasOwn(instruments.current.symbols, r.tick.symbol)) {
        if (!outside.has(r.tick.symbol))
          log.warn(
            { event: 'feed.csv_row_rejected', line: r.line, reason: 'symbol not in the tradable universe' },
            `CSV rows for ${r.tick.symbol} skipped: not in the tradable universe`,
          );
        outside.add(r.tick.symbol);
        return false;
      }
      return r.ok;
    });
    let i = 0;
    // Replayed as live: each row is stamped with the time it is sent (the strategist refuses stale timestamps).
    source = () => {
      const row = rows[i++];
      return row && row.ok ? { ...row.tick, ts: ctx.clock.now() } : undefined;
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
    if (!options.csvPath && market.instruments.length === 0) return; // no synthetic instrument (yet): nothing to make
    // One pipeline per write shard (its stream and keys share a slot; with one shard, one pipeline as before).
    const pipes = shards.keys.map(() => redis.pipeline());
    const latest = new Map<string, MarketTick>();
    const symbols: string[][] = shards.keys.map(() => []);
    let n = 0;
    for (; n < limit; n++) {
      const tick = source();
      if (!tick) {
        running = false;
        break;
      }
      const shard = shards.of(tick.symbol);
      pipes[shard]!.xadd(shards.keys[shard]!.marketEvents, 'MAXLEN', '~', options.streamMaxLen, '*', ...encodeTick(tick));
      latest.set(tick.symbol, tick);
      symbols[shard]!.push(tick.symbol);
    }
    const seenAt = ctx.clock.now();
    for (const [symbol, tick] of latest) {
      const shard = shards.of(symbol);
      pipes[shard]!.hset(shards.keys[shard]!.lastTick(symbol), ...encodeTick(tick));
      pipes[shard]!.hset(shards.keys[shard]!.marketDataSeen, symbol, seenAt);
    }
    sent += n;
    // A pipeline reports errors per command (READONLY during a failover, OOM):
    // count what was written and say what was not. Market data is not retried.
    const results = await Promise.all(
      pipes.map((p, i) => (symbols[i]!.length > 0 ? p.exec().catch((err: unknown) => symbols[i]!.map(() => [err as Error, null] as [Error, null])) : Promise.resolve([]))),
    );
    const errors: Error[] = [];
    results.forEach((res, shard) => {
      const sent = symbols[shard]!;
      for (let i = 0; i < sent.length; i++) {
        const err = res?.[i]?.[0];
        if (err) {
          errors.push(err);
        } else {
          written++;
          published.inc({ symbol: sent[i]! });
        }
      }
    });
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
    status: () => ({
      ticks_published: written,
      ticks_failed: failed,
      done: !running,
      rate: options.rate,
      source: options.csvPath ? 'csv' : 'synthetic',
      config_version: { instruments: instruments.version },
    }),
    stop: async () => {
      running = false;
      clearInterval(timer);
      await inFlight;
      await reloader.stop();
    },
  };
}
