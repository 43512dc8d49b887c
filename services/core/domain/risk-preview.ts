/**
 * What-if preview for quants: the same blending and sizing the risk
 * harmoniser runs, from inputs given by hand, with no side effects. The
 * position is sized as if alone in the book (the portfolio VaR limit then
 * caps it only when it is tighter than the per-position VaR target).
 */
import type { RiskHarmoniserConfig } from '../config/schemas.ts';
import { blendEdges, blendParamsFrom, breakdownOf, type BreakdownRow } from './blend-edges.ts';
import { positionVarPct, sizePosition, type CapName } from './size-position.ts';
import { costReason, edgePays, roundTripCostBps } from './trade-cost.ts';

export interface PreviewInput {
  edges: { model: string; edge_bps: number; confidence?: number | null | undefined }[];
  price: number;
  asset_class: string;
  portfolio_value_usd?: number | undefined;
  daily_vol_pct: number;
  horizon_ms: number;
  kelly_fraction?: number | undefined;
  /** The bid-ask spread, bps (the round trip's cost); default 0. */
  spread_bps?: number | undefined;
}

export interface PreviewResult {
  blended_edge_bps: number;
  raw_edge_bps: number;
  breakdown: BreakdownRow[];
  blend_ok: boolean;
  kelly_fraction: number;
  target_position_usd: number;
  target_qty: number;
  uncapped_position_usd: number;
  caps: { cap: CapName; limitUsd: number }[];
  var_pct: number;
  reason: string;
  /** target: the position would move to target_position_usd; hold: the edge does not pay the round trip (from flat: no position). */
  action: 'target' | 'hold';
  cost_bps: number;
  limits: { asset_class: string; max_leverage: number; max_position_pct: number; var_target_pct: number; var_budget_pct: number; var_limit_pct: number };
}

export function previewRisk(x: PreviewInput, cfg: RiskHarmoniserConfig): PreviewResult {
  const blend = blendEdges(
    x.edges.map((e) => ({ model: e.model, edgeBps: e.edge_bps, confidence: e.confidence ?? null })),
    blendParamsFrom(cfg.edge_blending),
    { activeModel: '', activeSince: 0, now: 0 },
  );
  const classLimits = cfg.position_sizing.asset_classes[x.asset_class];
  const limits = classLimits ?? cfg.position_sizing.asset_classes['default']!;
  const portfolio = x.portfolio_value_usd ?? cfg.position_sizing.portfolio_value_usd;
  const kelly = x.kelly_fraction ?? cfg.position_sizing.kelly_fraction;
  const dailyVol = x.daily_vol_pct / 100;
  // The position alone in the book: the portfolio VaR budget is its whole room.
  const emptyBook = { long: cfg.risk_limits.var_budget_pct, short: cfg.risk_limits.var_budget_pct };
  const sizing = blend.ok
    ? sizePosition({
        edgeBps: blend.edgeBps,
        dailyVol,
        horizonMs: x.horizon_ms,
        price: x.price,
        portfolioUsd: portfolio,
        kellyFraction: kelly,
        maxLeverage: limits.max_leverage,
        maxPositionPct: limits.max_position_pct,
        varTargetPct: cfg.risk_limits.var_targets.daily_95pct,
        varRoomPct: emptyBook,
      })
    : { targetUsd: 0, targetQty: 0, uncappedUsd: 0, kellyFraction: kelly, caps: [], reason: blend.reason };
  const spread = x.spread_bps ?? 0;
  const hold = blend.ok && sizing.targetUsd !== 0 && !edgePays(cfg.execution, blend.edgeBps, spread);
  const sized = hold ? { ...sizing, targetUsd: 0, targetQty: 0, reason: `${costReason(cfg.execution, blend.edgeBps, spread)}: hold (no position from flat)` } : sizing;
  return {
    blended_edge_bps: blend.edgeBps,
    raw_edge_bps: blend.rawEdgeBps,
    breakdown: breakdownOf(blend.components),
    blend_ok: blend.ok,
    kelly_fraction: kelly,
    target_position_usd: sized.targetUsd,
    target_qty: sized.targetQty,
    uncapped_position_usd: sized.uncappedUsd,
    caps: sized.caps,
    var_pct: positionVarPct(sized.targetUsd, dailyVol, portfolio),
    reason: sized.reason,
    action: hold ? 'hold' : 'target',
    cost_bps: roundTripCostBps(cfg.execution, spread),
    limits: {
      asset_class: classLimits ? x.asset_class : 'default',
      max_leverage: limits.max_leverage,
      max_position_pct: limits.max_position_pct,
      var_target_pct: cfg.risk_limits.var_targets.daily_95pct,
      var_budget_pct: cfg.risk_limits.var_budget_pct,
      var_limit_pct: cfg.risk_limits.var_limit_pct,
    },
  };
}
