/**
 * A local fake of Binance's spot REST API (the part ccxt's binance adapter
 * uses to trade), on loopback, for the live venue's tests and drills:
 * exchangeInfo, order (place, query, cancel), openOrders, myTrades,
 * account. Market orders fill at the fake's quote; limit orders rest until
 * `cross` moves the market through them. Tests script what the next
 * submissions meet (accept, a partial fill, a reject, HTTP 429 with
 * Retry-After, a 503, a timeout before or after the order is placed), and
 * the fake counts every submission per client order id: at most one order
 * per id is the property the tests prove.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type SubmitBehaviour =
  | 'accept'
  | 'partial'
  | 'reject'
  | '429'
  | '503'
  /** Never answers, and places nothing. */
  | 'timeout-before'
  /** Places the order, then never answers (the lost-response case). */
  | 'timeout-after';

interface FakeOrder {
  symbol: string;
  orderId: number;
  clientOrderId: string;
  side: 'BUY' | 'SELL';
  type: 'MARKET' | 'LIMIT';
  price: number;
  origQty: number;
  executedQty: number;
  cummulativeQuoteQty: number;
  status: 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'REJECTED' | 'EXPIRED';
  time: number;
  updateTime: number;
}

interface FakeTrade {
  symbol: string;
  id: number;
  orderId: number;
  price: number;
  qty: number;
  commission: number;
  time: number;
  isBuyer: boolean;
  isMaker: boolean;
}

const MARKETS: Record<string, { base: string; quote: string }> = {
  BTCUSDT: { base: 'BTC', quote: 'USDT' },
  ETHUSDT: { base: 'ETH', quote: 'USDT' },
};
const COMMISSION = 0.001;

export class FakeBinance {
  private server: Server | undefined;
  readonly orders = new Map<string, FakeOrder>();
  readonly trades: FakeTrade[] = [];
  /** POST /api/v3/order requests per client order id (whatever they met). */
  readonly submissions = new Map<string, number>();
  /** Net quantity the venue filled per symbol (its trade log). */
  netFilled(symbol: string): number {
    return this.trades.filter((t) => t.symbol === symbol).reduce((q, t) => q + (t.isBuyer ? t.qty : -t.qty), 0);
  }
  /** Every request, "METHOD path". */
  readonly requests: string[] = [];
  readonly behaviours: SubmitBehaviour[] = [];
  balances: Record<string, number> = { USDT: 1_000_000, BTC: 0, ETH: 0 };
  quotes: Record<string, { bid: number; ask: number }> = { BTCUSDT: { bid: 64_999.5, ask: 65_000.5 }, ETHUSDT: { bid: 2_999.5, ask: 3_000.5 } };
  retryAfterS = 2;
  /** Delay of every answer to a submission, after the order is placed (a window in which its sender can die). */
  answerDelayMs = 0;
  private seq = 1_000;
  private tradeSeq = 5_000;
  private readonly hanging: ServerResponse[] = [];

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      void this.handle(req, res).catch((err: unknown) => this.send(res, 500, { code: -1000, msg: String(err) }));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const h of this.hanging) h.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** What the next submissions meet, in order (then: accept). */
  script(...b: SubmitBehaviour[]): void {
    this.behaviours.push(...b);
  }

  /** Move the market: resting limit orders it crosses fill (as maker). */
  cross(symbol: string, bid: number, ask: number): void {
    this.quotes[symbol] = { bid, ask };
    for (const o of this.orders.values()) {
      if (o.symbol !== symbol || (o.status !== 'NEW' && o.status !== 'PARTIALLY_FILLED') || o.type !== 'LIMIT') continue;
      if ((o.side === 'BUY' && ask <= o.price) || (o.side === 'SELL' && bid >= o.price)) this.fill(o, o.origQty - o.executedQty, o.price, true);
    }
  }

  /** The venue fills what is left of an open order, at the touch (as a taker would be filled against it). */
  fillRest(clientOrderId: string): void {
    const o = this.orders.get(clientOrderId);
    if (!o || (o.status !== 'NEW' && o.status !== 'PARTIALLY_FILLED')) throw new Error(`${clientOrderId} is not open at the fake`);
    const q = this.quotes[o.symbol]!;
    this.fill(o, o.origQty - o.executedQty, o.side === 'BUY' ? q.ask : q.bid, true);
  }

  private fill(o: FakeOrder, qty: number, price: number, maker: boolean): void {
    const t: FakeTrade = {
      symbol: o.symbol,
      id: ++this.tradeSeq,
      orderId: o.orderId,
      price,
      qty,
      commission: qty * price * COMMISSION,
      time: Date.now(),
      isBuyer: o.side === 'BUY',
      isMaker: maker,
    };
    this.trades.push(t);
    o.executedQty += qty;
    o.cummulativeQuoteQty += qty * price;
    o.status = o.executedQty >= o.origQty - 1e-12 ? 'FILLED' : 'PARTIALLY_FILLED';
    o.updateTime = t.time;
    const m = MARKETS[o.symbol]!;
    const sign = o.side === 'BUY' ? 1 : -1;
    this.balances[m.base] = (this.balances[m.base] ?? 0) + sign * qty;
    this.balances[m.quote] = (this.balances[m.quote] ?? 0) - sign * qty * price - t.commission;
  }

  private send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  private orderJson(o: FakeOrder, withFills = false): Record<string, unknown> {
    const out: Record<string, unknown> = {
      symbol: o.symbol,
      orderId: o.orderId,
      orderListId: -1,
      clientOrderId: o.clientOrderId,
      price: o.price.toFixed(8),
      origQty: o.origQty.toFixed(8),
      executedQty: o.executedQty.toFixed(8),
      cummulativeQuoteQty: o.cummulativeQuoteQty.toFixed(8),
      status: o.status,
      timeInForce: o.type === 'LIMIT' ? 'GTC' : 'GTC',
      type: o.type,
      side: o.side,
      time: o.time,
      updateTime: o.updateTime,
      transactTime: o.updateTime,
      isWorking: true,
      workingTime: o.time,
      selfTradePreventionMode: 'NONE',
    };
    if (withFills)
      out['fills'] = this.trades
        .filter((t) => t.orderId === o.orderId)
        .map((t) => ({ price: t.price.toFixed(8), qty: t.qty.toFixed(8), commission: t.commission.toFixed(8), commissionAsset: 'USDT', tradeId: t.id }));
    return out;
  }

  private async body(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const params = new URLSearchParams(url.search);
    const raw = await this.body(req);
    for (const [k, v] of new URLSearchParams(raw)) params.set(k, v);
    const key = `${req.method} ${url.pathname}`;
    this.requests.push(key);
    const p = (k: string): string => params.get(k) ?? '';
    if (key === 'GET /api/v3/exchangeInfo') return this.send(res, 200, exchangeInfo());
    if (key === 'GET /api/v3/time') return this.send(res, 200, { serverTime: Date.now() });
    if (key === 'GET /api/v3/account') {
      return this.send(res, 200, {
        makerCommission: 10,
        takerCommission: 10,
        canTrade: true,
        accountType: 'SPOT',
        updateTime: Date.now(),
        balances: Object.entries(this.balances).map(([asset, free]) => ({ asset, free: free.toFixed(8), locked: '0.00000000' })),
        permissions: ['SPOT'],
      });
    }
    const find = (): FakeOrder | undefined => {
      const cid = p('origClientOrderId');
      if (cid) return this.orders.get(cid);
      const id = Number(p('orderId'));
      return [...this.orders.values()].find((o) => o.orderId === id);
    };
    if (key === 'GET /api/v3/order') {
      const o = find();
      return o ? this.send(res, 200, this.orderJson(o)) : this.send(res, 400, { code: -2013, msg: 'Order does not exist.' });
    }
    if (key === 'DELETE /api/v3/order') {
      const o = find();
      if (!o || (o.status !== 'NEW' && o.status !== 'PARTIALLY_FILLED')) return this.send(res, 400, { code: -2011, msg: 'Unknown order sent.' });
      o.status = 'CANCELED';
      o.updateTime = Date.now();
      return this.send(res, 200, { ...this.orderJson(o), origClientOrderId: o.clientOrderId });
    }
    if (key === 'GET /api/v3/openOrders') {
      const sym = p('symbol');
      return this.send(
        res,
        200,
        [...this.orders.values()].filter((o) => (!sym || o.symbol === sym) && (o.status === 'NEW' || o.status === 'PARTIALLY_FILLED')).map((o) => this.orderJson(o)),
      );
    }
    if (key === 'GET /api/v3/myTrades') {
      const sym = p('symbol');
      const since = Number(p('startTime') || 0);
      return this.send(
        res,
        200,
        this.trades
          .filter((t) => t.symbol === sym && t.time >= since)
          .map((t) => ({
            symbol: t.symbol,
            id: t.id,
            orderId: t.orderId,
            orderListId: -1,
            price: t.price.toFixed(8),
            qty: t.qty.toFixed(8),
            quoteQty: (t.qty * t.price).toFixed(8),
            commission: t.commission.toFixed(8),
            commissionAsset: 'USDT',
            time: t.time,
            isBuyer: t.isBuyer,
            isMaker: t.isMaker,
            isBestMatch: true,
          })),
      );
    }
    if (key === 'POST /api/v3/order') {
      const cid = p('newClientOrderId');
      this.submissions.set(cid, (this.submissions.get(cid) ?? 0) + 1);
      const behaviour = this.behaviours.shift() ?? 'accept';
      if (behaviour === '429') return this.send(res, 429, { code: -1003, msg: 'Too many requests.' }, { 'retry-after': String(this.retryAfterS) });
      if (behaviour === '503') return this.send(res, 503, { code: -1001, msg: 'Internal error; unable to process your request. Please try again.' });
      if (behaviour === 'timeout-before') {
        this.hanging.push(res);
        return;
      }
      if (this.orders.has(cid)) return this.send(res, 400, { code: -2010, msg: 'Duplicate order sent.' });
      const symbol = p('symbol');
      if (!MARKETS[symbol]) return this.send(res, 400, { code: -1121, msg: 'Invalid symbol.' });
      if (behaviour === 'reject') return this.send(res, 400, { code: -2010, msg: 'Account has insufficient balance for requested action.' });
      const now = Date.now();
      const o: FakeOrder = {
        symbol,
        orderId: ++this.seq,
        clientOrderId: cid,
        side: p('side') === 'SELL' ? 'SELL' : 'BUY',
        type: p('type') === 'LIMIT' ? 'LIMIT' : 'MARKET',
        price: Number(p('price') || 0),
        origQty: Number(p('quantity')),
        executedQty: 0,
        cummulativeQuoteQty: 0,
        status: 'NEW',
        time: now,
        updateTime: now,
      };
      this.orders.set(cid, o);
      const q = this.quotes[symbol]!;
      const touch = o.side === 'BUY' ? q.ask : q.bid;
      const marketable = o.type === 'MARKET' || (o.side === 'BUY' ? q.ask <= o.price : q.bid >= o.price);
      if (behaviour === 'partial') this.fill(o, o.origQty / 2, o.type === 'LIMIT' ? o.price : touch, false);
      else if (marketable) this.fill(o, o.origQty, o.type === 'LIMIT' ? Math.min(o.price, touch) : touch, false);
      if (behaviour === 'timeout-after') {
        this.hanging.push(res);
        return;
      }
      if (this.answerDelayMs > 0) await new Promise((r) => setTimeout(r, this.answerDelayMs));
      return this.send(res, 200, this.orderJson(o, true));
    }
    return this.send(res, 404, { code: -1, msg: `not faked: ${key}` });
  }
}

function exchangeInfo(): Record<string, unknown> {
  return {
    timezone: 'UTC',
    serverTime: Date.now(),
    rateLimits: [],
    exchangeFilters: [],
    symbols: Object.entries(MARKETS).map(([symbol, m]) => ({
      symbol,
      status: 'TRADING',
      baseAsset: m.base,
      baseAssetPrecision: 8,
      quoteAsset: m.quote,
      quotePrecision: 8,
      quoteAssetPrecision: 8,
      baseCommissionPrecision: 8,
      quoteCommissionPrecision: 8,
      orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET', 'STOP_LOSS_LIMIT', 'TAKE_PROFIT_LIMIT'],
      icebergAllowed: true,
      ocoAllowed: true,
      quoteOrderQtyMarketAllowed: true,
      allowTrailingStop: true,
      cancelReplaceAllowed: true,
      isSpotTradingAllowed: true,
      isMarginTradingAllowed: false,
      filters: [
        { filterType: 'PRICE_FILTER', minPrice: '0.01000000', maxPrice: '1000000.00000000', tickSize: '0.01000000' },
        { filterType: 'LOT_SIZE', minQty: '0.00001000', maxQty: '9000.00000000', stepSize: '0.00001000' },
        { filterType: 'MARKET_LOT_SIZE', minQty: '0.00000000', maxQty: '100.00000000', stepSize: '0.00000000' },
        { filterType: 'NOTIONAL', minNotional: '5.00000000', applyMinToMarket: true, maxNotional: '9000000.00000000', applyMaxToMarket: false, avgPriceMins: 5 },
      ],
      permissions: [],
      permissionSets: [['SPOT']],
      defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
      allowedSelfTradePreventionModes: ['EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'],
    })),
  };
}
