/**
 * The order management system around the store: turns what a venue says
 * about an order (a status, a fill, a cancel) into lifecycle events, applies
 * them (order-store.ts: once each, whoever reports them), and measures
 * them; cancels what a kill or a stop names, at the venue or, for orders
 * not yet sent, locally.
 */
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import type { OrderEvent, Order } from './domain/order-lifecycle.ts';
import { OPEN } from './domain/order-lifecycle.ts';
import { rejectionKind, type ExecutorMetrics } from './metrics.ts';
import type { ApplyOutcome, OrderStore } from './order-store.ts';
import type { Venue, VenueFill, VenueOrderStatus } from './venue/venue.ts';

export interface OmsDeps {
  store: OrderStore;
  venue: Venue;
  clock: Clock;
  metrics: ExecutorMetrics;
  log: Logger;
  /** Whether an order's send is being made right now (its job is active on the send queue). */
  sendInFlight?: (clientOrderId: string) => Promise<boolean>;
}

export class Oms {
  constructor(readonly d: OmsDeps) {}

  /** Apply one event and measure what it did. */
  async apply(clientOrderId: string, event: OrderEvent, expectVersion?: number): Promise<ApplyOutcome> {
    const out = await this.d.store.apply(clientOrderId, event, expectVersion === undefined ? {} : { expectVersion });
    const m = this.d.metrics;
    if (out.kind === 'ignored') {
      m.ignoredReports.inc({ why: out.why });
      return out;
    }
    if (out.kind === 'unreadable') {
      this.d.log.error({ event: 'state.unreadable', client_order_id: clientOrderId, reason: out.reason }, `${out.reason}: order event not applied`);
      return out;
    }
    if (out.kind !== 'applied') return out;
    const o = out.order;
    const symbol = o.symbol;
    if (o.state === 'ACCEPTED' && out.from !== 'ACCEPTED') m.intentToAccepted.observe(Math.max(0, o.acceptedAt - o.createdAt) / 1000);
    if (out.fill) {
      m.fees.inc({ symbol }, out.fill.feeUsd);
      if (out.from === 'NEW' || out.from === 'SUBMITTED') m.intentToAccepted.observe(Math.max(0, event.at - o.createdAt) / 1000);
    }
    if (o.state === 'FILLED') {
      m.acceptedToFilled.observe(Math.max(0, o.filledAt - (o.acceptedAt || o.submittedAt || o.createdAt)) / 1000);
      m.orders.inc({ symbol, status: 'filled' });
    }
    if (o.state === 'REJECTED' || o.state === 'CANCELLED' || o.state === 'EXPIRED') {
      m.orders.inc({ symbol, status: o.state.toLowerCase() });
      if (o.state === 'REJECTED' || o.filledQty === 0) m.rejections.inc({ reason: rejectionKind(o.reason) });
    }
    return out;
  }

  /** Bring an order in line with what the venue reports about it. */
  async applyStatus(s: VenueOrderStatus): Promise<void> {
    const id = s.clientOrderId;
    if (s.venueOrderId && s.state !== 'rejected') await this.apply(id, { type: 'OrderAccepted', venueOrderId: s.venueOrderId, at: s.at, ...(s.qty > 0 ? { qty: s.qty } : {}) });
    for (const f of s.fills) await this.applyFill(id, f);
    if (s.state === 'cancelled') await this.apply(id, { type: 'OrderCancelled', reason: s.reason || 'cancelled at the venue', at: s.at });
    else if (s.state === 'rejected') await this.apply(id, { type: 'OrderRejected', reason: `venue rejected: ${s.reason}`, at: s.at });
    else if (s.state === 'expired') await this.apply(id, { type: 'OrderExpired', reason: s.reason || 'expired at the venue', at: s.at });
  }

  applyFill(clientOrderId: string, f: VenueFill): Promise<ApplyOutcome> {
    return this.apply(clientOrderId, { type: 'OrderFilled', tradeId: f.tradeId, qty: f.qty, price: f.price, feeUsd: f.feeUsd, at: f.at });
  }

  /**
   * Cancel the open orders `pick` chooses: those not yet at the venue
   * locally, the others at the venue (their state then follows its answer).
   * Returns how many were cancelled or asked to be, and the orders left to
   * a send in flight (neither at the venue nor cancellable yet: the caller
   * asks again once the send has ended, or its sender died).
   */
  async cancel(pick: (o: Order) => boolean, reason: string): Promise<{ cancelled: number; leftInFlight: string[] }> {
    const orders = (await this.d.store.open()).filter(pick);
    let n = 0;
    const leftInFlight: string[] = [];
    for (const o of orders) {
      try {
        if (o.state === 'NEW') {
          const r = await this.apply(o.clientOrderId, { type: 'OrderCancelled', reason, at: this.d.clock.now() });
          if (r.kind === 'applied') n++;
          continue;
        }
        const s = await this.d.venue.cancel(o.clientOrderId, o.symbol);
        if (s) {
          await this.applyStatus({ ...s, reason: s.state === 'cancelled' ? reason : s.reason });
          n++;
        }
        // Not at the venue. A send on its way is the worker's: on arrival under a kill it cancels
        // it there (a worker that died mid-send cancels nothing, so it is returned for the caller
        // to ask again). One waiting for a retry ends here (and a retry that comes anyway finds
        // the controls changed since it was decided and does not send).
        else if (!(await (this.d.sendInFlight?.(o.clientOrderId) ?? Promise.resolve(false)))) {
          const r = await this.apply(o.clientOrderId, { type: 'OrderCancelled', reason: `${reason} (not at the venue)`, at: this.d.clock.now() });
          if (r.kind === 'applied') n++;
        } else leftInFlight.push(o.clientOrderId);
      } catch (err) {
        this.d.log.error(
          { event: 'orders.cancel_failed', client_order_id: o.clientOrderId, err: String(err) },
          `cancel of ${o.clientOrderId} failed; reconciliation will retry it`,
        );
      }
    }
    return { cancelled: n, leftInFlight };
  }

  /** Open orders of the store (the OMS's view). */
  open(symbol?: string): Promise<Order[]> {
    return this.d.store.open(symbol);
  }
}

export { OPEN };
