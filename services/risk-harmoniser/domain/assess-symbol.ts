/**
 * One risk assessment for a symbol: volatility update, blend, Kelly in
 * effect, sizing, position VaR. Pure: data in, data out.
 */
import type { RiskHarmoniserConfig } from '../../core/config/schemas.ts';
import { blendEdges, blendParamsFrom, type BlendResult } from '../../core/domain/blend-edges.ts';
import { positionVarPct, sizePosition, type SizingInput, type SizingResult } from '../../core/domain/size-position.ts';
import { dailyVolOf, initialVol, isVolStale, updateVol, type VolState } from '../../core/domain/volatility.ts';
import { costReason, edgePays, roundTripCostBps } from '../../core/domain/trade-cost.ts';
import type { Signal } from '../../core/messages.ts';

export interface RiskSymbolState {
  vol: VolState;
  lastSignalId: string;
  /** The last target sent (USD), what a hold keeps. */
  lastTargetUsd?: number;
}

export function initialRiskState(cfg: RiskHarmoniserConfig): RiskSymbolState {
  return { vol: initialVol(cfg.volatility.initial_daily_vol_pct, cfg.volatility.seconds_per_day), lastSignalId: '' };
}

export interface KellyInEffect {
  fraction: number;
  source: 'config' | 'operator_override' | 'var_guard';
  reason: string;
}

/**
 * The Kelly fraction in effect: the configured one, lowered by an operator
 * override (emergency-reduce) and by the VaR guard when portfolio VaR is
 * above var_warning_ratio × var_limit_pct. The lowest wins.
 */
export function kellyInEffect(cfg: RiskHarmoniserConfig, override: { kellyFraction: number; reason: string } | null, portfolioVarPct: number): KellyInEffect {
  let best: KellyInEffect = { fraction: cfg.position_sizing.kelly_fraction, source: 'config', reason: 'configured' };
  if (override && override.kellyFraction < best.fraction) best = { fraction: override.kellyFraction, source: 'operator_override', reason: override.reason };
  const guardAt = cfg.risk_limits.var_limit_pct * cfg.risk_limits.var_warning_ratio;
  if (portfolioVarPct > guardAt && cfg.position_sizing.emergency_kelly_fraction < best.fraction) {
    best = { fraction: cfg.position_sizing.emergency_kelly_fraction, source: 'var_guard', reason: `portfolio VaR ${portfolioVarPct.toFixed(3)}% > ${guardAt.toFixed(2)}%` };
  }
  return best;
}

/**
 * The caps a position is sized under. A Kelly fraction below the configured
 * one (an operator's emergency-reduce, the VaR guard) scales every cap by
 * in-effect / configured as well as the bet: over the short horizons the
 * router picks, the Kelly bet is far above the caps (an edge of 1 bp over
 * 30 s with 3 % daily volatility asks for 80 × the portfolio), so lowering
 * the fraction alone would leave every position where it is. Scaled caps
 * make "reduce Kelly to 0.1" shrink the book to 0.1 / 0.25 of its size.
 */
export function bookLimits(
  cfg: RiskHarmoniserConfig,
  assetClass: string,
  kelly: KellyInEffect,
  varRoomPct: { long: number; short: number } | undefined,
): { caps: Pick<SizingInput, 'maxLeverage' | 'maxPositionPct' | 'varTargetPct' | 'varRoomPct'>; scale: number } {
  const limits = cfg.position_sizing.asset_classes[assetClass] ?? cfg.position_sizing.asset_classes['default']!;
  const configured = cfg.position_sizing.kelly_fraction;
  const scale = configured > 0 ? Math.min(1, Math.max(0, kelly.fraction / configured)) : 1;
  return {
    caps: {
      maxLeverage: limits.max_leverage * scale,
      maxPositionPct: limits.max_position_pct * scale,
      varTargetPct: cfg.risk_limits.var_targets.daily_95pct * scale,
      varRoomPct: varRoomPct && { long: varRoomPct.long * scale, short: varRoomPct.short * scale },
    },
    scale,
  };
}

export interface Assessment {
  blend: BlendResult;
  sizing: SizingResult;
  /** target: move to sizing.targetUsd; hold: the edge does not pay for the round trip, keep the last target (sizing.targetUsd is it). */
  action: 'target' | 'hold';
  /** The round trip the edge was measured against: 2 × (taker fee + slippage) + the spread, bps. */
  costBps: number;
  dailyVol: number;
  volStale: boolean;
  varPct: number;
  horizonMs: number;
  reasons: string[];
}

export function assessSymbol(
  state: RiskSymbolState,
  signals: readonly Signal[],
  cfg: RiskHarmoniserConfig,
  kelly: KellyInEffect,
  now: number,
  book: {
    /** Models under a scoped kill or stop: their predictions carry no weight. */
    excludedModels?: ReadonlySet<string>;
    /** Room the portfolio VaR limit leaves this symbol, long and short (portfolioVarRoomPct). */
    varRoomPct?: { long: number; short: number };
  } = {},
): Assessment {
  const excludedModels = book.excludedModels ?? new Set<string>();
  for (const s of signals) updateVol(state.vol, s.price, s.tick_ts, cfg.volatility.ewma_lambda);
  const latest = signals[signals.length - 1]!;
  const dailyVol = dailyVolOf(state.vol, cfg.volatility.seconds_per_day);
  const volStale = isVolStale(state.vol, now, cfg.volatility.stale_after_ms);
  const blend = blendEdges(
    latest.predictions.filter((p) => !excludedModels.has(p.model)).map((p) => ({ model: p.model, edgeBps: p.edge_bps, confidence: p.confidence })),
    blendParamsFrom(cfg.edge_blending),
    { activeModel: latest.active_model, activeSince: latest.active_since, now },
  );
  const limits = bookLimits(cfg, latest.asset_class, kelly, book.varRoomPct);
  const horizonMs = latest.predictions.find((p) => p.model === latest.active_model)?.horizon_ms ?? latest.predictions[0]?.horizon_ms ?? 0;
  const reasons: string[] = [];
  let sizing: SizingResult;
  if (!blend.ok) {
    sizing = { targetUsd: 0, targetQty: 0, uncappedUsd: 0, kellyFraction: kelly.fraction, caps: [], reason: blend.reason };
  } else if (volStale) {
    sizing = { targetUsd: 0, targetQty: 0, uncappedUsd: 0, kellyFraction: kelly.fraction, caps: [], reason: 'volatility estimate stale' };
  } else {
    sizing = sizePosition({
      edgeBps: blend.edgeBps,
      dailyVol,
      horizonMs,
      price: latest.price,
      portfolioUsd: cfg.position_sizing.portfolio_value_usd,
      kellyFraction: kelly.fraction,
      ...limits.caps,
    });
  }
  reasons.push(sizing.reason);
  if (kelly.source !== 'config') reasons.push(`kelly ${kelly.fraction} (${kelly.source}: ${kelly.reason}), caps × ${+limits.scale.toFixed(4)}`);
  // Cost-aware: an edge smaller than the round trip it would take to trade on it moves nothing.
  const ex = cfg.execution;
  const spreadBps = latest.spread_bps ?? 0;
  const costBps = roundTripCostBps(ex, spreadBps);
  let action: Assessment['action'] = 'target';
  const held = state.lastTargetUsd ?? 0;
  if (blend.ok && !volStale && !edgePays(ex, blend.edgeBps, spreadBps) && sizing.targetUsd !== held) {
    action = 'hold';
    // Kept, but never past what the caps allow now in its direction (a hold cannot carry risk the limits refuse).
    const cap =
      held === 0
        ? 0
        : Math.abs(
            sizePosition({
              edgeBps: Math.sign(held) * 10_000,
              dailyVol,
              horizonMs,
              price: latest.price,
              portfolioUsd: cfg.position_sizing.portfolio_value_usd,
              kellyFraction: 1,
              ...limits.caps,
            }).targetUsd,
          );
    const keep = Math.sign(held) * Math.min(Math.abs(held), cap);
    if (keep !== held) action = 'target'; // the caps shrink the held position: that move is made
    reasons.push(`${costReason(ex, blend.edgeBps, spreadBps)}: ${action === 'hold' ? 'hold' : 'only shrink to the caps'}`);
    sizing = { ...sizing, targetUsd: keep, targetQty: keep / latest.price, reason: action === 'hold' ? 'hold: edge below cost' : 'held position shrunk to the caps' };
  }
  state.lastTargetUsd = sizing.targetUsd;
  const varPct = positionVarPct(sizing.targetUsd, dailyVol, cfg.position_sizing.portfolio_value_usd);
  return { blend, sizing, action, costBps, dailyVol, volStale, varPct, horizonMs, reasons };
}
