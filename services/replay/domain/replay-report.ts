/**
 * The smoke replay's report (seed 001: "replay the last 15 minutes of market
 * data in dry-run mode to ensure orders remain within tolerance bands"):
 * what the pipeline would have done with those ticks, from what the replay
 * namespace holds at the end. Pure: plain data in, the report out.
 */

export interface ReplayOrder {
  symbol: string;
  side: string;
  qty: number;
  state: string;
  filledQty: number;
  avgFillPrice: number;
  feesUsd: number;
  model: string;
  reason: string;
  createdAt: number;
}

export interface ReplayPosition {
  symbol: string;
  qty: number;
  avgPrice: number;
  realizedPnl: number;
  feesUsd: number;
  mark: number | undefined;
}

export interface ReplayInputs {
  ticks: { total: number; sent: number; firstTs: number | undefined; lastTs: number | undefined };
  orders: readonly ReplayOrder[];
  positions: readonly ReplayPosition[];
  /** Portfolio VaR (%) sampled during the replay, with the time of each sample. */
  varPath: readonly { at: number; varPct: number }[];
  switches: readonly Record<string, string>[];
  /** What the controls ended at, and the events that moved them (kill switch audit, breaker events). */
  controls: { trading: string; tradingReason: string; killEngaged: boolean; killReason: string; breaker: string; events: readonly Record<string, string>[] };
  deadLetters: number;
  /** A single order above this notional is out of the tolerance band (max_position_pct of the portfolio). */
  maxOrderNotionalUsd: number;
}

export interface ReplayReport {
  ticks: ReplayInputs['ticks'];
  orders: {
    total: number;
    byState: Record<string, number>;
    bySymbol: Record<string, { orders: number; buys: number; sells: number; notionalUsd: number }>;
    largestNotionalUsd: number;
    outsideTolerance: number;
    sample: ReplayOrder[];
  };
  pnl: { realizedUsd: number; unrealizedUsd: number; feesUsd: number; netUsd: number };
  var: { maxPct: number; meanPct: number; lastPct: number; path: { at: number; varPct: number }[] };
  switches: { total: number; entries: Record<string, string>[] };
  triggers: { trading: string; tradingReason: string; killEngaged: boolean; killReason: string; breaker: string; events: Record<string, string>[] };
  deadLetters: number;
  /** Orders within tolerance, nothing killed, breaker closed. */
  withinTolerance: boolean;
}

/** At most `max` points, evenly picked, the last one kept. */
export function downsample<T>(xs: readonly T[], max: number): T[] {
  if (xs.length <= max) return [...xs];
  const step = xs.length / max;
  const out: T[] = [];
  for (let i = 0; i < max - 1; i++) out.push(xs[Math.floor(i * step)]!);
  out.push(xs[xs.length - 1]!);
  return out;
}

export function buildReplayReport(x: ReplayInputs): ReplayReport {
  const byState: Record<string, number> = {};
  const bySymbol: ReplayReport['orders']['bySymbol'] = {};
  let largest = 0;
  let outside = 0;
  for (const o of x.orders) {
    byState[o.state] = (byState[o.state] ?? 0) + 1;
    const price = o.avgFillPrice > 0 ? o.avgFillPrice : (x.positions.find((p) => p.symbol === o.symbol)?.mark ?? 0);
    const notional = o.qty * price;
    largest = Math.max(largest, notional);
    if (notional > x.maxOrderNotionalUsd) outside++;
    const s = (bySymbol[o.symbol] ??= { orders: 0, buys: 0, sells: 0, notionalUsd: 0 });
    s.orders++;
    if (o.side === 'BUY') s.buys++;
    else s.sells++;
    s.notionalUsd += notional;
  }
  let realized = 0;
  let unrealized = 0;
  let fees = 0;
  for (const p of x.positions) {
    realized += p.realizedPnl;
    fees += p.feesUsd;
    if (p.qty !== 0 && p.mark !== undefined) unrealized += p.qty * (p.mark - p.avgPrice);
  }
  const vars = x.varPath.map((v) => v.varPct);
  const c = x.controls;
  return {
    ticks: x.ticks,
    orders: {
      total: x.orders.length,
      byState,
      bySymbol,
      largestNotionalUsd: largest,
      outsideTolerance: outside,
      sample: [...x.orders].sort((a, b) => a.createdAt - b.createdAt).slice(0, 50),
    },
    // Realized PnL is net of fees already (fills book their fee); fees are shown on their own too.
    pnl: { realizedUsd: realized, unrealizedUsd: unrealized, feesUsd: fees, netUsd: realized + unrealized },
    var: {
      maxPct: vars.length ? Math.max(...vars) : 0,
      meanPct: vars.length ? vars.reduce((a, b) => a + b, 0) / vars.length : 0,
      lastPct: vars.at(-1) ?? 0,
      path: downsample(x.varPath, 200),
    },
    switches: { total: x.switches.length, entries: downsample(x.switches, 100) },
    triggers: { trading: c.trading, tradingReason: c.tradingReason, killEngaged: c.killEngaged, killReason: c.killReason, breaker: c.breaker, events: [...c.events] },
    deadLetters: x.deadLetters,
    withinTolerance: outside === 0 && !c.killEngaged && c.breaker === 'CLOSED',
  };
}
