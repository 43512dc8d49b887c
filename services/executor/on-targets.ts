/**
 * onTargets: order_intents → order decision → the order recorded (NEW) and
 * acknowledged in one commit; sending is the venue worker's (outbox).
 *
 * Decide, commit, then send: the batch commit only records the orders it
 * decided (with their indexes, first event and the symbol's working
 * quantity) together with the XACK of their targets; after it committed,
 * each order is put on the send queue under its client order id. A batch
 * that is retried (a state it read changed) or fenced (its entries are no
 * longer its own) has sent nothing, so it can never send an order twice or
 * send one that was not committed. An order whose enqueue was lost (a crash
 * between commit and enqueue) is found NEW by the outbox sweep and enqueued
 * then (the job id is the client order id: enqueued once).
 *
 * Targets are absolute, so only the newest target per symbol in a batch can
 * produce an order, and a newer target decides again the symbol's order that
 * is recorded but not yet sent: it is amended to the newer target's order
 * (its job keeps its place in the queue) or cancelled when no order is
 * needed any more, in the same commit. A throttled queue never carries a
 * backlog of stale orders (at most one unsent order per symbol), and a
 * flood of targets cannot starve the send. The position it is measured against is the filled
 * position plus what is still working at the venue. A target refused by the
 * controls produces one REJECTED report per symbol per reason (no flood
 * while halted); a `hold` target (the edge does not pay its costs) produces
 * nothing.
 */
import type { Clock } from '../core/clock.ts';
import type { ConfigHolder } from '../core/config/reloader.ts';
import type { RiskHarmoniserConfig } from '../core/config/schemas.ts';
import type { ControlView } from '../core/context.ts';
import type { ControlSnapshot } from '../core/domain/control-state.ts';
import type { Logger } from '../core/log.ts';
import { encodeExecReport, type ExecReport, type Target } from '../core/messages.ts';
import type { RedisKeys } from '../core/redis/keys.ts';
import type { BatchContext, StreamEntry, StreamHandler } from '../core/redis/streams.ts';
import { decideOrder, roundToLot } from './domain/decide-order.ts';
import { newOrder, type Order } from './domain/order-lifecycle.ts';
import type { ExecutorMetrics } from './metrics.ts';
import { amendUnsent, parseWorking, recordNewOrder, recordWorking, supersedeUnsent, workingTotal } from './order-store.ts';
import { readPosition } from './position.ts';
import { compareStreamIds } from '../core/domain/consumer-lag.ts';

export interface TargetHandlerDeps {
  keys: RedisKeys;
  /** This unit's write shard when the deployment has more than one (it goes into client order ids), else undefined. */
  shard?: number | undefined;
  clock: Clock;
  config: ConfigHolder<RiskHarmoniserConfig>;
  control: ControlView;
  mode(): 'DRY_RUN' | 'PAPER' | 'LIVE';
  /** The instrument's lot size (orders are whole lots). */
  lotSize(symbol: string): number;
  /** Until this executor has reconciled with the venue once, it only reduces. */
  reconciled(): boolean;
  /** Put committed orders on the send queue (after the commit). */
  enqueue(orders: readonly Order[]): void;
  /** Take superseded orders' jobs off the send queue (after the commit; best effort: a job taken meanwhile finds its order cancelled). */
  unqueue(clientOrderIds: readonly string[]): void;
  metrics: ExecutorMetrics;
  reportsMaxLen: number;
  log?: Logger;
}

/**
 * The client order id of the one order a target can produce: from the
 * target's stream id, so a redelivered target names the same order. Short
 * and of the characters every venue (and BullMQ's job ids) accept:
 * "T<ms>-<seq>" (Binance allows 36 characters of [.A-Z:/a-z0-9_-]). With
 * write shards each shard's order_intents is a stream of its own whose ids
 * can equal another shard's (same millisecond), so the shard is part of the
 * id: "T<ms>-<seq>.s<shard>".
 */
export function clientOrderId(targetId: string, shard?: number): string {
  return shard === undefined ? `T${targetId}` : `T${targetId}.s${shard}`;
}

export function createTargetHandler(deps: TargetHandlerDeps): StreamHandler<Target> {
  const symbolsOf = (entries: readonly StreamEntry<Target>[]): string[] => [...new Set(entries.map((e) => e.value.symbol))];
  return {
    watchKeys(entries) {
      // The order sequence stands for the working and unsent hashes: every change to them bumps it.
      return symbolsOf(entries).flatMap((s) => [deps.keys.position(s), deps.keys.orderSeq(s), deps.keys.denied(s), deps.keys.lastTarget(s)]);
    },
    readHashes(entries) {
      return symbolsOf(entries).flatMap((s) => [deps.keys.lastTick(s), deps.keys.working(s), deps.keys.unsent(s)]);
    },

    async handle(entries: readonly StreamEntry<Target>[], { state, hashes, tx, afterCommit, deadLetter }: BatchContext): Promise<void> {
      const cfg = deps.config.current;
      const latest = new Map<string, StreamEntry<Target>>();
      for (const e of entries) latest.set(e.value.symbol, e);
      const created: Order[] = [];
      const writeReport = (report: ExecReport): void => {
        tx.xadd(deps.keys.execReports, 'MAXLEN', '~', String(deps.reportsMaxLen), '*', ...encodeExecReport(report));
      };

      for (const [symbol, entry] of latest) {
        const target = entry.value;
        // Replicas take targets in parallel: one older than a target another replica already acted on is stale (it
        // must not undo the newer decision, nor cancel the order that one recorded).
        const last = state.get(deps.keys.lastTarget(symbol));
        if (last && compareStreamIds(entry.id, last) <= 0) {
          afterCommit(() => deps.metrics.staleTargets.inc());
          continue;
        }
        tx.set(deps.keys.lastTarget(symbol), entry.id);
        if (target.action === 'hold') continue; // the edge does not pay for the round trip: no order
        const stored = readPosition(state.get(deps.keys.position(symbol)), deps.keys.position(symbol));
        if (!stored.ok) {
          // Never trade on a position that cannot be read: the target goes to the dead letters, with the key.
          deadLetter(entry.id, `${stored.reason}; no order sent`, 'unreadable_state');
          afterCommit(() => deps.log?.error({ event: 'state.unreadable', key: deps.keys.position(symbol), reason: stored.reason }, `${stored.reason}: target refused`));
          continue;
        }
        const working = parseWorking(hashes.get(deps.keys.working(symbol)));
        // An order an older target recorded that has not been sent yet: this target decides it again
        // (amended to this target's order, or cancelled when this target needs none).
        const unsent = Object.keys(hashes.get(deps.keys.unsent(symbol)) ?? {}).sort();
        const sent = { ...working };
        for (const u of unsent) delete sent[u];
        const now = deps.clock.now();
        const dropUnsent = (why: string): Record<string, number> => {
          if (unsent.length === 0) return working;
          const rest = supersedeUnsent(tx, deps.keys, symbol, unsent, working, why, now);
          afterCommit(() => {
            deps.metrics.superseded.inc(unsent.length);
            deps.unqueue(unsent);
          });
          return rest;
        };
        const exposure = stored.position.qty + workingTotal(sent);
        // Per order, not per batch: a snapshot gone stale meanwhile reads as unknown.
        const snapshot = deps.control.snapshot;
        const unreconciled: ControlSnapshot =
          snapshot.known && !deps.reconciled() && snapshot.trading.state !== 'HALTED'
            ? { ...snapshot, trading: { ...snapshot.trading, state: 'REDUCING', reason: 'awaiting reconciliation with the venue' } }
            : snapshot;
        const decision = decideOrder(
          target.target_usd,
          target.price,
          exposure,
          unreconciled,
          {
            minNotionalUsd: cfg.position_sizing.min_order_notional_usd,
            halfOpenMaxOrders: cfg.circuit_breaker.half_open_max_orders,
            halfOpenMaxNotionalUsd: cfg.circuit_breaker.half_open_max_notional_usd,
          },
          { symbol, model: target.model },
        );
        const qty = decision.kind === 'order' ? roundToLot(decision.qty, deps.lotSize(symbol)) : 0;
        // Nothing to order (whole lots only: less than one lot is nothing).
        if (decision.kind === 'none' || (decision.kind === 'order' && qty <= 0)) {
          dropUnsent(`superseded by target ${entry.id}: no order needed (not sent)`);
          continue;
        }
        if (decision.kind === 'order') decision.qty = qty;
        const id = clientOrderId(entry.id, deps.shard);
        const base = {
          client_order_id: id,
          symbol,
          side: decision.side,
          qty: decision.qty,
          price: target.price,
          tick_ts: target.tick_ts,
          ts: now,
          position_qty: stored.position.qty,
          latency_ms: 0,
        };
        if (decision.kind === 'denied') {
          dropUnsent(`superseded by target ${entry.id}: ${decision.reason} (not sent)`);
          // One report per symbol per reason: a halted system does not flood exec_reports.
          if (state.get(deps.keys.denied(symbol)) === decision.reason) continue;
          tx.set(deps.keys.denied(symbol), decision.reason, 'EX', 86_400);
          writeReport({ ...base, status: 'REJECTED', reason: decision.reason });
          afterCommit(() => deps.metrics.orders.inc({ symbol, status: 'denied' }));
          continue;
        }
        if (state.get(deps.keys.denied(symbol)) !== null) tx.del(deps.keys.denied(symbol));
        if (deps.mode() === 'DRY_RUN') {
          dropUnsent(`superseded by target ${entry.id}: DRY_RUN (not sent)`);
          writeReport({ ...base, status: 'DRY_RUN', reason: decision.note || 'dry run: not sent' });
          afterCommit(() => deps.metrics.orders.inc({ symbol, status: 'dry_run' }));
          continue;
        }
        const quote = hashes.get(deps.keys.lastTick(symbol));
        const type = cfg.execution.order_type;
        const touch = decision.side === 'BUY' ? Number(quote?.['ask'] ?? target.price) : Number(quote?.['bid'] ?? target.price);
        const offset = cfg.execution.limit_offset_bps / 10_000;
        const limitPrice = type === 'limit' ? (decision.side === 'BUY' ? touch * (1 + offset) : touch * (1 - offset)) : null;
        const fields = {
          side: decision.side,
          type,
          qty: decision.qty,
          limitPrice,
          targetId: entry.id,
          model: target.model,
          reduceOnly: decision.reduceOnly,
          probe: snapshot.known && snapshot.breaker.state === 'HALF_OPEN',
          reason: decision.note,
        };
        const [keep, ...extra] = unsent;
        if (keep !== undefined) {
          // The unsent order becomes this target's order: its job is still queued, in its place.
          if (extra.length > 0) supersedeUnsent(tx, deps.keys, symbol, extra, sent, `superseded by target ${entry.id} (not sent)`, now);
          amendUnsent(tx, deps.keys, symbol, keep, fields, now);
          afterCommit(() => deps.metrics.amended.inc());
          continue;
        }
        const order = newOrder({ clientOrderId: id, symbol, ...fields, at: now });
        recordNewOrder(tx, deps.keys, order);
        recordWorking(tx, deps.keys, order, true);
        created.push(order);
        afterCommit(() => deps.metrics.orders.inc({ symbol, status: 'created' }));
      }
      if (created.length > 0) afterCommit(() => deps.enqueue(created));
    },
  };
}
