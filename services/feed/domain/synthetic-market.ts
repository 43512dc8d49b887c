/**
 * A seeded, deterministic synthetic market: per symbol, a log-price random
 * walk whose volatility switches between calm and stressed regimes (Markov),
 * with rare Poisson jumps, a bid/ask spread that widens with volatility, and
 * book sizes whose imbalance leans with the short-term drift (so the
 * order-book-imbalance model has something real to find).
 */
import type { Tick } from '../../core/domain/market-data.ts';

export interface InstrumentSpec {
  readonly symbol: string;
  readonly assetClass: string;
  readonly exchange: string;
  readonly price: number;
  /** Daily volatility in the calm regime, as a fraction (0.03 = 3 %). */
  readonly dailyVol: number;
  readonly tickSize: number;
  readonly lotSize: number;
  readonly spreadBps: number;
  /** "24x7" or "HH:MM-HH:MM America/New_York"-style UTC window "13:30-20:00". */
  readonly marketHours: string;
}

/** The shipped universe's synthetic parameters (conf/instruments.yml carries the same); tests and benchmarks use them. */
export const DEFAULT_INSTRUMENTS: readonly InstrumentSpec[] = [
  { symbol: 'BTC-USD', assetClass: 'crypto', exchange: 'PAPER', price: 65_000, dailyVol: 0.03, tickSize: 0.01, lotSize: 0.0001, spreadBps: 1, marketHours: '24x7' },
  { symbol: 'ETH-USD', assetClass: 'crypto', exchange: 'PAPER', price: 3_500, dailyVol: 0.04, tickSize: 0.01, lotSize: 0.001, spreadBps: 1.5, marketHours: '24x7' },
  { symbol: 'AAPL', assetClass: 'us_stock', exchange: 'PAPER', price: 190, dailyVol: 0.015, tickSize: 0.01, lotSize: 1, spreadBps: 2, marketHours: '13:30-20:00' },
];

/** A tick as the feed makes it: the market-data message itself. */
export type MarketTick = Tick;

/** mulberry32: small, fast, seeded. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface SymbolState {
  spec: InstrumentSpec;
  logPrice: number;
  stressed: boolean;
  drift: number;
  volume: number;
}

export interface MarketOptions {
  seed: number;
  instruments?: readonly InstrumentSpec[];
  /** Probability per tick of switching calm → stressed (and ×5 stressed → calm). */
  regimeSwitchProb?: number;
  /** Probability per tick of a jump. */
  jumpProb?: number;
  /** Seconds of market time one tick represents, for scaling daily volatility. */
  secondsPerTick?: number;
  /** Where each symbol's walk starts (e.g. the last price in Redis), instead of its spec's price. */
  startPrices?: Readonly<Record<string, number>>;
}

export class SyntheticMarket {
  private readonly rand: () => number;
  private readonly states: SymbolState[] = [];
  private readonly regimeSwitchProb: number;
  private readonly jumpProb: number;
  private readonly secondsPerTick: number;
  private cursor = 0;
  private spare: number | undefined;

  constructor(options: MarketOptions) {
    this.rand = seededRandom(options.seed);
    this.regimeSwitchProb = options.regimeSwitchProb ?? 0.001;
    this.jumpProb = options.jumpProb ?? 0.0005;
    this.secondsPerTick = options.secondsPerTick ?? 1;
    this.setInstruments(options.instruments ?? DEFAULT_INSTRUMENTS, options.startPrices);
  }

  get instruments(): readonly InstrumentSpec[] {
    return this.states.map((s) => s.spec);
  }

  /**
   * Follow a new universe: symbols that stay keep their walk, new ones start
   * at `startPrices` (the last price in Redis) or their spec's price, gone
   * ones stop.
   */
  setInstruments(specs: readonly InstrumentSpec[], startPrices: Readonly<Record<string, number>> = {}): void {
    const kept = new Map(this.states.map((s) => [s.spec.symbol, s]));
    const next = specs.map((spec) => {
      const old = kept.get(spec.symbol);
      if (old) return { ...old, spec };
      const start = startPrices[spec.symbol];
      return { spec, logPrice: Math.log(start !== undefined && start > 0 ? start : spec.price), stressed: false, drift: 0, volume: 0 };
    });
    this.states.splice(0, this.states.length, ...next);
    this.cursor = 0;
  }

  private gaussian(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.rand();
    const v = this.rand();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Next tick, round-robin across symbols, stamped with `ts` (the market must have an instrument). */
  next(ts: number): MarketTick {
    if (this.states.length === 0) throw new Error('the synthetic market has no instrument');
    const s = this.states[this.cursor % this.states.length]!;
    this.cursor = (this.cursor + 1) % this.states.length;
    const switchProb = s.stressed ? this.regimeSwitchProb * 5 : this.regimeSwitchProb;
    if (this.rand() < switchProb) s.stressed = !s.stressed;
    const vol = s.spec.dailyVol * (s.stressed ? 3 : 1) * Math.sqrt(this.secondsPerTick / 86_400);
    // Slowly mean-reverting drift: gives momentum and book imbalance a real signal.
    s.drift = 0.98 * s.drift + 0.02 * this.gaussian() * vol;
    let ret = s.drift + vol * this.gaussian();
    if (this.rand() < this.jumpProb) ret += (this.rand() < 0.5 ? -1 : 1) * vol * (5 + 10 * this.rand());
    s.logPrice += ret;
    const mid = Math.exp(s.logPrice);
    const halfSpread = (mid * s.spec.spreadBps * (s.stressed ? 3 : 1)) / 20_000;
    const round = (p: number): number => Math.max(s.spec.tickSize, Math.round(p / s.spec.tickSize) * s.spec.tickSize);
    const bid = round(mid - halfSpread);
    const ask = Math.max(round(mid + halfSpread), bid + s.spec.tickSize);
    const lean = Math.tanh(s.drift / (vol || 1));
    const base = 1 + 9 * this.rand();
    const bidSize = +(base * (1 + 0.5 * lean)).toFixed(4);
    const askSize = +(base * (1 - 0.5 * lean)).toFixed(4);
    const tradeQty = +(0.1 + this.rand()).toFixed(4);
    s.volume += tradeQty;
    const last = round(this.rand() < 0.5 + lean / 2 ? ask : bid);
    return { symbol: s.spec.symbol, ts, bid: +bid.toFixed(8), ask: +ask.toFixed(8), bid_size: bidSize, ask_size: askSize, last: +last.toFixed(8), volume: +s.volume.toFixed(4) };
  }
}
