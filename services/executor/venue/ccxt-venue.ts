/**
 * A live venue through ccxt (Binance spot): market and limit orders under
 * the OMS's client order id (`newClientOrderId`, so a resend is refused as a
 * duplicate and the order is found by it after a crash), cancel, open
 * orders, fills (myTrades), balances. LIVE mode: the orders are real.
 *
 * Symbols map through the universe's `venue_symbol` (conf/instruments.yml);
 * an instrument without one is not traded here (its orders are rejected).
 * ccxt's errors become VenueErrors: timeouts, network errors, HTTP 429
 * (with the Retry-After the venue sent) and 5xx are transient (the send
 * queue retries them with backoff); a rejection, an unknown order or bad
 * credentials are answers.
 */
import ccxt, { type Exchange, type Order as CcxtOrder, type Trade as CcxtTrade } from 'ccxt';
import type { Side } from '../../core/messages.ts';
import { VenueError, type MarketQuote, type Venue, type VenueFill, type VenueOrderRequest, type VenueOrderState, type VenueOrderStatus, type VenueTrade } from './venue.ts';

export interface CcxtVenueOptions {
  exchange: 'binance';
  apiKey: string;
  secret: string;
  /** REST base URL instead of the exchange's own (its testnet, a local fake). */
  url?: string | undefined;
  timeoutMs: number;
  /** Our symbol → the venue's (ccxt's unified "BASE/QUOTE"). */
  symbols: () => Readonly<Record<string, string>>;
}

/** ccxt's order status → the venue state the OMS reads. */
function stateOf(o: CcxtOrder): VenueOrderState {
  switch (o.status) {
    case 'closed':
      return 'filled';
    case 'canceled':
      return 'cancelled';
    case 'rejected':
      return 'rejected';
    case 'expired':
      return 'expired';
    default:
      return 'open';
  }
}

/** A fee in USD: quote-currency fees as they are, base-currency fees at the fill price, others (e.g. BNB) not converted. */
function feeUsd(fee: { cost?: number | undefined; currency?: string | undefined } | undefined, venueSymbol: string, price: number): number {
  if (!fee?.cost) return 0;
  const [base, quote] = venueSymbol.split('/');
  if (fee.currency === quote) return fee.cost;
  if (fee.currency === base) return fee.cost * price;
  return 0;
}

export class CcxtVenue implements Venue {
  readonly kind = 'live' as const;
  readonly name: string;
  private readonly ex: Exchange;
  private marketsLoaded: Promise<unknown> | undefined;
  /** Venue order id → client order id (myTrades reports only the former). */
  private readonly clientIds = new Map<string, string>();

  constructor(private readonly o: CcxtVenueOptions) {
    this.name = o.exchange;
    this.ex = new ccxt.binance({
      apiKey: o.apiKey,
      secret: o.secret,
      enableRateLimit: true,
      timeout: o.timeoutMs,
      // Spot only: no margin, futures or currency endpoints at start.
      options: { defaultType: 'spot', fetchMarkets: { types: ['spot'] }, fetchMargins: false, fetchCurrencies: false },
    });
    if (o.url) {
      const base = o.url.replace(/\/+$/, '');
      this.ex.urls['api'] = {
        ...(this.ex.urls['api'] as Record<string, string>),
        public: `${base}/api/v3`,
        private: `${base}/api/v3`,
        v1: `${base}/api/v1`,
        sapi: `${base}/sapi/v1`,
      };
    }
  }

  private venueSymbol(symbol: string): string {
    const v = this.o.symbols()[symbol];
    if (!v) throw new VenueError('rejected', `${symbol} has no venue_symbol for ${this.name} in conf/instruments.yml: not traded here`);
    return v;
  }

  private ourSymbol(venueSymbol: string): string {
    for (const [ours, theirs] of Object.entries(this.o.symbols())) if (theirs === venueSymbol) return ours;
    return venueSymbol;
  }

  /** Run a ccxt call with the markets loaded; its errors as VenueErrors. */
  private async call<T>(f: () => Promise<T>): Promise<T> {
    try {
      this.marketsLoaded ??= this.ex.loadMarkets().catch((err: unknown) => {
        this.marketsLoaded = undefined;
        throw err;
      });
      await this.marketsLoaded;
      return await f();
    } catch (err) {
      throw this.asVenueError(err);
    }
  }

  private asVenueError(err: unknown): VenueError {
    if (err instanceof VenueError) return err;
    const msg = err instanceof Error ? err.message.slice(0, 300) : String(err);
    if (err instanceof ccxt.RequestTimeout) return new VenueError('timeout', msg);
    if (err instanceof ccxt.DDoSProtection || err instanceof ccxt.RateLimitExceeded) {
      const headers = (this.ex.last_response_headers ?? {}) as Record<string, string | undefined>;
      const after = Number(headers['Retry-After'] ?? headers['retry-after']);
      return new VenueError('rate_limited', msg, Number.isFinite(after) && after > 0 ? after * 1_000 : undefined);
    }
    if (err instanceof ccxt.OrderNotFound) return new VenueError('not_found', msg);
    if (err instanceof ccxt.AuthenticationError) return new VenueError('auth', msg);
    if (err instanceof ccxt.NetworkError) return new VenueError('network', msg);
    // 5xx and other failures of the operation itself (not an answer about the order).
    if (err instanceof ccxt.OperationFailed) return new VenueError('server_error', msg);
    if (err instanceof ccxt.ExchangeError) return new VenueError('rejected', msg);
    return new VenueError('unknown', msg);
  }

  private status(o: CcxtOrder, fallback: { clientOrderId: string; symbol: string; side: Side }): VenueOrderStatus {
    const venueSymbol = o.symbol ?? this.venueSymbol(fallback.symbol);
    const clientOrderId = o.clientOrderId ?? fallback.clientOrderId;
    if (o.id) this.clientIds.set(o.id, clientOrderId);
    const fills: VenueFill[] = (o.trades ?? [])
      .filter((t) => t.id && (t.amount ?? 0) > 0)
      .map((t) => ({
        tradeId: String(t.id),
        qty: t.amount ?? 0,
        price: t.price ?? 0,
        feeUsd: feeUsd(t.fee, venueSymbol, t.price ?? 0),
        at: t.timestamp ?? o.timestamp ?? Date.now(),
      }));
    return {
      clientOrderId,
      venueOrderId: o.id ?? '',
      symbol: this.ourSymbol(venueSymbol),
      side: o.side === 'sell' ? 'SELL' : o.side === 'buy' ? 'BUY' : fallback.side,
      type: o.type === 'limit' ? 'limit' : 'market',
      qty: o.amount ?? 0,
      limitPrice: o.type === 'limit' ? (o.price ?? null) : null,
      state: stateOf(o),
      filledQty: o.filled ?? 0,
      fills,
      reason: o.status === 'canceled' ? 'cancelled at the venue' : '',
      at: o.lastUpdateTimestamp ?? o.timestamp ?? Date.now(),
    };
  }

  async submit(req: VenueOrderRequest, _quote: MarketQuote | undefined): Promise<VenueOrderStatus> {
    const venueSymbol = this.venueSymbol(req.symbol);
    const fallback = { clientOrderId: req.clientOrderId, symbol: req.symbol, side: req.side };
    try {
      const o = await this.call(() =>
        this.ex.createOrder(venueSymbol, req.type, req.side === 'BUY' ? 'buy' : 'sell', req.qty, req.limitPrice ?? undefined, {
          newClientOrderId: req.clientOrderId,
          newOrderRespType: 'FULL',
        }),
      );
      return this.status(o, fallback);
    } catch (err) {
      // Sent before (a response that was lost): the venue refuses the duplicate; the order it has is the answer.
      if (err instanceof VenueError && err.code === 'rejected' && /duplicate/i.test(err.message)) {
        const known = await this.fetchOrder(req.clientOrderId, req.symbol);
        if (known) return known;
      }
      throw err;
    }
  }

  async cancel(clientOrderId: string, symbol: string): Promise<VenueOrderStatus | undefined> {
    const fallback = { clientOrderId, symbol, side: 'BUY' as const };
    try {
      await this.call(() => this.ex.cancelOrder('', this.venueSymbol(symbol), { origClientOrderId: clientOrderId }));
    } catch (err) {
      // Unknown or no longer open: its state is what the venue says now.
      if (!(err instanceof VenueError && (err.code === 'not_found' || err.code === 'rejected'))) throw err;
    }
    const after = await this.fetchOrder(clientOrderId, symbol);
    return after ? { ...after, side: after.side ?? fallback.side } : undefined;
  }

  async fetchOrder(clientOrderId: string, symbol: string): Promise<VenueOrderStatus | undefined> {
    const venueSymbol = this.venueSymbol(symbol);
    try {
      const o = await this.call(() => this.ex.fetchOrder('', venueSymbol, { origClientOrderId: clientOrderId }));
      const s = this.status(o, { clientOrderId, symbol, side: 'BUY' });
      // A single order's query carries no fills: take them from the trade history.
      if (s.filledQty > 0 && s.fills.length === 0) {
        const trades = await this.call(() => this.ex.fetchMyTrades(venueSymbol, o.timestamp ? o.timestamp - 1 : undefined));
        s.fills = trades.filter((t) => t.order === s.venueOrderId).map((t) => this.fill(t, venueSymbol));
      }
      return s;
    } catch (err) {
      if (err instanceof VenueError && err.code === 'not_found') return undefined;
      throw err;
    }
  }

  async fetchOpenOrders(symbols: readonly string[]): Promise<VenueOrderStatus[]> {
    const out: VenueOrderStatus[] = [];
    for (const symbol of symbols) {
      const venueSymbol = this.o.symbols()[symbol];
      if (!venueSymbol) continue;
      const open = await this.call(() => this.ex.fetchOpenOrders(venueSymbol));
      for (const o of open) out.push(this.status(o, { clientOrderId: o.clientOrderId ?? '', symbol, side: 'BUY' }));
    }
    return out;
  }

  private fill(t: CcxtTrade, venueSymbol: string): VenueFill {
    return { tradeId: String(t.id), qty: t.amount ?? 0, price: t.price ?? 0, feeUsd: feeUsd(t.fee, venueSymbol, t.price ?? 0), at: t.timestamp ?? Date.now() };
  }

  async fetchTrades(symbols: readonly string[], since: number): Promise<VenueTrade[]> {
    const out: VenueTrade[] = [];
    for (const symbol of symbols) {
      const venueSymbol = this.o.symbols()[symbol];
      if (!venueSymbol) continue;
      const trades = await this.call(() => this.ex.fetchMyTrades(venueSymbol, since));
      for (const t of trades) {
        const venueOrderId = String(t.order ?? '');
        let clientOrderId = this.clientIds.get(venueOrderId);
        if (!clientOrderId && venueOrderId) {
          // Placed before this process started: the order query names its client order id.
          const o = await this.call(() => this.ex.fetchOrder(venueOrderId, venueSymbol));
          clientOrderId = o.clientOrderId ?? '';
          this.clientIds.set(venueOrderId, clientOrderId);
        }
        if (!clientOrderId) continue;
        out.push({ ...this.fill(t, venueSymbol), clientOrderId, venueOrderId, symbol, side: t.side === 'sell' ? 'SELL' : 'BUY' });
      }
    }
    return out.sort((a, b) => a.at - b.at);
  }

  async fetchPositions(symbols: readonly string[]): Promise<Record<string, number>> {
    const balance = await this.call(() => this.ex.fetchBalance());
    const total = balance.total as unknown as Record<string, number | undefined>;
    const out: Record<string, number> = {};
    for (const symbol of symbols) {
      const venueSymbol = this.o.symbols()[symbol];
      if (!venueSymbol) continue;
      out[symbol] = total[venueSymbol.split('/')[0]!] ?? 0;
    }
    return out;
  }
}
