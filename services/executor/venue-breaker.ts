/**
 * opossum around every venue call. opossum's own state is per process; the
 * decision that matters is the shared one in Redis (core/control.ts). When
 * opossum opens (venue error rate over its threshold) the shared breaker is
 * opened for every replica, and the local opossum instance is replaced by a
 * fresh one, so reduce-only orders can still reach the venue and a later
 * reset starts from clean statistics (opossum's close() keeps its rolling
 * window). Its own reset timer is not used: OPEN holds until an operator
 * resets it (POST /api/circuit-breaker/reset).
 */
import CircuitBreaker from 'opossum';
import type { RiskHarmoniserConfig } from '../core/config/schemas.ts';
import { VenueError, type MarketQuote, type Venue, type VenueOrderRequest, type VenueOrderStatus } from './venue/venue.ts';

type Action = (order: VenueOrderRequest, quote: MarketQuote | undefined) => Promise<VenueOrderStatus>;

const LATCH_MS = 2 ** 31 - 1; // opossum never half-opens by itself

export class VenueBreaker {
  private breaker: CircuitBreaker<[VenueOrderRequest, MarketQuote | undefined], VenueOrderStatus>;

  constructor(
    private readonly venue: Venue,
    private readonly config: () => RiskHarmoniserConfig,
    private readonly onTrip: (cause: string) => void,
  ) {
    this.breaker = this.create();
  }

  private create(): CircuitBreaker<[VenueOrderRequest, MarketQuote | undefined], VenueOrderStatus> {
    const c = this.config().circuit_breaker;
    const action: Action = (order, quote) => this.venue.submit(order, quote);
    const breaker = new CircuitBreaker(action, {
      timeout: Math.max(1, c.latency_threshold_ms * 10),
      errorThresholdPercentage: c.error_threshold_percentage,
      rollingCountTimeout: c.rolling_count_timeout_ms,
      volumeThreshold: c.volume_threshold,
      resetTimeout: LATCH_MS,
      name: `venue:${this.venue.name}`,
      // A venue's answer (rejected, not found) is not a venue failure: only transient errors count.
      errorFilter: (err: unknown) => err instanceof VenueError && !err.transient,
    });
    breaker.on('open', () => {
      this.onTrip(`venue_errors: error rate over ${c.error_threshold_percentage}%`);
      this.reset();
    });
    return breaker;
  }

  fire(order: VenueOrderRequest, quote: MarketQuote | undefined): Promise<VenueOrderStatus> {
    return this.breaker.fire(order, quote);
  }

  /** Replace the local breaker with a fresh one (clean statistics, current thresholds). */
  reset(): void {
    const old = this.breaker;
    this.breaker = this.create();
    old.removeAllListeners('open');
    old.shutdown();
  }

  shutdown(): void {
    this.breaker.shutdown();
  }
}
