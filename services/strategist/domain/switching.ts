/**
 * The switching discipline of the model router, as a pure decision:
 * (routing state, the rule's preferred model, model health and confidence,
 * thresholds, pause, market hours, now) → stay, or switch with a reason.
 *
 * Order of checks:
 * 1. No active model yet → the preferred model (reason "initial").
 * 2. The active model is unhealthy (failing, over its latency budget, or its
 *    prediction expired) → fall back to the preferred model if healthy and
 *    different, else the rule's default model (its `default_model`, else the
 *    file's) (reason "fallback:<why>"). Safety
 *    fallbacks happen even while the router is paused.
 * 3. Paused, or market-hours-only mode outside market hours → stay.
 * 4. Preferred ≠ active: switch only when the active model has dwelt at
 *    least min_dwell_ms, the challenger's confidence ≥ min_confidence, and
 *    it beats the active model's confidence by switch_hysteresis.
 */

export interface RoutingState {
  active: string | null;
  since: number;
  reason: string;
  ruleIndex: number;
}

export type ModelHealth = { ok: true } | { ok: false; why: 'error' | 'latency' | 'expired' };

export interface SwitchInputs {
  preferred: string;
  ruleIndex: number;
  /** The matched rule's fallback model. */
  defaultModel: string;
  confidence(model: string): number;
  health(model: string): ModelHealth;
  minConfidence: number;
  hysteresis: number;
  minDwellMs: number;
  paused: boolean;
  marketOpen: boolean;
  marketHoursOnly: boolean;
  now: number;
}

export type SwitchDecision = { kind: 'stay'; why: string } | { kind: 'switch'; from: string | null; to: string; reason: string; confidence: number };

export function decideSwitch(state: RoutingState, x: SwitchInputs): SwitchDecision {
  if (state.active === null) {
    return { kind: 'switch', from: null, to: x.preferred, reason: 'initial', confidence: x.confidence(x.preferred) };
  }
  const active = state.active;
  const health = x.health(active);
  if (!health.ok) {
    const preferredOk = x.preferred !== active && x.health(x.preferred).ok;
    const to = preferredOk ? x.preferred : x.defaultModel;
    if (to !== active) {
      return { kind: 'switch', from: active, to, reason: `fallback:${health.why}`, confidence: x.confidence(to) };
    }
  }
  if (x.paused) return { kind: 'stay', why: 'paused' };
  if (x.marketHoursOnly && !x.marketOpen) return { kind: 'stay', why: 'market_closed' };
  if (x.preferred === active) return { kind: 'stay', why: 'preferred_active' };
  if (x.now - state.since < x.minDwellMs) return { kind: 'stay', why: 'dwell' };
  if (!x.health(x.preferred).ok) return { kind: 'stay', why: 'challenger_unhealthy' };
  const challenger = x.confidence(x.preferred);
  if (challenger < x.minConfidence) return { kind: 'stay', why: 'challenger_low_confidence' };
  if (challenger < x.confidence(active) + x.hysteresis) return { kind: 'stay', why: 'hysteresis' };
  return { kind: 'switch', from: active, to: x.preferred, reason: `rule:${x.ruleIndex}`, confidence: challenger };
}
