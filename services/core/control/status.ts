/** What an instance reports with its heartbeat: the control state as it sees it. */
import { effectiveTrading, type ControlSnapshot } from '../domain/control-state.ts';

export function controlStatus(s: ControlSnapshot): Record<string, unknown> {
  if (!s.known) return { known: false };
  const scoped = Object.keys(s.scoped);
  return {
    known: true,
    trading: effectiveTrading(s).state,
    kill_switch: s.killSwitch.engaged,
    breaker: s.breaker.state,
    mode: s.trading.mode,
    ...(scoped.length > 0 ? { scoped } : {}),
    ...(s.router.paused ? { router_paused: true } : {}),
  };
}
