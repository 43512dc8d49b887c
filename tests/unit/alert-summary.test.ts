import { describe, expect, it } from 'vitest';
import { UNKNOWN_CONTROL, type ControlSnapshot } from '../../services/core/domain/control-state.ts';
import { alertSummary, type AlertInputs } from '../../services/web/domain/alert-summary.ts';

const calm: ControlSnapshot = {
  ...UNKNOWN_CONTROL,
  known: true,
  trading: { state: 'ACTIVE', reason: '', by: '', at: 0, mode: 'PAPER', trigger: '' },
  breaker: { state: 'CLOSED', cause: '', at: 0, halfOpenOrders: 0, seq: 0 },
};
const inputs = (x: Partial<AlertInputs> = {}): AlertInputs => ({
  control: calm,
  components: { redis: { status: 'ok', healthy: true, detail: 'PONG' } },
  portfolioVarPct: 0.9,
  varLevels: { reloadBlock: 1.5, guard: 1.8, limit: 2 },
  reconciliation: { paper: { ok: true, error: '' } },
  driftPct: { 'BTC-USD': 0 },
  driftLimitPct: 0.5,
  ...x,
});

describe('the dashboard alert summary', () => {
  it('says nothing when all is well', () => {
    expect(alertSummary(inputs())).toEqual([]);
  });

  it('VaR: a warning above the reload block, critical at the guard and at the limit', () => {
    expect(alertSummary(inputs({ portfolioVarPct: 1.6 })).map((a) => [a.severity, a.name])).toEqual([['warning', 'VaRAboveReloadBlock']]);
    expect(alertSummary(inputs({ portfolioVarPct: 1.85 })).map((a) => a.name)).toEqual(['VaRBreach']);
    expect(alertSummary(inputs({ portfolioVarPct: 2.1 })).map((a) => a.name)).toEqual(['VaRLimit']);
  });

  it('critical first: kill switch, open breaker, drift, unhealthy services; then stops and reconciliation', () => {
    const a = alertSummary(
      inputs({
        control: {
          ...calm,
          killSwitch: { engaged: true, reason: 'drill', by: 'alice', at: 1, trigger: 'manual' },
          breaker: { state: 'OPEN', cause: 'venue errors', at: 1, halfOpenOrders: 0, seq: 1 },
          trading: { ...calm.trading, state: 'REDUCING', reason: 'drawdown' },
          scoped: { 'symbol:ETH-USD': { state: 'REDUCING', kind: 'stop', reason: 'position drift', by: 'auto', at: 1, trigger: 'position_drift' } },
        },
        components: { 'service:executor': { status: 'failed', healthy: false, detail: 'no heartbeat' } },
        reconciliation: { paper: { ok: false, error: 'timeout' } },
        driftPct: { 'ETH-USD': 3 },
      }),
    );
    expect(a.map((x) => x.name)).toEqual([
      'KillSwitchEngaged',
      'CircuitBreakerOpen',
      'Unhealthy:service:executor',
      'PositionDrift',
      'TradingReducing',
      'ScopedStop',
      'ReconciliationFailing',
    ]);
    expect(a[0]!.detail).toBe('drill (by alice, trigger manual)');
  });

  it('an unknown control state is critical', () => {
    expect(alertSummary(inputs({ control: UNKNOWN_CONTROL })).map((x) => x.name)).toContain('ControlStateUnknown');
  });
});
