/**
 * The runbook's playbooks as drills against a running system: each creates
 * its condition through the operator's own touch points, waits until every
 * instance shows it (heartbeats, /health, reload outcomes: time to detect),
 * applies the documented remedy and waits until every instance is back (time
 * to recover). `npm run drill -- <name>|all`.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { dump, load } from 'js-yaml';
import { parseRiskParams, parseRouterRules } from '../core/config/parse.ts';
import type { RedisClient } from '../core/redis/connect.ts';
import type { ConfigComponent, RedisKeys, Shards } from '../core/redis/keys.ts';

export interface DrillDeps {
  api(method: string, path: string, body?: Record<string, unknown>): Promise<{ status: number; json: Record<string, unknown> }>;
  redis: RedisClient;
  keys: RedisKeys;
  /** Every write shard's names: model.switch.log and the portfolio hash are per shard. */
  shards: Shards;
  /** Give up waiting for a condition after this long. */
  timeoutMs: number;
  /** Trip the shared breaker as a failing venue would (the drill's cause). */
  tripBreaker(cause: string): Promise<void>;
  /** SIGKILL a local process (the restart drill; the embedded runner restarts it). */
  kill(pid: number): void;
  hostname: string;
  /** The services' project root: drills that create their condition with a config file write it under its conf/. */
  root: string;
  /** A connection allowed CLIENT KILL (the `admin` user), for the Redis latency drill; undefined: that drill cannot run. */
  admin?: RedisClient | undefined;
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
  redis_latency_p99_us?: number;
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
async function until(d: DrillDeps, check: () => Promise<boolean>, timeoutMs = d.timeoutMs): Promise<number | null> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
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
  let since = await lastId(d, d.keys.reloadOutcomes);
  await d.redis.publish(d.keys.paramReload, JSON.stringify({ component: 'risk_harmoniser', config_path: 'conf/drill-missing.yml' }));
  const detect = await until(d, async () => {
    const o = await outcomesSince(since);
    return names.every((n) => o.get(n) === 'rejected');
  });
  since = await lastId(d, d.keys.reloadOutcomes);
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
 * with the new process (after the kill switch's reset, when the restart took
 * long enough to engage it). Needs the instance on this host.
 */
async function restart(d: DrillDeps): Promise<DrillResult> {
  const risk = (await instances(d, 'risk-harmoniser')).find((i) => i.host === d.hostname && typeof i.pid === 'number');
  if (!risk) return { name: 'restart', ok: false, detect_ms: null, recover_ms: null, detail: `no risk-harmoniser on ${d.hostname} (the drill needs the embedded runner)` };
  const killedAt = Date.now();
  d.kill(risk.pid!);
  // Both from the kill: detect when the killed instance's heartbeat is stale or gone (age over 3 s), recover when
  // another risk-harmoniser process beats and /health is healthy. The supervisor may restart it before the old
  // heartbeat is even stale: then recover comes first. A restart slower than 3 heartbeats makes the executors
  // engage the kill switch (heartbeat_missing, seed 001): once the new process beats, the runbook's reset is applied.
  let resetAfterRestart = false;
  const [detect, recover] = await Promise.all([
    until(d, async () => {
      const old = (await instances(d, 'risk-harmoniser', false)).find((i) => i.instance === risk.instance);
      return old === undefined || (old.age_ms ?? 0) >= 3_000;
    }),
    until(d, async () => {
      if (!(await instances(d, 'risk-harmoniser')).some((i) => i.pid !== risk.pid && (i.age_ms ?? Infinity) < 2_000)) return false;
      if ((await d.api('GET', '/health')).status === 200) return true;
      const ks = (await d.api('GET', '/admin/kill-switch')).json;
      if (!resetAfterRestart && ks['engaged'] === true && ks['trigger'] === 'heartbeat_missing' && Number(ks['at']) >= killedAt) {
        resetAfterRestart = true;
        await d.api('DELETE', '/admin/kill-switch', { reason: 'restart drill: the risk-harmoniser beats again', operator: 'drill' });
      }
      return false;
    }),
  ]);
  const detail = `killed pid ${risk.pid}${resetAfterRestart ? '; the restart outlasted 3 heartbeats, so the kill switch engaged (heartbeat_missing) and was reset once the new process beat' : ''}`;
  return { name: 'restart', ok: detect !== null && recover !== null, detect_ms: detect, recover_ms: recover, detail };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const failed = (name: string, detail: string): DrillResult => ({ name, ok: false, detect_ms: null, recover_ms: null, detail });

/** The config file a component's live instances applied last (what a drill restores), from config:applied. */
async function appliedPath(d: DrillDeps, component: ConfigComponent, fallback: string): Promise<string> {
  for (const v of Object.values(await d.redis.hgetall(d.keys.configApplied(component)))) {
    try {
      const p = (JSON.parse(v) as { config_path?: unknown }).config_path;
      if (typeof p === 'string' && p !== '') return p;
    } catch {
      // a malformed entry: try the next
    }
  }
  return fallback;
}

/**
 * Write a drill's config file under <root>/conf (where a reload may read it), once `parse` has accepted its
 * text: its config_path, or why the text is invalid (nothing written).
 */
function drillFile(
  d: DrillDeps,
  name: string,
  doc: unknown,
  parse: (text: string, file: string) => { ok: true } | { ok: false; reason: string },
): { path: string } | { invalid: string } {
  const path = `conf/${name}.yml`;
  const text = `# Written by npm run drill; removed when the drill ends.\n${dump(doc, { lineWidth: 200 })}`;
  const checked = parse(text, path);
  if (!checked.ok) return { invalid: checked.reason };
  writeFileSync(join(d.root, path), text);
  return { path };
}

/** Switches logged to model.switch.log (every shard's) after stream id `since` (the router's own, not safety fallbacks). */
async function switchesSince(d: DrillDeps, since: string): Promise<number> {
  const rows = (await Promise.all(d.shards.keys.map((k) => d.redis.xrange(k.modelSwitchLog, `(${since}`, '+', 'COUNT', 10_000) as Promise<[string, string[]][]>))).flat();
  return rows.filter(([, f]) => {
    const at = f.indexOf('reason');
    return !(at >= 0 && String(f[at + 1]).startsWith('fallback'));
  }).length;
}

/** The newest model.switch.log entry id across shards, or a time-based id when there is none. */
async function lastSwitchId(d: DrillDeps): Promise<string> {
  const ids = await Promise.all(d.shards.keys.map((k) => lastId(d, k.modelSwitchLog)));
  return ids.reduce((a, b) => {
    const [am, as] = a.split('-').map(Number);
    const [bm, bs] = b.split('-').map(Number);
    return am! > bm! || (am === bm && as! >= bs!) ? a : b;
  });
}

/** The last entry id of a stream, or a time-based id when it is empty. */
async function lastId(d: DrillDeps, stream: string): Promise<string> {
  return ((await d.redis.xrevrange(stream, '+', '-', 'COUNT', 1)) as [string, string[]][])[0]?.[0] ?? `${Date.now()}-0`;
}

/**
 * Playbook "excessive model switching" (alert: more than 20 switches in
 * 5 minutes). The cause, as the runbook's first row has it, is a bad routing
 * rule threshold: two rule files that send every symbol alternately to
 * momentum and to mean reversion, with no dwell, no confidence floor and no
 * hysteresis, reloaded every 250 ms. Detect: more than 20 switches in
 * model.switch.log. Remedy: pause the router (POST /api/router/pause).
 * Recover: every strategist paused and not one switch in the next second
 * while the bad reloads go on. Then the rules in force before are reloaded
 * and the router resumed.
 */
async function switchStorm(d: DrillDeps): Promise<DrillResult> {
  const name = 'switch-storm';
  if ((await instances(d, 'strategist')).length === 0) return failed(name, 'no live strategist');
  const restore = await appliedPath(d, 'model_router', 'model_router_rules.yml');
  const doc = load(readFileSync(join(d.root, restore), 'utf8')) as { model_router: Record<string, unknown> & { rules: Record<string, unknown>[] } };
  const variant = (model: string): unknown => ({
    model_router: {
      ...doc.model_router,
      rules: doc.model_router.rules.map(({ default_model: _, ...r }) => ({ ...r, model, ensemble: [] })),
      confidence_thresholds: { min_confidence: 0, switch_hysteresis: 0 },
      switching: { ...(doc.model_router['switching'] as object), min_dwell_ms: 0, market_hours_only: false },
    },
  });
  const written = ['momentum', 'mean_reversion'].map((m) => drillFile(d, `drill-switch-storm-${m}`, variant(m), parseRouterRules));
  const files = written.flatMap((w) => ('path' in w ? [w.path] : []));
  const invalid = written.flatMap((w) => ('invalid' in w ? [w.invalid] : []))[0];
  if (invalid !== undefined) {
    for (const f of files) rmSync(join(d.root, f), { force: true });
    return failed(name, `the drill's rules are invalid: ${invalid}`);
  }
  let storming = true;
  const storm = (async () => {
    for (let k = 0; storming; k++) {
      await d.redis.publish(d.keys.paramReload, JSON.stringify({ component: 'model_router', config_path: files[k % 2] }));
      await sleep(250);
    }
  })();
  try {
    const since = await lastSwitchId(d);
    const detect = await until(d, async () => (await switchesSince(d, since)) > 20);
    const stormed = await switchesSince(d, since);
    const paused = await d.api('POST', '/api/router/pause', { reason: 'drill: switch storm' });
    const recover = await until(
      d,
      everyInstance(d, (i) => i.router_paused === true, 'strategist'),
    );
    // The storm goes on for a second more: a paused router must not switch.
    const quietFrom = await lastSwitchId(d);
    await sleep(1_000);
    const whilePaused = await switchesSince(d, quietFrom);
    return {
      name,
      ok: detect !== null && paused.status === 200 && recover !== null && whilePaused === 0,
      detect_ms: detect,
      recover_ms: recover,
      detail: `${stormed} switches before the pause, ${whilePaused} while paused; rules restored from ${restore}`,
    };
  } finally {
    storming = false;
    await storm;
    await d.redis.publish(d.keys.paramReload, JSON.stringify({ component: 'model_router', config_path: restore }));
    await sleep(500);
    await d.api('POST', '/api/router/resume', { reason: 'drill over' });
    for (const f of files) rmSync(join(d.root, f), { force: true });
  }
}

/** Portfolio VaR (percent) and the Kelly source the risk harmoniser last wrote. */
async function book(d: DrillDeps): Promise<{ varPct: number; kellySource: string }> {
  // Each shard's risk harmoniser writes the whole book's VaR as it saw it: the newest.
  const all = await Promise.all(d.shards.keys.map((k) => d.redis.hgetall(k.riskPortfolio)));
  const h = all.reduce((a, b) => (Number(b['at'] ?? 0) > Number(a['at'] ?? 0) ? b : a));
  return { varPct: Number(h['var_pct'] ?? 0), kellySource: h['kelly_source'] ?? '' };
}

/**
 * Playbook "VaR breach > 90 % of the limit" (alert: VaR above 1.8 %). Sizing
 * keeps the book under its 1.2 % budget, so the cause has to loosen it: a
 * risk file, reloaded with "force", that raises the budget to 2.4 % (and the
 * levels above it) and gives every edge an over-confident prior of +50 bp,
 * as a new model that believes itself would. Detect: portfolio VaR above
 * 1.8 %. Remedy, the runbook's: POST /api/risk/emergency-reduce
 * {"kelly_fraction": 0.1, "reason": "VaR breach"}. Recover: portfolio VaR
 * back under 1.8 % with the override in force. Then the risk file in force
 * before is reloaded (which also clears the override).
 */
async function varBreach(d: DrillDeps): Promise<DrillResult> {
  const name = 'var-breach';
  if ((await instances(d, 'risk-harmoniser')).length === 0) return failed(name, 'no live risk-harmoniser');
  const restore = await appliedPath(d, 'risk_harmoniser', 'conf/risk_params.yml');
  const doc = load(readFileSync(join(d.root, restore), 'utf8')) as { risk_harmoniser: Record<string, Record<string, unknown>> };
  const r = doc.risk_harmoniser;
  const classes = Object.fromEntries(
    Object.entries((r['position_sizing']!['asset_classes'] ?? {}) as Record<string, Record<string, unknown>>).map(([k, v]) => [k, { ...v, max_position_pct: 0.5 }]),
  );
  const loose = {
    risk_harmoniser: {
      ...r,
      edge_blending: { ...r['edge_blending'], prior_edge_bps: 50, shrinkage_strength: 1 },
      position_sizing: { ...r['position_sizing'], asset_classes: classes },
      risk_limits: { ...r['risk_limits'], var_targets: { daily_95pct: 2.0 }, var_budget_pct: 2.4, var_limit_pct: 4.0, reload_block_var_pct: 3.0 },
      circuit_breaker: { ...r['circuit_breaker'], var_threshold_pct: 5.0 },
    },
  };
  const written = drillFile(d, 'drill-var-breach', loose, parseRiskParams);
  if ('invalid' in written) return failed(name, `the drill's risk file is invalid: ${written.invalid}`);
  const file = written.path;
  try {
    await d.redis.publish(d.keys.paramReload, JSON.stringify({ component: 'risk_harmoniser', config_path: file, force: true }));
    const detect = await until(d, async () => (await book(d)).varPct > 1.8);
    const peak = (await book(d)).varPct;
    const reduced = await d.api('POST', '/api/risk/emergency-reduce', { kelly_fraction: 0.1, reason: 'VaR breach' });
    const recover = await until(d, async () => {
      const b = await book(d);
      return b.kellySource === 'operator_override' && b.varPct < 1.8;
    });
    const after = (await book(d)).varPct;
    return {
      name,
      ok: detect !== null && reduced.status === 200 && recover !== null,
      detect_ms: detect,
      recover_ms: recover,
      detail: `portfolio VaR ${peak.toFixed(2)} % at detection, ${after.toFixed(2)} % after the emergency reduce; risk file restored from ${restore}`,
    };
  } finally {
    await d.redis.publish(d.keys.paramReload, JSON.stringify({ component: 'risk_harmoniser', config_path: restore, force: true }));
    await sleep(500);
    rmSync(join(d.root, file), { force: true });
  }
}

/** A script that keeps Redis busy for ARGV[1] loops, touching no key and calling no command (so the only call the latency histogram counts is the EVAL itself). */
const BUSY_SCRIPT = 'local x = 0 for i = 1, tonumber(ARGV[1]) do x = x + i end return 1';

/** A slow-command entry of SLOWLOG GET: [id, time, µs, args, client address, client name]. */
type SlowEntry = [number, number, number, string[], string, string];

/**
 * Playbook "Redis latency > 5 ms p99" (alert: redis_latency_p99 > 5000 µs,
 * Redis' own command time over the last minute). The cause: a client that
 * runs a 6 ms script back to back (what one heavy command or script does
 * to every other client; DEBUG SLEEP would not do, since the metric leaves
 * administrative commands out). Detect: every instance's
 * redis_latency_p99 above 5,000 µs. Remedy, from the runbook's
 * "identify slow operations": SLOWLOG GET 10 names the client, CLIENT KILL
 * ends it. Recover: every instance's p99 back under 5,000 µs, which takes
 * the metric's window (REDIS_LATENCY_WINDOW_MS, one minute by default).
 * Needs the admin user (CLIENT KILL).
 */
async function redisLatency(d: DrillDeps): Promise<DrillResult> {
  const name = 'redis-latency';
  if (!d.admin) return failed(name, 'needs a Redis connection allowed CLIENT KILL (the admin user)');
  let reporting: Instance[] = [];
  await until(d, async () => (reporting = (await instances(d)).filter((i) => typeof i.redis_latency_p99_us === 'number')).length > 0);
  if (reporting.length === 0) return failed(name, 'no instance reports redis_latency_p99 yet (it needs two samples, 5 heartbeats apart)');
  const admin = d.admin;
  const slowName = `drill-slow-client-${process.pid}`;
  const slow =
    admin instanceof Redis ? admin.duplicate({ connectionName: slowName, retryStrategy: () => null, autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 0 }) : undefined;
  if (!slow) return failed(name, 'the latency drill needs a standalone or Sentinel Redis');
  slow.on('error', () => undefined); // CLIENT KILL ends it: that is the remedy
  // Calibrate the busy script to about 6 ms of Redis' own time on this machine (over the alert's 5 ms, in the
  // histogram's 4–8 ms bucket): the fastest of three long runs, where a round trip or a queue hardly counts.
  const probeLoops = 3_000_000;
  let fastest = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await slow.eval(BUSY_SCRIPT, 0, probeLoops);
    fastest = Math.min(fastest, performance.now() - t0);
  }
  const loops = Math.max(1_000, Math.round((probeLoops * 6) / fastest));
  // Two scripts in flight on the one connection: Redis runs the next as soon as one ends, with no round trip between.
  let running = true;
  const loop = async (): Promise<void> => {
    while (running) {
      try {
        await slow.eval(BUSY_SCRIPT, 0, loops);
      } catch {
        return; // killed: the remedy worked
      }
    }
  };
  const load = Promise.all([loop(), loop()]);
  try {
    /** Every instance that reported at the start shows its p99 on that side of the alert's 5,000 µs. */
    const everyP99 = (over: boolean) => async (): Promise<boolean> => {
      const l = (await instances(d)).filter((i) => reporting.some((r) => r.instance === i.instance));
      return l.length > 0 && l.every((i) => (i.redis_latency_p99_us === undefined ? !over : i.redis_latency_p99_us > 5_000) === over);
    };
    // The p99 is over a window (a minute by default): the slow calls must become over 1 % of the window's calls,
    // and after the remedy the window must roll past them. Both can take longer than the other drills' timeout.
    const windowWait = Math.max(d.timeoutMs, 90_000);
    const detect = await until(d, everyP99(true), windowWait);
    // The remedy: SLOWLOG names the client that runs the slow commands; CLIENT KILL ends it.
    const entries = (await admin.call('SLOWLOG', 'GET', '10')) as SlowEntry[];
    const worst = entries.filter((e) => /^EVAL/i.test(String(e[3]?.[0]))).sort((a, b) => b[2] - a[2])[0];
    let killed = 0;
    if (worst) killed = Number(await admin.call('CLIENT', 'KILL', 'ADDR', worst[4], 'SKIPME', 'yes'));
    const recover = await until(d, everyP99(false), windowWait);
    return {
      name,
      ok: detect !== null && worst !== undefined && killed === 1 && recover !== null,
      detect_ms: detect,
      recover_ms: recover,
      detail: worst ? `SLOWLOG named ${worst[4]} (${worst[5]}: ${worst[3][0]} of ${worst[2]} µs); CLIENT KILL ended ${killed}` : 'SLOWLOG named no slow script',
    };
  } finally {
    running = false;
    slow.disconnect();
    await load;
  }
}

export const DRILLS: Record<string, (d: DrillDeps) => Promise<DrillResult>> = {
  'kill-switch': killSwitch,
  'router-pause': routerPause,
  'switch-storm': switchStorm,
  reload,
  'var-breach': varBreach,
  breaker,
  'redis-latency': redisLatency,
  restart,
};

/** Run a drill on a healthy system only: a condition left over (an engaged kill switch, an open breaker) would be timed as if the drill had made it. */
export async function runDrill(name: string, d: DrillDeps): Promise<DrillResult> {
  const drill = DRILLS[name];
  if (!drill) return failed(name, `no drill ${name}`);
  const health = await d.api('GET', '/health');
  if (health.status !== 200) {
    const f = health.json['failing'] ?? health.json['error'];
    const failing = Array.isArray(f) ? f.join(', ') : typeof f === 'string' ? f : `status ${health.status}`;
    return failed(name, `not run: /health is not healthy before it (${failing}); clear that first (docs/operations.md)`);
  }
  return drill(d);
}
