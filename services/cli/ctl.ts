/**
 * One CLI for operators: `npm run ctl -- <command>` (or the `tpctl` bin).
 *
 * It talks to what `npm start` runs (or to TP_WEB_URL / REDIS_URL): the
 * web API for everything that changes state or reads the book, with the same
 * auth (WEB_TOKEN, or --token), and Redis only for `reload` (PUBLISH
 * param.reload, then the outcome of every live replica) and `switch-log
 * --follow`. Human tables by default, --json for scripts. Heavy modules are
 * imported by the command that needs them, so it starts fast.
 *
 * Exit codes: 0 done; 1 refused (the API's 4xx, a rejected reload, an
 * invalid file, a replay out of tolerance); 2 usage; 3 web or Redis unreachable; 4 a reload not
 * answered by every replica in time.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { cliEnvironment, type CliEnvironment } from '../core/settings.ts';
import { printTable, type Column } from './table.ts';

export const EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3, incomplete: 4 } as const;

class CliError extends Error {
  constructor(
    message: string,
    readonly code: number,
    /** The API's HTTP status, when the API answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}

const ROOT = resolve(import.meta.dirname, '../..');

const parsedEnv = cliEnvironment(ROOT);
const ENV: CliEnvironment = parsedEnv.ok
  ? parsedEnv.env
  : {
      webUrl: undefined,
      webPort: undefined,
      webToken: undefined,
      redisUrl: undefined,
      namespace: undefined,
      shards: 1,
      dataDir: '.data',
      redisAuth: undefined,
      adminAuth: undefined,
      configRoot: ROOT,
    };

/** What `npm start` recorded about itself (.data/run.lock): its web port and (redacted) Redis URL. */
function runLock(): { webPort?: number } {
  try {
    return JSON.parse(readFileSync(resolve(ROOT, ENV.dataDir, 'run.lock'), 'utf8')) as { webPort?: number };
  } catch {
    return {};
  }
}

function webBase(): string {
  if (ENV.webUrl) return ENV.webUrl.replace(/\/$/, '');
  return `http://localhost:${ENV.webPort ?? runLock().webPort ?? 8080}`;
}

interface Global {
  json: boolean;
  token?: string;
}

let global: Global = { json: false };

async function api(method: string, path: string, body?: Record<string, unknown>): Promise<Record<string, unknown>> {
  const base = webBase();
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const token = global.token ?? ENV.webToken;
  if (token) headers['authorization'] = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, { method, headers, ...(body ? { body: JSON.stringify(dropUndefined(body)) } : {}), signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    const c = (err as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause;
    const cause = c?.code ?? c?.errors?.[0]?.code ?? c?.message ?? (err as Error).message;
    throw new CliError(`web unreachable at ${base} (${cause}): is \`npm start\` running? Set TP_WEB_URL to another web.`, EXIT.unreachable);
  }
  const text = await res.text();
  let json: Record<string, unknown>;
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    json = { text };
  }
  if (!res.ok) {
    const detail = json['detail'] === null || json['detail'] === undefined ? '' : ` (${typeof json['detail'] === 'string' ? json['detail'] : JSON.stringify(json['detail'])})`;
    throw new CliError(
      `${method} ${path}: ${res.status} ${typeof json['error'] === 'string' ? json['error'] : res.statusText}${detail}`,
      res.status === 503 ? EXIT.unreachable : EXIT.refused,
      res.status,
    );
  }
  return json;
}

function dropUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

function out(value: unknown, human: () => void): void {
  if (global.json) console.log(JSON.stringify(value, null, 2));
  else human();
}

const n = (v: unknown, digits = 2): string => {
  const x = typeof v === 'number' ? v : Number(v);
  return v === null || v === undefined || v === '' || !Number.isFinite(x) ? '-' : x.toFixed(digits);
};
const rec = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const str = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));

/** Shows a change's answer and, with --json, the API's body as it came. */
function changed(json: Record<string, unknown>, line: string): void {
  out(json, () => console.log(json['unchanged'] ? `unchanged: ${str(json['why'])}` : line));
}

// ---- commands ----

async function status(): Promise<void> {
  const s = await api('GET', '/api/status');
  out(s, () => {
    const t = rec(s['trading']);
    const k = rec(s['kill_switch']);
    const b = rec(s['circuit_breaker']);
    const p = rec(s['portfolio']);
    console.log(`trading   ${str(t['state'])}${t['reason'] ? ` (${str(t['reason'])})` : ''}   mode ${str(t['mode'])}`);
    console.log(`kill      ${k['engaged'] ? `ENGAGED: ${str(k['reason'])} (by ${str(k['by'])})` : 'off'}`);
    console.log(`breaker   ${str(b['state'])}${b['cause'] ? ` (${str(b['cause'])})` : ''}`);
    console.log(`router    ${rec(s['router'])['paused'] ? 'PAUSED' : 'running'}`);
    console.log(`VaR       ${n(p['var_pct'], 3)} %   Kelly ${n(p['kelly_fraction'])}${s['kelly_override'] ? ' (override)' : ''}`);
    const alerts = (s['alerts'] as { severity: string; name: string; detail: string }[] | undefined) ?? [];
    console.log(`alerts    ${alerts.length === 0 ? 'none' : ''}`);
    for (const a of alerts) console.log(`  ${a.severity === 'critical' ? '!!' : ' !'} ${a.name}: ${a.detail}`);
    const models = rec(s['active_models']);
    const risk = rec(s['risk']);
    const positions = rec(s['positions']);
    const symbols = [...new Set([...Object.keys(models), ...Object.keys(risk), ...Object.keys(positions)])].sort();
    console.log('');
    printTable(
      symbols.map((sym) => ({
        symbol: sym,
        model: str(rec(models[sym])['model']),
        edge_bps: n(rec(risk[sym])['blended_edge_bps']),
        target_usd: n(rec(risk[sym])['target_position_usd'], 0),
        var_pct: n(rec(risk[sym])['var_pct'], 3),
        qty: n(rec(positions[sym])['qty'], 4),
      })),
      [{ key: 'symbol' }, { key: 'model' }, { key: 'edge_bps', right: true }, { key: 'target_usd', right: true }, { key: 'var_pct', right: true }, { key: 'qty', right: true }],
    );
    const services = rec(s['services']);
    console.log('');
    console.log(
      `services  ${Object.entries(services)
        .map(([name, list]) => `${name} ×${(list as unknown[]).length}`)
        .join('  ')}`,
    );
  });
}

async function positions(): Promise<void> {
  const r = await api('GET', '/api/positions');
  out(r, () => {
    const rows = (r['positions'] as Record<string, unknown>[]).map((p) => ({
      ...p,
      qty: n(p['qty'], 4),
      avg_price: n(p['avg_price']),
      mark: n(p['mark']),
      unrealized_pnl: n(p['unrealized_pnl']),
      realized_pnl: n(p['realized_pnl']),
      fees_usd: n(p['fees_usd']),
    }));
    printTable(rows, [
      { key: 'symbol' },
      { key: 'qty', right: true },
      { key: 'avg_price', right: true },
      { key: 'mark', right: true },
      { key: 'unrealized_pnl', right: true },
      { key: 'realized_pnl', right: true },
      { key: 'fees_usd', right: true },
    ]);
    const t = rec(r['totals']);
    console.log(`\ntotal     unrealized ${n(t['unrealized_pnl'])}  realized ${n(t['realized_pnl'])}  fees ${n(t['fees_usd'])}  gross ${n(t['gross_usd'], 0)} USD`);
  });
}

async function orders(o: { symbol?: string; model?: string; state?: string; limit: string; before?: string }): Promise<void> {
  const q = new URLSearchParams(dropUndefined({ symbol: o.symbol, model: o.model, state: o.state, limit: o.limit, before: o.before }) as Record<string, string>);
  const r = await api('GET', `/api/orders?${q.toString()}`);
  out(r, () => {
    const rows = (r['orders'] as Record<string, unknown>[]).map((x) => ({
      time: new Date(Number(x['created_at'])).toISOString().slice(11, 23),
      id: x['client_order_id'],
      symbol: x['symbol'],
      side: x['side'],
      qty: n(x['qty'], 4),
      state: x['state'],
      filled: n(x['filled_qty'], 4),
      price: n(x['avg_fill_price']),
      fees: n(x['fees_usd']),
      model: x['model'],
      reason: x['reason'],
    }));
    printTable(rows, [
      { key: 'time' },
      { key: 'id' },
      { key: 'symbol' },
      { key: 'side' },
      { key: 'qty', right: true },
      { key: 'state' },
      { key: 'filled', right: true },
      { key: 'price', right: true },
      { key: 'fees', right: true },
      { key: 'model' },
      { key: 'reason' },
    ]);
    if (r['next']) console.log(`\nmore: --before ${str(r['next'])}`);
  });
}

const SWITCH_COLUMNS: Column[] = [{ key: 'time' }, { key: 'symbol' }, { key: 'old_model' }, { key: 'new_model' }, { key: 'reason' }, { key: 'confidence', right: true }];
const switchRow = (e: Record<string, string>): Record<string, unknown> => ({ ...e, time: e['timestamp'] ?? new Date(Number(String(e['id']).split('-')[0])).toISOString() });

async function switchLog(o: { count: string; follow?: boolean }): Promise<void> {
  const r = await api('GET', `/api/switch-log?count=${encodeURIComponent(o.count)}`);
  const entries = [...(r['entries'] as Record<string, string>[])].reverse();
  if (global.json) for (const e of entries) console.log(JSON.stringify(e));
  else printTable(entries.map(switchRow), SWITCH_COLUMNS);
  if (!o.follow) return;
  // Follow on Redis itself (XREAD BLOCK), as the runbook does, from the last entry shown.
  const { redis, shards } = await connect('switch-log');
  const from = entries.at(-1)?.['id'] ?? '$';
  process.on('SIGINT', () => {
    redis.disconnect();
    process.exit(EXIT.ok);
  });
  const { fieldsFromArray } = await import('../core/messages.ts');
  // One blocking read per write shard (its model.switch.log is in its own slot), each on a connection of its own.
  await Promise.all(
    shards.keys.map(async (keys, i) => {
      const conn = i === 0 ? redis : (await connect(`switch-log-s${i}`)).redis;
      let last = from;
      for (;;) {
        const got = await conn.xread('BLOCK', 30_000, 'STREAMS', keys.modelSwitchLog, last);
        for (const [, items] of got ?? [])
          for (const [id, fields] of items) {
            last = id;
            const e: Record<string, string> = { id, ...fieldsFromArray(fields) };
            if (global.json) console.log(JSON.stringify(e));
            else console.log([switchRow(e)['time'], e['symbol'], e['old_model'], '->', e['new_model'], e['reason'], e['confidence']].map(str).join('  '));
          }
      }
    }),
  );
}

async function connect(
  name: string,
  auth = ENV.redisAuth,
): Promise<{ redis: import('../core/redis/connect.ts').RedisClient; keys: import('../core/redis/keys.ts').RedisKeys; shards: import('../core/redis/keys.ts').Shards }> {
  const { connectRedis, shardsFor } = await import('../core/redis/connect.ts');
  const url = ENV.redisUrl;
  const redis = connectRedis({ ...(url ? { url } : {}), auth, name: `ctl:${name}`, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined); // the ping below says it, once
  try {
    await Promise.race([redis.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 3_000))]);
  } catch (err) {
    redis.disconnect();
    throw new CliError(
      `Redis unreachable at ${url ?? 'redis://127.0.0.1:6379'} (${err instanceof Error ? err.message : String(err)}): is \`npm start\` running? Set REDIS_URL.`,
      EXIT.unreachable,
    );
  }
  // The deployment's own shard count (control:shards, recorded by its first service) over TP_SHARDS here.
  const { storedShardCount } = await import('../core/redis/deployment.ts');
  const stored = await storedShardCount(redis, shardsFor(url, ENV.namespace, 1).keys[0]!).catch(() => undefined);
  const shards = shardsFor(url, ENV.namespace, stored ?? ENV.shards);
  return { redis, keys: shards.keys[0]!, shards };
}

async function reload(component: string, configPath: string, o: { force?: boolean; timeout: string }): Promise<void> {
  const { CONFIG_COMPONENTS } = await import('../core/redis/keys.ts');
  const { appliersOf } = await import('../core/redis/acl.ts');
  const known = CONFIG_COMPONENTS.find((c) => c === component);
  if (known === undefined) throw new CliError(`component must be one of ${CONFIG_COMPONENTS.join(', ')}`, EXIT.usage);
  const appliers: readonly string[] = appliersOf(known);
  const { redis, keys } = await connect('reload');
  try {
    const { parseHeartbeats } = await import('../core/heartbeats.ts');
    const { fieldsFromArray } = await import('../core/messages.ts');
    const now = Date.now();
    const live = parseHeartbeats(await redis.zrangebyscore(keys.heartbeats, now - 10_000, '+inf', 'WITHSCORES')).filter((h) => appliers.includes(h.service));
    if (live.length === 0) throw new CliError(`no live ${appliers.join('/')} instance to apply ${component}`, EXIT.unreachable);
    const since = `${now - 1}`;
    const payload = JSON.stringify(dropUndefined({ component, config_path: configPath, force: o.force ? true : undefined }));
    const receivers = await redis.publish(keys.paramReload, payload);
    const waiting = new Set(live.map((h) => h.instance));
    const outcomes: Record<string, string>[] = [];
    const deadline = Date.now() + Number(o.timeout);
    let cursor = since;
    while (waiting.size > 0 && Date.now() < deadline) {
      const got = await redis.xread('BLOCK', 250, 'STREAMS', keys.reloadOutcomes, cursor);
      for (const [, items] of got ?? [])
        for (const [id, fields] of items) {
          cursor = id;
          const f = fieldsFromArray(fields);
          if (f['component'] !== component || !waiting.has(f['instance'] ?? '')) continue;
          waiting.delete(f['instance']!);
          outcomes.push(f);
        }
    }
    const rejected = outcomes.filter((x) => x['status'] === 'rejected');
    const result = { component, config_path: configPath, published_to: receivers, outcomes, missing: [...waiting] };
    out(result, () => {
      printTable(
        outcomes.map((x) => ({ instance: x['instance'], service: x['service'], status: x['status'], detail: x['version'] ?? x['reason'] ?? '' })),
        [{ key: 'instance' }, { key: 'service' }, { key: 'status' }, { key: 'detail' }],
      );
      for (const m of waiting) console.log(`${m}: no outcome within ${o.timeout} ms`);
    });
    if (rejected.length > 0) throw new CliError(`${rejected.length} of ${live.length} replicas rejected the reload: ${rejected[0]!['reason'] ?? ''}`, EXIT.refused);
    if (waiting.size > 0) throw new CliError(`${waiting.size} of ${live.length} replicas did not answer in ${o.timeout} ms`, EXIT.incomplete);
  } finally {
    redis.disconnect();
  }
}

interface ReplayView {
  id: string;
  state: string;
  progress: { sent: number; total: number } | null;
  failed_reason: string | null;
  result?: {
    ticks: { total: number; sent: number };
    orders: { total: number; byState: Record<string, number>; largestNotionalUsd: number; outsideTolerance: number };
    pnl: { realizedUsd: number; unrealizedUsd: number; feesUsd: number; netUsd: number };
    var: { maxPct: number; meanPct: number };
    switches: { total: number };
    triggers: { trading: string; tradingReason: string; killEngaged: boolean; killReason: string; breaker: string };
    deadLetters: number;
    withinTolerance: boolean;
    cancelled: boolean;
  };
}

async function replay(o: { minutes: string; speed: string; csv?: string; wait: boolean; out?: string; status?: string; cancel?: string; reason?: string }): Promise<void> {
  if (o.cancel) {
    const r = await api('DELETE', `/api/replay/${encodeURIComponent(o.cancel)}`);
    return out(r, () => console.log(`replay ${o.cancel}: cancel ${str(r['cancel'])}`));
  }
  let id = o.status;
  if (!id) {
    const r = await api('POST', '/api/replay', { minutes: Number(o.minutes), speed: Number(o.speed), csv: o.csv, reason: o.reason });
    id = str(r['id']);
    if (!global.json) console.error(`replay ${id} queued`);
    if (!o.wait) return out(r, () => console.log(id));
  }
  let v = (await api('GET', `/api/replay/${encodeURIComponent(id)}`)) as unknown as ReplayView;
  while (o.wait && !['completed', 'failed', 'cancelled'].includes(v.state)) {
    if (!global.json && v.progress) process.stderr.write(`\r${v.state} ${v.progress.sent}/${v.progress.total} ticks   `);
    await new Promise((r) => setTimeout(r, 1_000));
    v = (await api('GET', `/api/replay/${encodeURIComponent(id)}`)) as unknown as ReplayView;
  }
  if (!global.json) process.stderr.write('\n');
  if (o.out) {
    mkdirSync(dirname(resolve(o.out)), { recursive: true });
    writeFileSync(o.out, JSON.stringify(v, null, 2) + '\n');
  }
  out(v, () => {
    console.log(`replay ${v.id}: ${v.state}${v.failed_reason ? ` (${v.failed_reason})` : ''}`);
    const r = v.result;
    if (!r) return;
    console.log(`ticks     ${r.ticks.sent} of ${r.ticks.total}`);
    console.log(
      `orders    ${r.orders.total} (${
        Object.entries(r.orders.byState)
          .map(([k, c]) => `${k} ${c}`)
          .join(', ') || 'none'
      }); largest ${n(r.orders.largestNotionalUsd, 0)} USD; ${r.orders.outsideTolerance} outside tolerance`,
    );
    console.log(`PnL       net ${n(r.pnl.netUsd)} USD (realized ${n(r.pnl.realizedUsd)}, unrealized ${n(r.pnl.unrealizedUsd)}, fees ${n(r.pnl.feesUsd)})`);
    console.log(`VaR       max ${n(r.var.maxPct, 3)} %, mean ${n(r.var.meanPct, 3)} %`);
    console.log(`switches  ${r.switches.total}   dead letters ${r.deadLetters}`);
    console.log(
      `controls  trading ${r.triggers.trading}${r.triggers.tradingReason ? ` (${r.triggers.tradingReason})` : ''}, kill ${r.triggers.killEngaged ? `ENGAGED (${r.triggers.killReason})` : 'off'}, breaker ${r.triggers.breaker}`,
    );
    console.log(`verdict   ${r.withinTolerance ? 'within tolerance' : 'OUT OF TOLERANCE'}${o.out ? `; report written to ${o.out}` : ''}`);
  });
  if (v.state === 'failed') throw new CliError(`replay ${v.id} failed: ${v.failed_reason ?? ''}`, EXIT.refused);
  if (v.result && !v.result.withinTolerance) process.exitCode = EXIT.refused;
}

/** A request whose status the caller reads (drills wait for a 503 as much as for a 200). */
async function request(method: string, path: string, body?: Record<string, unknown>): Promise<{ status: number; json: Record<string, unknown> }> {
  try {
    return { status: 200, json: await api(method, path, body) };
  } catch (err) {
    if (!(err instanceof CliError) || err.status === undefined) throw err;
    return { status: err.status, json: { error: err.message } };
  }
}

async function drill(name: string, o: { timeout: string; out?: string }): Promise<void> {
  const { DRILLS, runDrill } = await import('./drills.ts');
  const names = name === 'all' ? Object.keys(DRILLS) : [name];
  for (const n of names) if (!DRILLS[n]) throw new CliError(`no drill ${n}: ${Object.keys(DRILLS).join(', ')} or all`, EXIT.usage);
  const { redis, keys, shards } = await connect('drill');
  const { ControlWriter } = await import('../core/control/write.ts');
  const { createLogger } = await import('../core/log.ts');
  const writer = new ControlWriter({
    redis,
    keys,
    log: createLogger('cli', `drill-${process.pid}`, 'silent'),
    clock: { now: () => Date.now() },
    auditFile: resolve(ROOT, ENV.dataDir, 'state', 'kill_events.jsonl'),
  });
  // The Redis latency drill needs CLIENT KILL: npm start's admin user on its embedded Redis; with
  // REDIS_URL, the tools' own connection (refused, and said so, unless its user may).
  const admin = names.includes('redis-latency') ? (ENV.adminAuth ? (await connect('drill-admin', ENV.adminAuth)).redis : redis) : undefined;
  const results = [];
  try {
    for (const n of names) {
      const r = await runDrill(n, {
        api: request,
        redis,
        keys,
        shards,
        timeoutMs: Number(o.timeout),
        tripBreaker: async (cause) => {
          await writer.moveBreaker({ kind: 'trip', cause }, `drill:${userInfo().username}`);
        },
        kill: (pid) => process.kill(pid, 'SIGKILL'),
        hostname: hostname(),
        root: ENV.configRoot,
        admin,
      });
      results.push(r);
      if (!global.json)
        console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name.padEnd(13)} detect ${r.detect_ms ?? '-'} ms, recover ${r.recover_ms ?? '-'} ms${r.detail ? `  (${r.detail})` : ''}`);
    }
  } finally {
    redis.disconnect();
    if (admin !== redis) admin?.disconnect();
  }
  const report = { at: new Date().toISOString(), results };
  const out = o.out ?? (name === 'all' ? join(ROOT, 'bench', 'results', 'drills.json') : undefined);
  if (out) {
    mkdirSync(dirname(resolve(out)), { recursive: true });
    writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
    if (!global.json) console.log(`report: ${out}`);
  }
  if (global.json) console.log(JSON.stringify(report, null, 2));
  if (results.some((r) => !r.ok)) process.exitCode = EXIT.refused;
}

/**
 * Each write shard: its namespace, its hash slot, its market_events key and the universe's symbols in it.
 * The running deployment's shards (control:shards); without a reachable Redis, the ones TP_SHARDS would make.
 */
async function shardsTable(o: { instruments: string }): Promise<void> {
  const { shardsFor } = await import('../core/redis/connect.ts');
  const { loadInstruments } = await import('../core/config/load.ts');
  const { default: calculateSlot } = await import('cluster-key-slot');
  let shards = shardsFor(ENV.redisUrl, ENV.namespace, ENV.shards);
  try {
    const c = await connect('shards');
    shards = c.shards;
    c.redis.disconnect();
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    console.error(`(${err.message}: the shards TP_SHARDS=${ENV.shards} would make)`);
  }
  const universe = await loadInstruments(o.instruments, ENV.configRoot);
  if (!universe.ok) throw new CliError(universe.reason, EXIT.usage);
  const symbols = Object.keys(universe.config.symbols).sort();
  const rows = shards.keys.map((k, shard) => ({
    shard,
    namespace: k.dataNamespace,
    slot: calculateSlot(k.marketEvents),
    market_events: k.marketEvents,
    symbols: symbols.filter((s) => shards.of(s) === shard).join(','),
  }));
  if (global.json) console.log(JSON.stringify(rows, null, 2));
  else printTable(rows, [{ key: 'shard', right: true }, { key: 'namespace' }, { key: 'slot', right: true }, { key: 'market_events' }, { key: 'symbols' }]);
}

/** The existing tools, run in this process with their own arguments and exit codes. */
async function delegate(script: string, args: string[]): Promise<void> {
  process.argv = [process.argv[0]!, script, ...args];
  await import(resolve(ROOT, 'scripts', script));
}

// ---- the command line ----

export function program(): Command {
  const p = new Command('tpctl')
    .description('Operate the trading control plane (docs/operations.md, "The CLI")')
    .option('--json', 'machine-readable output')
    .option('--token <token>', 'API token (default: $WEB_TOKEN)')
    .showHelpAfterError()
    .exitOverride();
  p.hook('preAction', (cmd) => {
    const o = cmd.opts<{ json?: boolean; token?: string }>();
    global = { json: o.json ?? false, ...(o.token ? { token: o.token } : {}) };
  });
  const scope = new Option('--scope <scope>', 'system | symbol:<SYMBOL> | model:<name>');
  p.command('status').description('trading state, controls, VaR, alerts, symbols, services').action(status);
  p.command('stop')
    .description('stop trading (HALTED, or REDUCING with --reducing)')
    .addOption(scope)
    .option('--reducing', 'only position-reducing orders')
    .option('--reason <text>')
    .option('--operator <name>')
    .action(async (o: { scope?: string; reducing?: boolean; reason?: string; operator?: string }) => {
      const r = await api('POST', '/api/stop-trading', { scope: o.scope, state: o.reducing ? 'REDUCING' : 'HALTED', reason: o.reason, operator: o.operator });
      changed(r, `trading ${str(r['trading'])} on ${str(r['scope'])} (by ${str(r['by'])})`);
    });
  p.command('start')
    .description('start trading again')
    .addOption(scope)
    .option('--reason <text>')
    .option('--operator <name>')
    .action(async (o: { scope?: string; reason?: string; operator?: string }) => {
      const r = await api('POST', '/api/start-trading', { scope: o.scope, reason: o.reason, operator: o.operator });
      changed(r, `trading ${str(r['trading'])} on ${str(r['scope'])} (by ${str(r['by'])})`);
      if (r['kill_switch_engaged'] && !global.json) console.log('the kill switch is still ENGAGED: nothing trades until `reset`');
    });
  p.command('kill')
    .description('engage the kill switch')
    .requiredOption('--reason <text>')
    .addOption(scope)
    .option('--operator <name>')
    .action(async (o: { scope?: string; reason: string; operator?: string }) => {
      const r = await api('POST', '/admin/kill-switch', { scope: o.scope, reason: o.reason, operator: o.operator });
      changed(r, `kill switch ENGAGED on ${str(r['scope'])}: ${o.reason}`);
    });
  p.command('reset')
    .description('reset the kill switch')
    .requiredOption('--reason <text>')
    .addOption(scope)
    .option('--operator <name>')
    .action(async (o: { scope?: string; reason: string; operator?: string }) => {
      const r = await api('DELETE', '/admin/kill-switch', { scope: o.scope, reason: o.reason, operator: o.operator });
      changed(r, `kill switch reset on ${str(r['scope'] ?? 'system')}`);
    });
  p.command('breaker')
    .description('circuit breaker: reset')
    .argument('<action>', 'reset')
    .option('--reason <text>')
    .action(async (action: string, o: { reason?: string }) => {
      if (action !== 'reset') throw new CliError(`breaker ${action}: only "reset"`, EXIT.usage);
      const r = await api('POST', '/api/circuit-breaker/reset', { reason: o.reason });
      changed(r, `breaker ${str(r['state'] ?? 'CLOSED')}`);
    });
  p.command('router')
    .description('model router: pause | resume')
    .argument('<action>', 'pause | resume')
    .option('--reason <text>')
    .action(async (action: string, o: { reason?: string }) => {
      if (action !== 'pause' && action !== 'resume') throw new CliError(`router ${action}: pause or resume`, EXIT.usage);
      const r = await api('POST', `/api/router/${action}`, { reason: o.reason });
      changed(r, `router ${str(r['router'])}`);
    });
  p.command('reload')
    .description("hot-reload a component's config and wait for every live replica's outcome")
    .argument('<component>', 'risk_harmoniser | model_router | instruments')
    .argument('<path>', 'config file, e.g. conf/risk_params.yml')
    .option('--force', 'reload even with portfolio VaR above the reload block')
    .option('--timeout <ms>', 'wait this long for the outcomes', '10000')
    .action(reload);
  p.command('positions').description('positions with PnL and fees').action(positions);
  p.command('orders')
    .description('orders, newest first')
    .option('--symbol <symbol>')
    .option('--model <model>')
    .option('--state <state>')
    .option('--limit <n>', 'page size', '20')
    .option('--before <cursor>', "the previous page's cursor")
    .action(orders);
  p.command('switch-log')
    .description('model switches (oldest first); --follow waits for new ones')
    .option('--count <n>', 'how many', '20')
    .option('--follow', 'keep printing new switches (Ctrl-C to stop)')
    .action(switchLog);
  p.command('shards')
    .description("write shards (TP_SHARDS): each one's key namespace, hash slot and symbols")
    .option('--instruments <path>', 'the universe', 'conf/instruments.yml')
    .action(shardsTable);
  p.command('replay')
    .description('smoke replay: the last N minutes of market data through the pipeline in a namespace of its own (paper venue); waits and prints the report')
    .option('--minutes <n>', 'how much market data', '15')
    .option('--speed <x>', 'pace multiplier (1 = as recorded)', '10')
    .option('--csv <file>', 'a CSV of ticks in the project instead of market_events')
    .option('--no-wait', 'queue it and print its id')
    .option('--out <file>', 'write the report as JSON (e.g. reports/live/<date>/smoke.json)')
    .option('--status <id>', 'show (and with --wait, follow) a replay')
    .option('--cancel <id>', 'cancel a replay')
    .option('--reason <text>')
    .action(replay);
  p.command('drill')
    .description(
      'run a runbook playbook against the running system and time it: kill-switch | router-pause | switch-storm | reload | var-breach | breaker | redis-latency | restart | all',
    )
    .argument('<name>')
    .option('--timeout <ms>', 'give up waiting after', '20000')
    .option('--out <file>', 'write the results as JSON (all: bench/results/drills.json)')
    .action(drill);
  p.command('validate-rules')
    .description('validate a router rules file (exit 0 valid, 1 invalid)')
    .argument('[file]', 'rules file', 'model_router_rules.yml')
    .allowUnknownOption()
    .allowExcessArguments()
    .action((file: string, _o: unknown, cmd: Command) => delegate('validate-router-rules.ts', [file, ...cmd.args.slice(1)]));
  p.command('route-preview')
    .description('which rule and model win for a symbol and horizon')
    .argument('<symbol>')
    .argument('<horizon_ms>')
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption(false)
    .action((_s: string, _h: string, _o: unknown, cmd: Command) => delegate('route-preview.ts', cmd.args));
  p.command('risk-preview')
    .description('what-if sizing: --edge model:bps[:confidence] --price P --vol V [--asset-class C]')
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption(false)
    .action((_o: unknown, cmd: Command) => delegate('risk-preview.ts', cmd.args));
  return p;
}

export async function main(argv: string[]): Promise<number> {
  if (!parsedEnv.ok) {
    console.error(`environment: ${parsedEnv.error}`);
    return EXIT.usage;
  }
  try {
    await program().parseAsync(argv, { from: 'user' });
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (err instanceof CliError) {
      if (global.json) console.log(JSON.stringify({ error: err.message, exit: err.code }));
      console.error(err.message);
      return err.code;
    }
    console.error(err instanceof Error ? err.message : String(err));
    return EXIT.refused;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  process.exitCode = await main(process.argv.slice(2));
}
