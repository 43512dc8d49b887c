/**
 * onTargets: order_intents → order decision → venue (through the breaker) →
 * order, position, exec_reports → ack, in one transaction per batch.
 *
 * Targets are absolute, so only the newest target per symbol in a batch can
 * produce an order; older ones are acknowledged with no effect. The client
 * order id is derived from the target's stream id, so a redelivered target
 * maps to the same order id (and a venue that deduplicates by it sees one
 * order).
 */
import type { RedisClient } from '../core/redis/connect.ts';
import type { Clock } from '../core/clock.ts';
import type { ConfigHolder } from '../core/config/reloader.ts';
import type { RiskHarmoniserConfig } from '../core/config/schemas.ts';
import type { ControlView } from '../core/context.ts';
import { encodeExecReport, type ExecReport, type Target } from '../core/messages.ts';
import { probeFailure } from '../core/domain/breaker.ts';
import type { ProbeReservation } from '../core/redis/breaker-scripts.ts';
import { decodeStored, positionCodec } from '../core/redis/codecs.ts';
import type { RedisKeys } from '../core/redis/keys.ts';
import type { Logger } from '../core/log.ts';
import type { BatchContext, StreamEntry, StreamHandler } from '../core/redis/streams.ts';
import { tradingDay } from './domain/daily-pnl.ts';
import { applyFill, decideOrder, type PositionState } from './domain/decide-order.ts';
import type { ExecutorMetrics } from './metrics.ts';
import type { MarketQuote, VenueOrder, VenueResult } from './venue/venue.ts';

export interface TargetHandlerDeps {
  keys: RedisKeys;
  clock: Clock;
  redis: RedisClient;
  config: ConfigHolder<RiskHarmoniserConfig>;
  control: ControlView;
  /** Venue submit wrapped by the circuit breaker. */
  submit(order: VenueOrder, quote: MarketQuote | undefined): Promise<VenueResult>;
  /** HALF_OPEN test orders: one at a time across replicas, counted against the cap (core/redis/breaker-scripts.ts). */
  probe: {
    reserve(owner: string, enteredAt: number): Promise<ProbeReservation>;
    release(owner: string): void;
    /** A test order failed: back to OPEN, if still in that HALF_OPEN episode. */
    failed(cause: string, enteredAt: number): void;
  };
  mode(): 'DRY_RUN' | 'PAPER' | 'LIVE';
  metrics: ExecutorMetrics;
  reportsMaxLen: number;
  onOrderLatency(ms: number): void;
  log?: Logger;
}

const DAILY_STATS_TTL_S = 30 * 86_400;

/** The stored position (no key: flat), or why it cannot be read: then nothing may be traded on it. */
export function readPosition(raw: string | null | undefined, key: string): { ok: true; position: PositionState } | { ok: false; reason: string } {
  if (raw === null || raw === undefined) return { ok: true, position: { qty: 0, avgPrice: 0, realizedPnl: 0 } };
  const d = decodeStored(positionCodec, key, raw);
  if (!d.ok) return d;
  return { ok: true, position: { qty: d.value.qty, avgPrice: d.value.avg_price, realizedPnl: d.value.realized_pnl } };
}

export function clientOrderId(symbol: string, targetId: string): string {
  return `${symbol}:${targetId}`;
}

export function createTargetHandler(deps: TargetHandlerDeps): StreamHandler<Target> {
  return {
    watchKeys(entries) {
      return [...new Set(entries.map((e) => e.value.symbol))].map((s) => deps.keys.position(s));
    },
    readHashes(entries) {
      return [...new Set(entries.map((e) => e.value.symbol))].map((s) => deps.keys.lastTick(s));
    },

    async handle(entries: readonly StreamEntry<Target>[], { state, hashes, tx, afterCommit, deadLetter }: BatchContext): Promise<void> {
      const cfg = deps.config.current;
      // A first filter for the HALF_OPEN cap; the probe reservation is the authority across replicas.
      let halfOpenOrders = deps.control.snapshot.breaker.halfOpenOrders;
      const writeReport = (report: ExecReport): void => {
        tx.hset(deps.keys.order(report.client_order_id), ...encodeExecReport(report));
        tx.zadd(deps.keys.orderIndex, String(report.ts), report.client_order_id);
        tx.xadd(deps.keys.execReports, 'MAXLEN', '~', String(deps.reportsMaxLen), '*', ...encodeExecReport(report));
      };
      const latest = new Map<string, StreamEntry<Target>>();
      for (const e of entries) latest.set(e.value.symbol, e);
      const quotes = new Map<string, MarketQuote>();
      for (const s of latest.keys()) {
        const h = hashes.get(deps.keys.lastTick(s));
        if (h && h['bid']) quotes.set(s, { bid: Number(h['bid']), ask: Number(h['ask']), ts: Number(h['ts']) });
      }

      for (const [symbol, entry] of latest) {
        const target = entry.value;
        const stored = readPosition(state.get(deps.keys.position(symbol)), deps.keys.position(symbol));
        if (!stored.ok) {
          // Never trade on a position that cannot be read: the target goes to the dead letters, with the key.
          deadLetter(entry.id, `${stored.reason}; no order sent`, 'unreadable_state');
          afterCommit(() => deps.log?.error({ event: 'state.unreadable', key: deps.keys.position(symbol), reason: stored.reason }, `${stored.reason}: target refused`));
          continue;
        }
        const position = stored.position;
        // Per order, not per batch: a venue call can be slow, and a snapshot gone stale meanwhile reads as unknown.
        const snapshot = deps.control.snapshot;
        const control = snapshot.known ? { ...snapshot, breaker: { ...snapshot.breaker, halfOpenOrders } } : snapshot;
        const decision = decideOrder(
          target.target_usd,
          target.price,
          position.qty,
          control,
          {
            minNotionalUsd: cfg.position_sizing.min_order_notional_usd,
            halfOpenMaxOrders: cfg.circuit_breaker.half_open_max_orders,
            halfOpenMaxNotionalUsd: cfg.circuit_breaker.half_open_max_notional_usd,
          },
          { symbol, model: target.model },
        );
        if (decision.kind === 'none') continue;
        const now = deps.clock.now();
        const id = clientOrderId(symbol, entry.id);
        const base = { client_order_id: id, symbol, side: decision.side, qty: decision.qty, tick_ts: target.tick_ts, ts: now };
        let report: ExecReport;
        if (decision.kind === 'denied') {
          report = { ...base, price: target.price, status: 'REJECTED', reason: decision.reason, position_qty: position.qty, latency_ms: 0 };
          afterCommit(() => deps.metrics.orders.inc({ symbol, status: 'denied' }));
        } else if (deps.mode() === 'DRY_RUN') {
          report = { ...base, price: target.price, status: 'DRY_RUN', reason: decision.note || 'dry run: not sent', position_qty: position.qty, latency_ms: 0 };
          afterCommit(() => deps.metrics.orders.inc({ symbol, status: 'dry_run' }));
        } else {
          const probing = control.breaker.state === 'HALF_OPEN';
          if (probing) {
            const probe = await deps.probe.reserve(id, control.breaker.at);
            if (!probe.ok) {
              const why = {
                busy: 'another test order is in flight',
                cap: `${cfg.circuit_breaker.half_open_max_orders} test orders used`,
                not_half_open: 'the breaker moved; retry on the next target',
              }[probe.why];
              report = { ...base, price: target.price, status: 'REJECTED', reason: `circuit breaker HALF_OPEN: ${why}`, position_qty: position.qty, latency_ms: 0 };
              afterCommit(() => deps.metrics.orders.inc({ symbol, status: 'denied' }));
              writeReport(report);
              continue;
            }
            halfOpenOrders = probe.orders;
            afterCommit(() => deps.probe.release(id));
          }
          const t0 = performance.now();
          let result: VenueResult;
          try {
            result = await deps.submit({ clientOrderId: id, symbol, side: decision.side, qty: decision.qty, model: target.model }, quotes.get(symbol));
          } catch (err) {
            result = { status: 'REJECTED', reason: `venue error: ${err instanceof Error ? err.message : String(err)}` };
          }
          const latencyMs = performance.now() - t0;
          if (probing) {
            const failure = probeFailure(result, latencyMs, cfg.circuit_breaker.latency_threshold_ms);
            if (failure) deps.probe.failed(failure, control.breaker.at);
          }
          if (result.status === 'FILLED') {
            const next = applyFill(position, decision.side, result.qty, result.price);
            tx.set(deps.keys.position(symbol), JSON.stringify({ symbol, qty: next.qty, avg_price: next.avgPrice, realized_pnl: next.realizedPnl, updated_at: now }));
            const daily = deps.keys.dailyStats(tradingDay(now));
            const realized = next.realizedPnl - position.realizedPnl;
            tx.hincrby(daily, 'trades', 1);
            if (realized !== 0) {
              tx.hincrbyfloat(daily, 'realized_pnl', realized);
              tx.hincrby(daily, realized > 0 ? 'winning_trades' : 'losing_trades', 1);
            }
            tx.expire(daily, DAILY_STATS_TTL_S);
            report = { ...base, qty: result.qty, price: result.price, status: 'FILLED', reason: decision.note, position_qty: next.qty, latency_ms: latencyMs };
          } else {
            report = { ...base, price: target.price, status: 'REJECTED', reason: result.reason, position_qty: position.qty, latency_ms: latencyMs };
            if (result.reason.startsWith('venue error')) {
              const key = deps.keys.venueErrors(Math.floor(now / 60_000));
              tx.incr(key);
              tx.expire(key, 180);
            }
          }
          const status = result.status === 'FILLED' ? 'filled' : 'rejected';
          afterCommit(() => {
            deps.metrics.orders.inc({ symbol, status });
            deps.metrics.orderLatency.observe(latencyMs / 1000);
            deps.onOrderLatency(latencyMs);
          });
        }
        writeReport(report);
      }
    },
  };
}
