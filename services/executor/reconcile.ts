/**
 * Reconciliation with the venue, the venue authoritative (seed 000): at
 * start and every execution.reconcile_interval_ms, each executor
 *
 *   1. fetches the venue's open orders: one the OMS does not know is
 *      adopted (recorded, marked adopted); one it knows is brought in line;
 *   2. fetches the venue's fills since the last reconciliation (with a
 *      margin): each is applied to its order once (fills missed while the
 *      executor was down land now; the store drops the ones it has);
 *   3. asks the venue about every open OMS order it did not list: a terminal
 *      state is applied, an order the venue does not know is EXPIRED
 *      ("not found at venue");
 *   4. cancels open orders with no update for execution.stuck_order_ms and
 *      reports them as stuck;
 *   5. compares each position with the venue's holding: a drift above
 *      execution.position_drift_pct of its notional, the same difference
 *      at two reconciliations in a row (in-flight fills differ from one to
 *      the next; a lost fill does not), is an alert (position_drift_pct,
 *      execution.position_drift) and that symbol goes REDUCING (a scoped
 *      stop, trigger position_drift).
 *
 * Everything it applies is idempotent, so replicas reconciling at once do
 * no harm. Until this executor's first reconciliation succeeds it only
 * reduces (on-targets.ts). The outcome is kept in
 * exec:reconciliation:<venue> and shown by /api/status.
 */
import type { ConfigHolder } from '../core/config/reloader.ts';
import type { InstrumentsConfig, RiskHarmoniserConfig } from '../core/config/schemas.ts';
import type { ServiceContext } from '../core/context.ts';
import { newOrder, OPEN, TERMINAL, type Order } from './domain/order-lifecycle.ts';
import { checkDrift } from './domain/position-drift.ts';
import type { ExecutorMetrics } from './metrics.ts';
import type { Oms } from './oms.ts';
import { readPosition } from './position.ts';
import type { VenueOrderStatus } from './venue/venue.ts';

export interface ReconcileOutcome {
  ok: boolean;
  at: number;
  adopted: number;
  fillsApplied: number;
  unknownAtVenue: number;
  stuck: number;
  drift: Record<string, number>;
  error?: string;
}

export interface ReconcilerDeps {
  ctx: ServiceContext;
  oms: Oms;
  config: ConfigHolder<RiskHarmoniserConfig>;
  instruments: ConfigHolder<InstrumentsConfig>;
  metrics: ExecutorMetrics;
}

/** Fills are fetched from a little before the last reconciliation, so none falls between two. */
const OVERLAP_MS = 60_000;
/** A send takes at most the breaker's call timeout per attempt, and the last retry comes 15 s after the first: older SUBMITTED orders the venue does not know were never placed. */
const IN_FLIGHT_MS = 30_000;

export function adoptedOrder(s: VenueOrderStatus, at: number): Order {
  const o = newOrder({
    clientOrderId: s.clientOrderId,
    symbol: s.symbol,
    side: s.side,
    type: s.type,
    qty: s.qty,
    limitPrice: s.limitPrice,
    targetId: '',
    model: 'adopted',
    reduceOnly: false,
    probe: false,
    at,
    reason: 'adopted from the venue by reconciliation',
  });
  return { ...o, adopted: true };
}

export class Reconciler {
  private lastOkAt = 0;
  /** Symbol → the venue-minus-OMS difference the last reconciliation saw drifting. */
  private readonly drifting = new Map<string, number>();
  private firstOk = false;
  private running: Promise<ReconcileOutcome> | undefined;

  constructor(private readonly d: ReconcilerDeps) {}

  get reconciled(): boolean {
    return this.firstOk;
  }

  /** One reconciliation (concurrent calls share the one running). */
  run(): Promise<ReconcileOutcome> {
    this.running ??= this.once().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async once(): Promise<ReconcileOutcome> {
    const { ctx, oms, metrics } = this.d;
    const venue = oms.d.venue;
    const store = oms.d.store;
    const cfg = this.d.config.current.execution;
    const symbols = Object.keys(this.d.instruments.current.symbols);
    const now = ctx.clock.now();
    const out: ReconcileOutcome = { ok: false, at: now, adopted: 0, fillsApplied: 0, unknownAtVenue: 0, stuck: 0, drift: {} };
    try {
      const stored = await ctx.redis.hget(ctx.keys.reconciliation(venue.name), 'ok_at');
      const since = Math.max(0, Math.min(this.lastOkAt || Number(stored ?? 0) || now - 3_600_000, now) - OVERLAP_MS);
      // 1. The venue's open orders.
      const venueOpen = await venue.fetchOpenOrders(symbols);
      const listed = new Set<string>();
      for (const s of venueOpen) {
        listed.add(s.clientOrderId);
        const known = await store.get(s.clientOrderId);
        if (!known) {
          if (await store.adopt(adoptedOrder(s, now))) {
            out.adopted++;
            metrics.adopted.inc();
            ctx.log.warn(
              { event: 'reconcile.adopted', client_order_id: s.clientOrderId, symbol: s.symbol, venue: venue.name },
              `order ${s.clientOrderId} at ${venue.name} was unknown to the OMS: adopted`,
            );
          }
        }
        if (known && TERMINAL.has(known.state)) {
          // Open at the venue, finished for the OMS: nothing may rest there that the OMS does not follow.
          await venue.cancel(s.clientOrderId, s.symbol);
          metrics.orphansCancelled.inc();
          ctx.log.error(
            { event: 'reconcile.orphan_cancelled', client_order_id: s.clientOrderId, symbol: s.symbol, oms_state: known.state },
            `order ${s.clientOrderId} was open at ${venue.name} but ${known.state} in the OMS: cancelled at the venue`,
          );
          continue;
        }
        await oms.applyStatus(s);
      }
      // 2. Fills since the last reconciliation.
      for (const t of await venue.fetchTrades(symbols, since)) {
        if (!(await store.get(t.clientOrderId))) {
          const s = await venue.fetchOrder(t.clientOrderId, t.symbol);
          if (!s) continue;
          if (await store.adopt(adoptedOrder(s, now))) {
            out.adopted++;
            metrics.adopted.inc();
          }
        }
        const r = await oms.applyFill(t.clientOrderId, t);
        if (r.kind === 'applied') out.fillsApplied++;
      }
      // 3. Open OMS orders the venue did not list; 4. stuck ones.
      for (const o of await store.open()) {
        // NEW: not sent yet; SUBMITTED lately: its send may still be on its way.
        if (listed.has(o.clientOrderId) || o.state === 'NEW' || (o.state === 'SUBMITTED' && ctx.clock.now() - o.updatedAt < IN_FLIGHT_MS)) continue;
        const s = await venue.fetchOrder(o.clientOrderId, o.symbol);
        if (!s) {
          await oms.apply(o.clientOrderId, { type: 'OrderExpired', reason: 'not found at venue (reconciliation)', at: ctx.clock.now() });
          out.unknownAtVenue++;
          metrics.unknownAtVenue.inc();
          ctx.log.warn(
            { event: 'reconcile.unknown_at_venue', client_order_id: o.clientOrderId, symbol: o.symbol },
            `order ${o.clientOrderId} is not known at ${venue.name}: expired`,
          );
          continue;
        }
        await oms.applyStatus(s);
      }
      for (const o of await store.open()) {
        if (!OPEN.has(o.state) || ctx.clock.now() - o.updatedAt <= cfg.stuck_order_ms) continue;
        const reason = `stuck: no update for ${ctx.clock.now() - o.updatedAt} ms (> ${cfg.stuck_order_ms} ms)`;
        if ((await oms.cancel((x) => x.clientOrderId === o.clientOrderId, reason)).cancelled > 0) {
          out.stuck++;
          metrics.stuck.inc();
          ctx.log.error({ event: 'orders.stuck', client_order_id: o.clientOrderId, symbol: o.symbol, state: o.state }, `order ${o.clientOrderId} ${reason}: cancelled`);
        }
      }
      // 5. Positions against the venue's holdings.
      const holdings = await venue.fetchPositions(symbols);
      for (const symbol of symbols) {
        if (!(symbol in holdings)) continue; // not traded at this venue
        const key = ctx.keys.position(symbol);
        const p = readPosition(await ctx.redis.get(key), key);
        if (!p.ok) continue;
        const [bid, ask] = (await ctx.redis.hmget(ctx.keys.lastTick(symbol), 'bid', 'ask')).map(Number);
        const mid = bid! > 0 && ask! > 0 ? (bid! + ask!) / 2 : 0;
        const oms_ = p.position.qty;
        const held = holdings[symbol] ?? 0;
        const { driftPct, diff, verdict } = checkDrift(
          oms_,
          held,
          mid,
          cfg.position_drift_pct,
          this.drifting.get(symbol),
          this.d.instruments.current.symbols[symbol]?.lot_size ?? 0,
        );
        metrics.drift.set({ symbol }, driftPct);
        out.drift[symbol] = driftPct;
        if (verdict === 'ok') this.drifting.delete(symbol);
        else this.drifting.set(symbol, diff);
        if (verdict === 'suspect') {
          ctx.log.warn(
            { event: 'execution.position_drift', symbol, oms_qty: oms_, venue_qty: held, drift_pct: driftPct, confirmed: false },
            `position drift on ${symbol}: OMS ${oms_} vs venue ${held} (${driftPct.toFixed(2)}%); checked again at the next reconciliation`,
          );
        } else if (verdict === 'confirmed') {
          ctx.log.error(
            { event: 'execution.position_drift', symbol, oms_qty: oms_, venue_qty: held, drift_pct: driftPct },
            `position drift on ${symbol}: OMS ${oms_} vs venue ${held} (${driftPct.toFixed(2)}% of notional > ${cfg.position_drift_pct}%): ${symbol} REDUCING`,
          );
          await ctx.writer.scope(
            `symbol:${symbol}`,
            { kind: 'stop', state: 'REDUCING' },
            { reason: `position drift ${driftPct.toFixed(2)}% vs the venue`, by: `auto:${ctx.instance}`, trigger: 'position_drift' },
          );
        }
      }
      out.ok = true;
      this.lastOkAt = now;
      this.firstOk = true;
      metrics.reconciliations.inc({ outcome: 'ok' });
      await ctx.redis.hset(ctx.keys.reconciliation(venue.name), {
        ok_at: now,
        at: now,
        ok: '1',
        error: '',
        by: ctx.instance,
        adopted: out.adopted,
        fills_applied: out.fillsApplied,
        unknown_at_venue: out.unknownAtVenue,
        stuck: out.stuck,
        drift: JSON.stringify(out.drift),
      });
      if (out.adopted + out.fillsApplied + out.unknownAtVenue + out.stuck > 0)
        ctx.log.info(
          { event: 'reconcile.done', ...out },
          `reconciled with ${venue.name}: ${out.adopted} adopted, ${out.fillsApplied} fills applied, ${out.unknownAtVenue} unknown at the venue, ${out.stuck} stuck`,
        );
    } catch (err) {
      out.error = String(err);
      metrics.reconciliations.inc({ outcome: 'failed' });
      ctx.log.error({ event: 'reconcile.failed', venue: venue.name, err: out.error }, `reconciliation with ${venue.name} failed: ${out.error}`);
      await ctx.redis.hset(ctx.keys.reconciliation(venue.name), { at: now, ok: '0', error: out.error.slice(0, 500), by: ctx.instance }).catch(() => undefined);
    }
    return out;
  }
}
