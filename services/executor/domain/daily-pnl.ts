/**
 * Daily risk statistics (UTC trading day). Net PnL of the day =
 * realised today + unrealised now − unrealised at the day's start; equity =
 * portfolio value + net PnL; drawdown = (peak equity − equity) / peak equity.
 */
import type { PositionState } from './decide-order.ts';

export function tradingDay(ts: number): string {
  return new Date(ts).toISOString().slice(0, 10);
}

export function unrealizedPnl(positions: readonly { position: PositionState; mid: number | undefined }[]): number {
  let total = 0;
  for (const { position, mid } of positions) {
    if (position.qty === 0 || mid === undefined || !(mid > 0)) continue;
    total += position.qty * (mid - position.avgPrice);
  }
  return total;
}

export interface DailyMark {
  netPnlUsd: number;
  equityUsd: number;
  peakEquityUsd: number;
  drawdownPct: number;
}

export function markDay(portfolioUsd: number, realizedToday: number, unrealizedNow: number, unrealizedAtStart: number, previousPeak: number | undefined): DailyMark {
  const netPnlUsd = realizedToday + unrealizedNow - unrealizedAtStart;
  const equityUsd = portfolioUsd + netPnlUsd;
  const peakEquityUsd = Math.max(previousPeak ?? portfolioUsd, equityUsd);
  const drawdownPct = peakEquityUsd > 0 ? ((peakEquityUsd - equityUsd) / peakEquityUsd) * 100 : 0;
  return { netPnlUsd, equityUsd, peakEquityUsd, drawdownPct };
}
