/**
 * The paper venue: fills the whole quantity at once against the latest tick
 * (buys at the ask, sells at the bid); rejects when there is no quote.
 */
import type { MarketQuote, Venue, VenueOrder, VenueResult } from './venue.ts';

export class PaperVenue implements Venue {
  readonly name = 'paper';
  async submit(order: VenueOrder, quote: MarketQuote | undefined): Promise<VenueResult> {
    if (!quote || !(quote.bid > 0) || !(quote.ask > 0)) return { status: 'REJECTED', reason: `no quote for ${order.symbol}` };
    return { status: 'FILLED', price: order.side === 'BUY' ? quote.ask : quote.bid, qty: order.qty };
  }
  async cancelAll(): Promise<number> {
    return 0;
  }
}
