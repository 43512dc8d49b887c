/**
 * The dashboard's alert summary: what the Prometheus rules would say, from
 * the same picture the page shows, for an operator without Prometheus.
 * Critical first, then warnings; each with the remedy's starting point.
 */
import type { ControlSnapshot } from '../../core/domain/control-state.ts';
import type { ComponentHealth } from './health.ts';

export interface AlertInputs {
  control: ControlSnapshot;
  components: Record<string, ComponentHealth>;
  portfolioVarPct: number;
  /** Reload block (1.5), VaR guard (var_limit × warning ratio, 1.8), limit (2.0). */
  varLevels: { reloadBlock: number; guard: number; limit: number };
  /** venue → last reconciliation ok? and its error. */
  reconciliation: Record<string, { ok: boolean; error: string }>;
  /** symbol → drift % of notional (last reconciliation). */
  driftPct: Record<string, number>;
  driftLimitPct: number;
}

export interface DashboardAlert {
  severity: 'critical' | 'warning';
  name: string;
  detail: string;
}

export function alertSummary(x: AlertInputs): DashboardAlert[] {
  const out: DashboardAlert[] = [];
  const c = x.control;
  if (!c.known) out.push({ severity: 'critical', name: 'ControlStateUnknown', detail: 'the control state cannot be read: every service holds' });
  if (c.killSwitch.engaged)
    out.push({
      severity: 'critical',
      name: 'KillSwitchEngaged',
      detail: `${c.killSwitch.reason} (by ${c.killSwitch.by || 'unknown'}, trigger ${c.killSwitch.trigger || 'manual'})`,
    });
  if (c.breaker.state === 'OPEN') out.push({ severity: 'critical', name: 'CircuitBreakerOpen', detail: c.breaker.cause || 'open' });
  else if (c.breaker.state === 'HALF_OPEN') out.push({ severity: 'warning', name: 'CircuitBreakerHalfOpen', detail: c.breaker.cause || 'probation' });
  if (c.known && c.trading.state !== 'ACTIVE') out.push({ severity: 'warning', name: `Trading${titleCase(c.trading.state)}`, detail: c.trading.reason || c.trading.state });
  for (const [scope, s] of Object.entries(c.scoped))
    out.push({ severity: s.kind === 'kill' ? 'critical' : 'warning', name: s.kind === 'kill' ? 'ScopedKill' : 'ScopedStop', detail: `${scope} ${s.state}: ${s.reason}` });
  const v = x.portfolioVarPct;
  if (v >= x.varLevels.limit) out.push({ severity: 'critical', name: 'VaRLimit', detail: `portfolio VaR ${v.toFixed(2)}% ≥ limit ${x.varLevels.limit}%` });
  else if (v >= x.varLevels.guard) out.push({ severity: 'critical', name: 'VaRBreach', detail: `portfolio VaR ${v.toFixed(2)}% ≥ guard ${x.varLevels.guard}%` });
  else if (v >= x.varLevels.reloadBlock)
    out.push({ severity: 'warning', name: 'VaRAboveReloadBlock', detail: `portfolio VaR ${v.toFixed(2)}% ≥ ${x.varLevels.reloadBlock}%: hot reloads need "force"` });
  for (const [name, comp] of Object.entries(x.components))
    if (!comp.healthy) out.push({ severity: name === 'redis' || name.startsWith('service:') ? 'critical' : 'warning', name: `Unhealthy:${name}`, detail: comp.detail });
  for (const [venue, r] of Object.entries(x.reconciliation))
    if (!r.ok) out.push({ severity: 'warning', name: 'ReconciliationFailing', detail: `${venue}: ${r.error || 'failed'}` });
  for (const [symbol, d] of Object.entries(x.driftPct))
    if (d > x.driftLimitPct) out.push({ severity: 'critical', name: 'PositionDrift', detail: `${symbol}: ${d.toFixed(2)}% of notional vs the venue` });
  return out.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'critical' ? -1 : 1));
}

function titleCase(s: string): string {
  return s.charAt(0) + s.slice(1).toLowerCase();
}
