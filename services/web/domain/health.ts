/**
 * Health and readiness from plain inputs: Redis reachability, heartbeats,
 * and the control snapshot. A service is alive when its newest heartbeat is
 * younger than missedCycles × interval.
 */
import type { ControlSnapshot } from '../../core/domain/control-state.ts';
import { newestHeartbeatByService, type HeartbeatEntry } from '../../core/heartbeats.ts';

export interface Heartbeat extends HeartbeatEntry {
  detail: Record<string, unknown>;
}

export interface ComponentHealth {
  status: 'ok' | 'failed';
  healthy: boolean;
  detail: string;
  [extra: string]: unknown;
}

export interface HealthReport {
  status: 'healthy' | 'unhealthy';
  failing: string[];
  components: Record<string, ComponentHealth>;
}

export interface HealthInputs {
  redisOk: boolean;
  redisError: string;
  heartbeats: readonly Heartbeat[];
  requiredServices: readonly string[];
  control: ControlSnapshot;
  now: number;
  heartbeatIntervalMs: number;
  missedCycles: number;
}

export function serviceLiveness(x: HealthInputs): Record<string, { alive: boolean; instances: number; newestAgeMs: number | null }> {
  const maxAge = x.heartbeatIntervalMs * x.missedCycles;
  const out: Record<string, { alive: boolean; instances: number; newestAgeMs: number | null }> = {};
  const newest = newestHeartbeatByService(x.heartbeats);
  for (const service of x.requiredServices) {
    const ts = newest[service];
    const age = ts === undefined ? null : x.now - ts;
    const instances = x.heartbeats.filter((h) => h.service === service && x.now - h.ts <= maxAge).length;
    out[service] = { alive: age !== null && age <= maxAge, instances, newestAgeMs: age };
  }
  return out;
}

export function evaluateHealth(x: HealthInputs): HealthReport {
  const components: Record<string, ComponentHealth> = {};
  components['redis'] = x.redisOk ? { status: 'ok', healthy: true, detail: 'PONG' } : { status: 'failed', healthy: false, detail: x.redisError || 'unreachable' };
  const live = serviceLiveness(x);
  for (const [service, l] of Object.entries(live)) {
    components[`service:${service}`] = l.alive
      ? { status: 'ok', healthy: true, detail: `${l.instances} instance(s), last heartbeat ${l.newestAgeMs} ms ago`, instances: l.instances }
      : {
          status: 'failed',
          healthy: false,
          detail: l.newestAgeMs === null ? 'no heartbeat' : `heartbeat missing for ${l.newestAgeMs} ms (> ${x.missedCycles} cycles)`,
          instances: 0,
        };
  }
  const c = x.control;
  if (!c.known) {
    components['risk_manager'] = { status: 'failed', healthy: false, detail: 'control state unknown' };
    components['circuit_breaker'] = { status: 'failed', healthy: false, detail: 'control state unknown' };
  } else {
    components['risk_manager'] = c.killSwitch.engaged
      ? { status: 'failed', healthy: false, detail: `kill switch engaged: ${c.killSwitch.reason}`, kill_switch: true }
      : { status: 'ok', healthy: true, detail: `trading ${c.trading.state}`, kill_switch: false };
    components['circuit_breaker'] =
      c.breaker.state === 'OPEN'
        ? { status: 'failed', healthy: false, detail: `OPEN: ${c.breaker.cause}`, state: c.breaker.state }
        : { status: 'ok', healthy: true, detail: c.breaker.state, state: c.breaker.state };
  }
  components['rate_limiters'] = {
    status: 'ok',
    healthy: true,
    detail: 'API: changes per operator per minute and failed authentications per address (limits); orders: the circuit breaker HALF_OPEN policy',
  };
  const failing = Object.entries(components)
    .filter(([, v]) => !v.healthy)
    .map(([k]) => k);
  return { status: failing.length === 0 ? 'healthy' : 'unhealthy', failing, components };
}

export function evaluateReady(x: HealthInputs): { ready: boolean; reason: string } {
  if (!x.redisOk) return { ready: false, reason: `redis unreachable: ${x.redisError}` };
  const missing = Object.entries(serviceLiveness(x))
    .filter(([, l]) => !l.alive)
    .map(([s]) => s);
  if (missing.length > 0) return { ready: false, reason: `no heartbeat from: ${missing.join(', ')}` };
  return { ready: true, reason: 'redis reachable, every service reported' };
}
