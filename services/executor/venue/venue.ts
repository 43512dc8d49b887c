/** The venue interface every execution venue implements. */
import type { Side } from '../../core/messages.ts';

export interface VenueOrder {
  clientOrderId: string;
  symbol: string;
  side: Side;
  qty: number;
  /** The model whose target this order serves (lets a venue cancel by model). */
  model: string;
}

/** Which resting orders to cancel: all of them, or one symbol's, or one model's. */
export type CancelFilter = { symbol?: string; model?: string };

export interface MarketQuote {
  bid: number;
  ask: number;
  ts: number;
}

export type VenueResult = { status: 'FILLED'; price: number; qty: number } | { status: 'REJECTED'; reason: string };

export interface Venue {
  readonly name: string;
  /** Submit an order; the client order id makes resubmission idempotent at the venue. */
  submit(order: VenueOrder, quote: MarketQuote | undefined): Promise<VenueResult>;
  /** Cancel the resting orders that match (every one for `{}`); returns how many. */
  cancel(filter: CancelFilter): Promise<number>;
}
