/**
 * Position sizing: fractional Kelly for a continuous bet, then caps.
 *
 *   μ  = edge_bps / 10⁴                       expected return over the horizon
 *   σ²ₕ = σ_daily² · horizon / day             variance over the horizon
 *   f  = kelly_fraction · μ / σ²ₕ              fraction of the portfolio (signed)
 *
 * Caps (each that binds is reported):
 *   max_position_pct · portfolio, max_leverage · portfolio (per asset class),
 *   the VaR target: 1.645 · σ_daily · |position| ≤ daily_95pct % · portfolio,
 *   and, when given, the room the portfolio VaR limit leaves for this position
 *   in its direction (portfolioVarRoomPct below).
 * Any non-finite or non-positive input gives a zero target, never a guess.
 */

export const Z_95 = 1.6448536269514722;

export interface SizingInput {
  edgeBps: number;
  dailyVol: number; // fraction, 0.03 = 3 %
  horizonMs: number;
  price: number;
  portfolioUsd: number;
  kellyFraction: number;
  maxLeverage: number;
  maxPositionPct: number; // fraction of the portfolio, 0.10 = 10 %
  varTargetPct: number; // percent of the portfolio, 1.5 = 1.5 %
  /** Largest VaR (percent) this position may carry, long and short, under the portfolio VaR limit. */
  varRoomPct?: { long: number; short: number } | undefined;
}

export type CapName = 'max_position_pct' | 'max_leverage' | 'var_target' | 'portfolio_var_budget';

export interface SizingResult {
  targetUsd: number;
  targetQty: number;
  uncappedUsd: number;
  kellyFraction: number;
  caps: { cap: CapName; limitUsd: number }[];
  reason: string;
}

const DAY_MS = 86_400_000;

function zero(reason: string, kellyFraction: number): SizingResult {
  return { targetUsd: 0, targetQty: 0, uncappedUsd: 0, kellyFraction, caps: [], reason };
}

export function sizePosition(x: SizingInput): SizingResult {
  const finite = [x.edgeBps, x.dailyVol, x.horizonMs, x.price, x.portfolioUsd, x.kellyFraction, x.maxLeverage, x.maxPositionPct, x.varTargetPct].every(Number.isFinite);
  if (!finite) return zero('non-finite input', x.kellyFraction);
  if (x.dailyVol <= 0) return zero('no volatility estimate', x.kellyFraction);
  if (x.price <= 0 || x.portfolioUsd <= 0 || x.horizonMs <= 0) return zero('non-positive price, portfolio or horizon', x.kellyFraction);
  if (x.kellyFraction <= 0 || x.edgeBps === 0) return zero(x.kellyFraction <= 0 ? 'kelly fraction is zero' : 'no edge', Math.max(0, x.kellyFraction));
  const mu = x.edgeBps / 10_000;
  const varH = x.dailyVol * x.dailyVol * (x.horizonMs / DAY_MS);
  const fraction = (x.kellyFraction * mu) / varH;
  const uncapped = fraction * x.portfolioUsd;
  if (!Number.isFinite(uncapped)) return zero('kelly size not finite', x.kellyFraction);
  const limits: { cap: CapName; limitUsd: number }[] = [
    { cap: 'max_position_pct', limitUsd: Math.max(0, x.maxPositionPct) * x.portfolioUsd },
    { cap: 'max_leverage', limitUsd: Math.max(0, x.maxLeverage) * x.portfolioUsd },
    { cap: 'var_target', limitUsd: ((Math.max(0, x.varTargetPct) / 100) * x.portfolioUsd) / (Z_95 * x.dailyVol) },
  ];
  if (x.varRoomPct) {
    const room = uncapped > 0 ? x.varRoomPct.long : x.varRoomPct.short;
    // A room that is not a finite number allows nothing: never size past a limit we could not compute.
    const pct = Number.isFinite(room) ? Math.max(0, room) : 0;
    limits.push({ cap: 'portfolio_var_budget', limitUsd: ((pct / 100) * x.portfolioUsd) / (Z_95 * x.dailyVol) });
  }
  let size = Math.abs(uncapped);
  const caps: { cap: CapName; limitUsd: number }[] = [];
  const binding = Math.min(...limits.map((l) => l.limitUsd));
  if (size > binding) {
    size = binding;
    for (const l of limits) if (l.limitUsd <= binding) caps.push(l);
  }
  const targetUsd = Math.sign(uncapped) * size;
  return {
    targetUsd,
    targetQty: targetUsd / x.price,
    uncappedUsd: uncapped,
    kellyFraction: x.kellyFraction,
    caps,
    reason: caps.length > 0 ? `capped by ${caps.map((c) => c.cap).join(', ')}` : 'kelly',
  };
}

/** 1-day 95 % parametric VaR of a position, percent of the portfolio. */
export function positionVarPct(positionUsd: number, dailyVol: number, portfolioUsd: number): number {
  if (!Number.isFinite(positionUsd) || !Number.isFinite(dailyVol) || !(portfolioUsd > 0)) return 0;
  return (Z_95 * dailyVol * Math.abs(positionUsd) * 100) / portfolioUsd;
}

/**
 * Portfolio VaR (percent) from per-position VaRs and a correlation lookup:
 * sqrt(Σᵢ Σⱼ vᵢ vⱼ ρᵢⱼ), with signed vᵢ (long positive). With ρ = 1
 * everywhere this is the sum of |vᵢ| for same-sign positions.
 */
export function portfolioVarPct(signedVars: readonly number[], rho: (i: number, j: number) => number): number {
  let total = 0;
  for (let i = 0; i < signedVars.length; i++) {
    for (let j = 0; j < signedVars.length; j++) {
      total += signedVars[i]! * signedVars[j]! * (i === j ? 1 : rho(i, j));
    }
  }
  return Math.sqrt(Math.max(0, total));
}

/**
 * The largest VaR (percent, ≥ 0) one position may carry in direction `sign`
 * so that portfolio VaR stays at or under `limitPct`, the other positions
 * unchanged. With t = |v| and v = sign · t:
 *
 *   P² = t² + 2 · sign · b · t + R,  b = Σⱼ ρⱼ vⱼ,  R = the others' P²
 *
 * P ≤ L holds up to the larger root t = −sign · b + √(b² − R + L²). No real
 * root, or a negative one, leaves no room in that direction: 0. When the
 * others alone are over the limit, only a hedge (sign · b < 0) gets room, and
 * never so much that P ends above R.
 */
export function portfolioVarRoomPct(sign: 1 | -1, others: readonly number[], rhoWith: (j: number) => number, rhoAmong: (i: number, j: number) => number, limitPct: number): number {
  const rest = portfolioVarPct(others, rhoAmong);
  let b = 0;
  for (let j = 0; j < others.length; j++) b += rhoWith(j) * others[j]!;
  const disc = b * b - rest * rest + limitPct * limitPct;
  if (!(disc >= 0)) return 0;
  return Math.max(0, -sign * b + Math.sqrt(disc));
}
