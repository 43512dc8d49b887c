import type { ControlSnapshot } from '../../services/core/domain/control-state.ts';

/** A known control state with nothing tripped: trading ACTIVE in PAPER, breaker CLOSED, kill switch off. */
export const ALL_CLEAR: ControlSnapshot = {
  known: true,
  readAt: 1,
  trading: { state: 'ACTIVE', reason: '', by: '', at: 0, mode: 'PAPER', trigger: '' },
  killSwitch: { engaged: false, reason: '', by: '', at: 0, trigger: '' },
  breaker: { state: 'CLOSED', cause: '', at: 0, halfOpenOrders: 0, seq: 0 },
  router: { paused: false, by: '', at: 0, reason: '' },
  kellyOverride: null,
  scoped: {},
};
