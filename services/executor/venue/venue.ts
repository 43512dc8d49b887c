/**
 * What every execution venue offers the order management system. The
 * client order id names an order at the venue: submitting it twice must
 * not make two orders (the venue refuses or returns the first), and it is
 * how an order is found again after a crash.
 *
 * Errors are VenueErrors: `transient` ones (timeouts, network, HTTP 429
 * with its Retry-After, 5xx) are worth retrying, the others are answers
 * (rejected, not found) that a retry would not change.
 */
import type { Side } from '../../core/messages.ts';
import type { Order, OrderType } from '../domain/order-lifecycle.ts';

/** What a venue is sent: the order's own fields. */
export type VenueOrderRequest = Pick<Order, 'clientOrderId' | 'symbol' | 'side' | 'type' | 'qty' | 'limitPrice'>;

export interface VenueFill {
  tradeId: string;
  qty: number;
  price: number;
  feeUsd: number;
  at: number;
}

export type VenueOrderState = 'open' | 'filled' | 'cancelled' | 'rejected' | 'expired';

/** An order as the venue knows it. */
export interface VenueOrderStatus {
  clientOrderId: string;
  venueOrderId: string;
  symbol: string;
  side: Side;
  type: OrderType;
  qty: number;
  limitPrice: number | null;
  state: VenueOrderState;
  filledQty: number;
  /** The fills so far (each with the venue's trade id). */
  fills: VenueFill[];
  reason: string;
  at: number;
}

/** A fill as a venue's trade history reports it. */
export interface VenueTrade extends VenueFill {
  clientOrderId: string;
  venueOrderId: string;
  symbol: string;
  side: Side;
}

export interface MarketQuote {
  bid: number;
  ask: number;
  ts: number;
}

export type VenueErrorCode = 'timeout' | 'network' | 'rate_limited' | 'server_error' | 'rejected' | 'not_found' | 'auth' | 'unknown';

export class VenueError extends Error {
  constructor(
    readonly code: VenueErrorCode,
    message: string,
    /** How long the venue asked to wait before the next request (HTTP 429 Retry-After). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
  get transient(): boolean {
    return this.code === 'timeout' || this.code === 'network' || this.code === 'rate_limited' || this.code === 'server_error';
  }
}

export interface Venue {
  readonly name: string;
  /** paper: simulated here; live: a real exchange (LIVE mode). */
  readonly kind: 'paper' | 'live';
  /** Place an order; the answer is its state right after (fills a market order got at once included). */
  submit(req: VenueOrderRequest, quote: MarketQuote | undefined): Promise<VenueOrderStatus>;
  /** Cancel one order; its state after (undefined: the venue does not know it). */
  cancel(clientOrderId: string, symbol: string): Promise<VenueOrderStatus | undefined>;
  /** One order by client order id (undefined: not known to the venue). */
  fetchOrder(clientOrderId: string, symbol: string): Promise<VenueOrderStatus | undefined>;
  fetchOpenOrders(symbols: readonly string[]): Promise<VenueOrderStatus[]>;
  /** Fills since `since` (ms), oldest first. */
  fetchTrades(symbols: readonly string[], since: number): Promise<VenueTrade[]>;
  /** Holdings per symbol the OMS trades (the base asset of each), for drift checks. */
  fetchPositions(symbols: readonly string[]): Promise<Record<string, number>>;
  start?(): Promise<void>;
  stop?(): Promise<void>;
}
