/**
 * The paper venue: fills the whole quantity at once against the latest tick
 * (buys at the ask, sells at the bid); rejects when there is no quote.
 * `failRate` (PAPER_FAIL_RATE, 0..1) makes that share of submissions throw,
 * for drills of the circuit breaker and the venue-error kill trigger;
 * `latencyMs` (PAPER_LATENCY_MS) delays every answer, for latency drills.
 */
import type { CancelFilter, MarketQuote, Venue, VenueOrder, VenueResult } from './venue.ts';

export class PaperVenue implements Venue {
  readonly name = 'paper';
  constructor(
    private readonly failRate = 0,
    private readonly latencyMs = 0,
  ) {}
  async submit(order: VenueOrder, quote: MarketQuote | undefined): Promise<VenueResult> {
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    if (this.failRate > 0 && Math.random() < this.failRate) throw new Error('simulated venue outage (PAPER_FAIL_RATE)');
    if (!quote || !(quote.bid > 0) || !(quote.ask > 0)) return { status: 'REJECTED', reason: `no quote for ${order.symbol}` };
    return { status: 'FILLED', price: order.side === 'BUY' ? quote.ask : quote.bid, qty: order.qty };
  }
  /** Paper orders fill or reject at once: nothing ever rests. */
  async cancel(_filter: CancelFilter): Promise<number> {
    return 0;
  }
}
