/**
 * The runbook's playbooks as drills against a running system: each creates
 * its condition through the operator's own touch points, waits until every
 * instance shows it (heartbeats, /health, reload outcomes: time to detect),
 * applies the documented remedy and waits until every instance is back (time
 * to recover). `npm run drill -- <name>|all`.
 */
import type { RedisClient } from '../core/redis/connect.ts';
import type { RedisKeys } from '../core/redis/keys.ts';

export interface DrillDeps {
  api(method: string, path: string, body?: Record<string, unknown>): Promise<{ status: number; json: Record<string, unknown> }>;
  redis: RedisClient;
  keys: RedisKeys;
  /** Give up waiting for a condition after this long. */
  timeoutMs: number;
  /** Trip the shared breaker as a failing venue would (the drill's cause). */
  tripBreaker(cause: string): Promise<void>;
  /** SIGKILL a local process (the restart drill; the embedded runner restarts it). */
  kill(pid: number): void;
  hostname: string;
}

export interface DrillResult {
  name: string;
  ok: boolean;
  detect_ms: number | null;
  recover_ms: number | null;
  detail: string;
}

type Instance = {
  instance: string;
  pid?: number;
  host?: string;
  age_ms?: number;
  control?: { kill_switch?: boolean; trading?: string; breaker?: string };
  router_paused?: boolean;
  config_version?: Record<string, string>;
};

/** Instances by their heartbeats; `live`: only those that beat within 3 s (a killed one stays listed until pruned). */
async function instances(d: DrillDeps, service?: string, live = true): Promise<Instance[]> {
  const s = await d.api('GET', '/api/status');
  const services = (s.json['services'] ?? {}) as Record<string, Instance[]>;
  return Object.entries(services)
    .flatMap(([name, list]) => (service === undefined || name === service ? list : []))
    .filter((i) => !live || (i.age_ms ?? 0) < 3_000);
}

/** ms until `check` holds (polled every 50 ms), or null at the timeout. */
async function until(d: DrillDeps, check: () => Promise<boolean>): Promise<number | null> {
  const t0 = performance.now();
  while (performance.now() - t0 < d.timeoutMs) {
    if (await check()) return Math.round(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 50));
  }
  return null;
}

const everyInstance = (d: DrillDeps, f: (i: Instance) => boolean, service?: string) => async (): Promise<boolean> => {
  const list = await instances(d, service);
  return list.length > 0 && list.every(f);
};

/** Playbook "kill switch": engage it; every instance holds and /health says so; reset; every instance trades again. */
async function killSwitch(d: DrillDeps): Promise<DrillResult> {
  const engaged = await d.api('POST', '/admin/kill-switch', { reason: 'drill: kill switch', operator: 'drill' });
  if (engaged.status !== 200) return { name: 'kill-switch', ok: false, detect_ms: null, recover_ms: null, detail: `engage answered ${engaged.status}` };
  const detect = await until(d, async () => (await d.api('GET', '/health')).status === 503 && (await everyInstance(d, (i) => i.control?.kill_switch === true)()));
  const reset = await d.api('DELETE', '/admin/kill-switch', { reason: 'drill over', operator: 'drill-2' });
  const recover = await until(d, async () => (await d.api('GET', '/health')).status === 200 && (await everyInstance(d, (i) => i.control?.kill_switch === false)()));
  return { name: 'kill-switch', ok: detect !== null && reset.status === 200 && recover !== null, detect_ms: detect, recover_ms: recover, detail: `reset answered ${reset.status}` };
}

/** Playbook "model switch storm": pause the router; every strategist reports it paused; resume; every one runs again. */
async function routerPause(d: DrillDeps): Promise<DrillResult> {
  const paused = await d.api('POST', '/api/router/pause', { reason: 'drill: switch storm' });
  const detect = await until(
    d,
    everyInstance(d, (i) => i.router_paused === true, 'strategist'),
  );
  const resumed = await d.api('POST', '/api/router/resume', { reason: 'drill over' });
  const recover = await until(
    d,
    everyInstance(d, (i) => i.router_paused !== true, 'strategist'),
  );
  return { name: 'router-pause', ok: paused.status === 200 && resumed.status === 200 && detect !== null && recover !== null, detect_ms: detect, recover_ms: recover, detail: '' };
}

/** Playbook "hot reload": a bad reload is rejected by every replica and changes nothing; the good one is applied by all. */
async function reload(d: DrillDeps): Promise<DrillResult> {
  const appliers = async (): Promise<string[]> => (await instances(d)).filter((i) => i.config_version?.['risk_harmoniser'] !== undefined).map((i) => i.instance);
  const names = await appliers();
  const outcomesSince = async (since: string): Promise<Map<string, string>> => {
    const rows = (await d.redis.xrange(d.keys.reloadOutcomes, `(${since}`, '+')) as [string, string[]][];
    const out = new Map<string, string>();
    for (const [, f] of rows) {
      const m: Record<string, string> = {};
      for (let i = 0; i + 1 < f.length; i += 2) m[f[i]!] = f[i + 1]!;
      if (m['component'] === 'risk_harmoniser' && m['instance']) out.set(m['instance'], m['status'] ?? '');
    }
    return out;
  };
  const mark = async (): Promise<string> => ((await d.redis.xrevrange(d.keys.reloadOutcomes, '+', '-', 'COUNT', 1)) as [string, string[]][])[0]?.[0] ?? '0-0';
  let since = await mark();
  await d.redis.publish(d.keys.paramReload, JSON.stringify({ component: 'risk_harmoniser', config_path: 'conf/drill-missing.yml' }));
  const detect = await until(d, async () => {
    const o = await outcomesSince(since);
    return names.every((n) => o.get(n) === 'rejected');
  });
  since = await mark();
  await d.redis.publish(d.keys.paramReload, JSON.stringify({ component: 'risk_harmoniser', config_path: 'conf/risk_params.yml' }));
  const recover = await until(d, async () => {
    const o = await outcomesSince(since);
    return names.every((n) => o.get(n) === 'applied' || o.get(n) === 'unchanged');
  });
  return { name: 'reload', ok: names.length > 0 && detect !== null && recover !== null, detect_ms: detect, recover_ms: recover, detail: `${names.length} replicas` };
}

/** Playbook "circuit-breaker reset": a trip (as a failing venue would) opens it for every instance and /health says so; the operator's reset lets orders flow again (HALF_OPEN probation). */
async function breaker(d: DrillDeps): Promise<DrillResult> {
  await d.tripBreaker('drill: venue errors');
  const detect = await until(d, async () => (await d.api('GET', '/health')).status === 503 && (await everyInstance(d, (i) => i.control?.breaker === 'OPEN')()));
  const reset = await d.api('POST', '/api/circuit-breaker/reset', { reason: 'drill over' });
  // The reset opens probation (HALF_OPEN: orders flow again, CLOSED after probation_ms without a failure).
  const recover = await until(
    d,
    async () => (await d.api('GET', '/health')).status === 200 && (await everyInstance(d, (i) => i.control?.breaker !== undefined && i.control.breaker !== 'OPEN')()),
  );
  return {
    name: 'breaker',
    ok: detect !== null && reset.status === 200 && recover !== null,
    detect_ms: detect,
    recover_ms: recover,
    detail: `reset answered ${reset.status}; HALF_OPEN until probation passes`,
  };
}

/**
 * Playbook "restart" (embedded runner): SIGKILL the risk-harmoniser; its
 * heartbeat goes stale; the supervisor restarts it and /health is healthy
 * with the new process. Needs the instance on this host.
 */
async function restart(d: DrillDeps): Promise<DrillResult> {
  const risk = (await instances(d, 'risk-harmoniser')).find((i) => i.host === d.hostname && typeof i.pid === 'number');
  if (!risk) return { name: 'restart', ok: false, detect_ms: null, recover_ms: null, detail: `no risk-harmoniser on ${d.hostname} (the drill needs the embedded runner)` };
  d.kill(risk.pid!);
  // Both from the kill: detect when the killed instance's heartbeat is stale or gone (age over 3 s), recover when
  // another risk-harmoniser process beats and /health is healthy. The supervisor may restart it before the old
  // heartbeat is even stale: then recover comes first.
  const [detect, recover] = await Promise.all([
    until(d, async () => {
      const old = (await instances(d, 'risk-harmoniser', false)).find((i) => i.instance === risk.instance);
      return old === undefined || (old.age_ms ?? 0) >= 3_000;
    }),
    until(
      d,
      async () => (await d.api('GET', '/health')).status === 200 && (await instances(d, 'risk-harmoniser')).some((i) => i.pid !== risk.pid && (i.age_ms ?? Infinity) < 2_000),
    ),
  ]);
  return { name: 'restart', ok: detect !== null && recover !== null, detect_ms: detect, recover_ms: recover, detail: `killed pid ${risk.pid}` };
}

export const DRILLS: Record<string, (d: DrillDeps) => Promise<DrillResult>> = { 'kill-switch': killSwitch, 'router-pause': routerPause, reload, breaker, restart };
