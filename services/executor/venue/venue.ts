/** The venue interface every execution venue implements. */
import type { Side } from '../../core/messages.ts';

export interface VenueOrder {
  clientOrderId: string;
  symbol: string;
  side: Side;
  qty: number;
}

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
  /** Cancel every resting order (a paper venue has none). */
  cancelAll(): Promise<number>;
}
