/**
 * The paper venue: a simulated exchange whose book lives in Redis (so any
 * executor replica, and an executor after a restart, sees the same one).
 * Market and limit orders, fees, slippage (half spread plus size impact),
 * partial fills, resting limit orders that fill when the market crosses
 * them, cancels; the market model is domain/paper-fills.ts, seeded by the
 * client order id. It honours the client order id: a second submission of
 * one returns the first order.
 *
 * Fills of resting orders happen in its matcher (every executor runs one;
 * each fill is one compare-and-set on the paper order, so two matchers
 * cannot fill it twice) and are reported on `venue_reports:paper`, which
 * the OMS consumes. `PAPER_FAIL_RATE` makes that share of submissions fail
 * (a 503, transient) and `PAPER_LATENCY_MS` adds latency, for drills.
 */
import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/log.ts';
import { TxRecorder } from '../../core/redis/batch-commit.ts';
import type { RedisClient } from '../../core/redis/connect.ts';
import type { RedisKeys } from '../../core/redis/keys.ts';
import { luaScript, runLua } from '../../core/redis/lua-scripts.ts';
import { decideResting, decideSubmit, type PaperFill, type PaperParams } from '../domain/paper-fills.ts';
import { VenueError, type MarketQuote, type Venue, type VenueFill, type VenueOrderRequest, type VenueOrderStatus, type VenueTrade } from './venue.ts';

const CAS = luaScript('order-apply-n.lua');

export interface PaperVenueOptions {
  redis: RedisClient;
  keys: RedisKeys;
  clock: Clock;
  /** The simulation's parameters, read per order (they follow config reloads). */
  params: () => PaperParams & { latencyMs: number };
  /** Symbols the matcher watches (the universe). */
  symbols: () => readonly string[];
  /** Drills: share of submissions that fail, and latency added to each. */
  failRate?: number;
  extraLatencyMs?: number;
  matchEveryMs?: number;
  log?: Logger;
  random?: () => number;
}

const sleep = (ms: number): Promise<void> => (ms > 0 ? new Promise((r) => setTimeout(r, ms).unref()) : Promise.resolve());

export class PaperVenue implements Venue {
  readonly name = 'paper';
  readonly kind = 'paper' as const;
  private timer: NodeJS.Timeout | undefined;
  private matching: Promise<void> = Promise.resolve();
  /** Submissions that reached the venue, per client order id (tests and drills). */
  readonly submissions = new Map<string, number>();

  constructor(private readonly o: PaperVenueOptions) {}

  async submit(req: VenueOrderRequest, quote: MarketQuote | undefined): Promise<VenueOrderStatus> {
    const p = this.o.params();
    await sleep(p.latencyMs + (this.o.extraLatencyMs ?? 0));
    if ((this.o.failRate ?? 0) > 0 && (this.o.random ?? Math.random)() < (this.o.failRate ?? 0)) throw new VenueError('server_error', 'simulated venue outage (PAPER_FAIL_RATE)');
    this.submissions.set(req.clientOrderId, (this.submissions.get(req.clientOrderId) ?? 0) + 1);
    // The quote the sender read just before it sent (else the latest tick). The order is written
    // only if it does not exist yet: a second submission of a client order id returns the first.
    const q = quote ?? (await this.quote(req.symbol));
    const at = this.o.clock.now();
    const base: VenueOrderStatus = {
      clientOrderId: req.clientOrderId,
      venueOrderId: `P${req.clientOrderId}`,
      symbol: req.symbol,
      side: req.side,
      type: req.type,
      qty: req.qty,
      limitPrice: req.limitPrice,
      state: 'open',
      filledQty: 0,
      fills: [],
      reason: '',
      at,
    };
    if (!q || !(q.bid > 0) || !(q.ask > 0)) {
      const rejected = { ...base, state: 'rejected' as const, reason: `no quote for ${req.symbol}` };
      return (await this.write(rejected, null, [])) ?? rejected;
    }
    const d = decideSubmit(req, q, p);
    const fills = d.fills.map((f, i): VenueFill => ({ tradeId: `${base.venueOrderId}-${i}`, qty: f.qty, price: f.price, feeUsd: f.feeUsd, at }));
    const filledQty = fills.reduce((s, f) => s + f.qty, 0);
    const status: VenueOrderStatus = { ...base, fills, filledQty, state: d.resting > 1e-12 ? 'open' : 'filled' };
    return (await this.write(status, null, fills)) ?? (await this.fetchOrder(req.clientOrderId)) ?? status;
  }

  async cancel(clientOrderId: string, symbol: string): Promise<VenueOrderStatus | undefined> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const cur = await this.read(clientOrderId);
      if (!cur) return undefined;
      if (cur.status.state !== 'open') return cur.status;
      const next = { ...cur.status, state: 'cancelled' as const, reason: 'cancelled', at: this.o.clock.now() };
      const written = await this.write(next, cur.version, []);
      if (written) return written;
    }
    throw new VenueError('server_error', `paper cancel of ${clientOrderId} on ${symbol} kept conflicting`);
  }

  async fetchOrder(clientOrderId: string): Promise<VenueOrderStatus | undefined> {
    return (await this.read(clientOrderId))?.status;
  }

  async fetchOpenOrders(symbols: readonly string[]): Promise<VenueOrderStatus[]> {
    const ids = (await Promise.all(symbols.map((s) => this.o.redis.zrange(this.o.keys.paperOpen(s), '0', '-1')))).flat();
    const all = await Promise.all(ids.map((id) => this.fetchOrder(id)));
    return all.filter((s): s is VenueOrderStatus => s !== undefined && s.state === 'open');
  }

  async fetchTrades(symbols: readonly string[], since: number): Promise<VenueTrade[]> {
    const want = new Set(symbols);
    const raw = (await this.o.redis.xrange(this.o.keys.venueReports('paper-trades'), `${Math.max(0, since)}-0`, '+', 'COUNT', 100_000)) as [string, string[]][];
    const out: VenueTrade[] = [];
    for (const [, f] of raw) {
      const h: Record<string, string> = {};
      for (let i = 0; i + 1 < f.length; i += 2) h[f[i]!] = f[i + 1]!;
      if (!want.has(h['symbol'] ?? '')) continue;
      out.push({
        tradeId: h['trade_id'] ?? '',
        qty: Number(h['qty']),
        price: Number(h['price']),
        feeUsd: Number(h['fee_usd']),
        at: Number(h['at']),
        clientOrderId: h['client_order_id'] ?? '',
        venueOrderId: h['venue_order_id'] ?? '',
        symbol: h['symbol'] ?? '',
        side: h['side'] === 'SELL' ? 'SELL' : 'BUY',
      });
    }
    return out;
  }

  async fetchPositions(symbols: readonly string[]): Promise<Record<string, number>> {
    if (symbols.length === 0) return {};
    const values = await this.o.redis.hmget(this.o.keys.paperBalances, ...symbols);
    return Object.fromEntries(symbols.map((s, i) => [s, Number(values[i] ?? 0) || 0]));
  }

  async start(): Promise<void> {
    const every = this.o.matchEveryMs ?? 50;
    let busy = false;
    this.timer = setInterval(() => {
      if (busy) return;
      busy = true;
      this.matching = this.match()
        .then(() => undefined)
        .catch((err: unknown) => this.o.log?.warn({ event: 'paper.match_failed', err: String(err) }, 'paper matcher round failed'))
        .finally(() => {
          busy = false;
        });
    }, every);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.matching;
  }

  /** One matcher round: every resting order against its symbol's latest quote. */
  async match(): Promise<number> {
    let filled = 0;
    for (const symbol of this.o.symbols()) {
      const ids = await this.o.redis.zrange(this.o.keys.paperOpen(symbol), '0', '-1');
      if (ids.length === 0) continue;
      const q = await this.quote(symbol);
      if (!q) continue;
      const p = this.o.params();
      for (const id of ids) {
        const cur = await this.read(id);
        if (!cur || cur.status.state !== 'open') continue;
        const s = cur.status;
        const f = decideResting({ side: s.side, type: s.type, limitPrice: s.limitPrice, remaining: s.qty - s.filledQty }, q, p);
        if (!f) continue;
        if (await this.fill(cur, f)) filled++;
      }
    }
    return filled;
  }

  private async fill(cur: { status: VenueOrderStatus; version: number }, f: PaperFill): Promise<boolean> {
    const at = this.o.clock.now();
    // Unique under the compare-and-set: the order's venue id and how many fills it had.
    const fill: VenueFill = { tradeId: `${cur.status.venueOrderId}-${cur.status.fills.length}`, qty: f.qty, price: f.price, feeUsd: f.feeUsd, at };
    const filledQty = cur.status.filledQty + f.qty;
    const next: VenueOrderStatus = { ...cur.status, fills: [...cur.status.fills, fill], filledQty, state: filledQty >= cur.status.qty * (1 - 1e-9) ? 'filled' : 'open', at };
    const extra = new TxRecorder();
    // The OMS learns of fills of resting orders from this stream.
    extra.xadd(
      this.o.keys.venueReports('paper'),
      'MAXLEN',
      '~',
      100_000,
      '*',
      'client_order_id',
      next.clientOrderId,
      'venue_order_id',
      next.venueOrderId,
      'symbol',
      next.symbol,
      'side',
      next.side,
      'trade_id',
      fill.tradeId,
      'qty',
      String(fill.qty),
      'price',
      String(fill.price),
      'fee_usd',
      String(fill.feeUsd),
      'at',
      String(at),
      'state',
      next.state,
    );
    return (await this.write(next, cur.version, [fill], extra.commands)) !== undefined;
  }

  private async quote(symbol: string): Promise<MarketQuote | undefined> {
    const [bid, ask, ts] = (await this.o.redis.hmget(this.o.keys.lastTick(symbol), 'bid', 'ask', 'ts')).map(Number);
    return bid! > 0 && ask! > 0 ? { bid: bid!, ask: ask!, ts: ts! } : undefined;
  }

  private async read(clientOrderId: string): Promise<{ status: VenueOrderStatus; version: number } | undefined> {
    const h = await this.o.redis.hgetall(this.o.keys.paperOrder(clientOrderId));
    if (!h['client_order_id']) return undefined;
    const status: VenueOrderStatus = {
      clientOrderId: h['client_order_id'],
      venueOrderId: h['venue_order_id'] ?? '',
      symbol: h['symbol'] ?? '',
      side: h['side'] === 'SELL' ? 'SELL' : 'BUY',
      type: h['type'] === 'limit' ? 'limit' : 'market',
      qty: Number(h['qty']),
      limitPrice: h['limit_price'] ? Number(h['limit_price']) : null,
      state: (h['state'] as VenueOrderStatus['state'] | undefined) ?? 'open',
      filledQty: Number(h['filled_qty'] ?? 0),
      fills: JSON.parse(h['fills'] ?? '[]') as VenueFill[],
      reason: h['reason'] ?? '',
      at: Number(h['at'] ?? 0),
    };
    return { status, version: Number(h['version'] ?? 0) };
  }

  /** Write a paper order if it is still at `version` (null: must not exist), with its fills' effects. Undefined when it changed meanwhile. */
  private async write(s: VenueOrderStatus, version: number | null, newFills: readonly VenueFill[], extra: readonly string[][] = []): Promise<VenueOrderStatus | undefined> {
    const { keys } = this.o;
    const tx = new TxRecorder();
    tx.hset(
      keys.paperOrder(s.clientOrderId),
      'client_order_id',
      s.clientOrderId,
      'venue_order_id',
      s.venueOrderId,
      'symbol',
      s.symbol,
      'side',
      s.side,
      'type',
      s.type,
      'qty',
      s.qty,
      'limit_price',
      s.limitPrice ?? '',
      'state',
      s.state,
      'filled_qty',
      s.filledQty,
      'fills',
      JSON.stringify(s.fills),
      'reason',
      s.reason,
      'at',
      s.at,
      'version',
      (version ?? 0) + 1,
    );
    tx.expire(keys.paperOrder(s.clientOrderId), 30 * 86_400);
    if (s.state === 'open') tx.zadd(keys.paperOpen(s.symbol), s.at, s.clientOrderId);
    else tx.zrem(keys.paperOpen(s.symbol), s.clientOrderId);
    for (const f of newFills) {
      tx.call('HINCRBYFLOAT', keys.paperBalances, s.symbol, s.side === 'BUY' ? f.qty : -f.qty);
      tx.xadd(
        keys.venueReports('paper-trades'),
        'MAXLEN',
        '~',
        200_000,
        '*',
        'client_order_id',
        s.clientOrderId,
        'venue_order_id',
        s.venueOrderId,
        'symbol',
        s.symbol,
        'side',
        s.side,
        'trade_id',
        f.tradeId,
        'qty',
        f.qty,
        'price',
        f.price,
        'fee_usd',
        f.feeUsd,
        'at',
        f.at,
      );
    }
    const commands = [...tx.commands, ...extra];
    const args: string[] = ['', version === null ? '' : String(version), '', String(commands.length)];
    for (const c of commands) args.push(String(c.length), ...c);
    const res = (await runLua(this.o.redis, CAS, [keys.paperOrder(s.clientOrderId), `${keys.paperOrder(s.clientOrderId)}:unused`], args)) as unknown[];
    return res[0] === 1 ? { ...s } : undefined;
  }
}
