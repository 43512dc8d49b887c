/**
 * npm run bench (make test-performance): prints and writes bench/results/latest.json.
 *
 * 1. redis-benchmark ceiling on a fresh redis-server (same run, same machine)
 * 2. breaker propagation: a transition written by one instance until the
 *    last of 3 replicas' order gate shows it
 * 3. domain micro-benchmarks: route selection, one mux step, blend + size,
 *    one VaR update — ns per call; one ONNX inference — µs; reading a
 *    256-tick XRANGE back through ioredis — µs per entry
 * 4. end to end, with the real services as separate processes:
 *    a. drain throughput: a backlog of ticks in market_events, time until
 *       strategist, risk-harmoniser and executor have committed everything
 *    b. fixed rate: the feed at BENCH_RATE ticks/s for BENCH_SECONDS;
 *       tick-to-target latency from each target's stream id (commit time)
 *       minus the newest and the oldest tick it covers; also tick to
 *       market_events (the feed's own share), tick to signal, and the
 *       newest tick's market_events entry to its target (the system's own
 *       share, without the feed's).
 *       BENCH_DUMP=1 writes every entry's latency to
 *       bench/results/latencies-<rate>.csv
 * No pass/fail here: goals are printed next to the figures.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { parseRiskParams, parseRouterRules } from '../services/core/config/parse.ts';
import { blendEdges, blendParamsFrom } from '../services/core/domain/blend-edges.ts';
import { matchRoute } from '../services/core/domain/route-rules.ts';
import { sizePosition } from '../services/core/domain/size-position.ts';
import { initialVol, updateVol } from '../services/core/domain/volatility.ts';
import { decodeSignal, decodeTarget, decodeWith, encodeSignal, encodeTarget, fieldsFromArray, signalSchema, targetSchema } from '../services/core/messages.ts';
import { encodeTick } from '../services/core/domain/market-data.ts';
import { redisKeys, redisKeys as keysFor } from '../services/core/redis/keys.ts';
import type { ControlView } from '../services/core/context.ts';
import { settingsFrom } from '../services/core/settings.ts';
import { ControlWriter } from '../services/core/control/write.ts';
import { createLogger } from '../services/core/log.ts';
import { startService } from '../services/core/service.ts';
import { SyntheticMarket } from '../services/feed/domain/synthetic-market.ts';
import { ALPHAS } from '../services/strategist/domain/alpha-models.ts';
import { horizonFor, initialFeatures, updateFeatures } from '../services/strategist/domain/features.ts';
import { decideSwitch } from '../services/strategist/domain/switching.ts';
import { loadModelRunners, OnnxSessionCache } from '../services/strategist/model-runtime.ts';
import { parseSymbolState, type SymbolState } from '../services/strategist/on-ticks.ts';
import { StateMemo } from '../services/core/state-memo.ts';
import { startRedis, type TestRedis } from '../tests/support/redis-server.ts';
import { SAMPLE_SIGNAL, SAMPLE_TARGET } from '../tests/support/sample-messages.ts';
import { readFileSync } from 'node:fs';

const ROOT = resolve(import.meta.dirname, '..');
const BACKLOG = Number(process.env['BENCH_BACKLOG'] ?? 200_000);
const RATES = (process.env['BENCH_RATES'] ?? '1000,10000').split(',').map(Number);
const RSS_TICKS = Number(process.env['BENCH_RSS_TICKS'] ?? 1_000_000);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function nsPerCall(fn: (i: number) => unknown, iterations: number): number {
  for (let i = 0; i < Math.min(iterations, 100_000); i++) fn(i); // warm up
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink += fn(i) ? 1 : 0;
  const ns = Number(process.hrtime.bigint() - t0) / iterations;
  if (sink < 0) console.log(sink);
  return ns;
}

function redisBenchmark(port: number): Record<string, number> {
  const run = (args: string[]): Record<string, number> => {
    const out = execFileSync('redis-benchmark', ['-p', String(port), '-q', '-c', '50', '-n', '200000', ...args], { encoding: 'utf8' });
    const res: Record<string, number> = {};
    for (const line of out.split(/\r|\n/)) {
      const m = /^([A-Z]+)[^:]*:\s*([\d.]+) requests per second/.exec(line.trim());
      if (m) res[m[1]!] = Number(m[2]);
    }
    return res;
  };
  const plain = run(['-t', 'set,get']);
  const piped = run(['-t', 'set,get', '-P', '16']);
  const xadd = Number(
    /([\d.]+) requests per second/.exec(
      execFileSync('redis-benchmark', ['-p', String(port), '-q', '-c', '50', '-n', '200000', '-P', '16', 'XADD', 'bench:stream', 'MAXLEN', '~', '100000', '*', 'f', 'v'], {
        encoding: 'utf8',
      }),
    )?.[1] ?? 0,
  );
  return {
    set_per_s: plain['SET'] ?? 0,
    get_per_s: plain['GET'] ?? 0,
    set_pipelined16_per_s: piped['SET'] ?? 0,
    get_pipelined16_per_s: piped['GET'] ?? 0,
    xadd_pipelined16_per_s: xadd,
  };
}

function micro(): Record<string, number> {
  const rules = parseRouterRules(readFileSync(join(ROOT, 'model_router_rules.yml'), 'utf8'));
  const risk = parseRiskParams(readFileSync(join(ROOT, 'conf/risk_params.yml'), 'utf8'));
  if (!rules.ok || !risk.ok) throw new Error('config');
  const compiled = rules.config.compiled;
  const classes = ['crypto', 'us_stock', 'fx', 'crypto_perp'];
  const route = nsPerCall((i) => matchRoute(compiled, classes[i & 3]!, (i * 7919) % 200_000), 2_000_000);

  const market = new SyntheticMarket({ seed: 1 });
  const ticks = Array.from({ length: 4_096 }, (_, i) => market.next(i));
  const f = initialFeatures();
  const routing = { active: 'obi' as string | null, since: 0, reason: '', ruleIndex: 0 };
  const cfg = rules.config.config;
  const mux = nsPerCall((i) => {
    updateFeatures(f, ticks[i & 4095]!);
    const h = horizonFor(f, 30_000);
    const d = matchRoute(compiled, 'crypto', h);
    const a = ALPHAS.obi(f);
    const b = ALPHAS.momentum(f);
    return decideSwitch(routing, {
      preferred: d.model,
      ruleIndex: d.ruleIndex,
      defaultModel: cfg.default_model,
      confidence: (m) => (m === 'obi' ? a.confidence : b.confidence),
      health: () => ({ ok: true }),
      minConfidence: 0.55,
      hysteresis: 0.05,
      minDwellMs: 30_000,
      paused: false,
      marketOpen: true,
      marketHoursOnly: false,
      now: i,
    });
  }, 1_000_000);

  const rc = risk.config;
  const bp = blendParamsFrom(rc.edge_blending);
  const edges = [
    { model: 'obi', edgeBps: 1.2, confidence: 0.7 },
    { model: 'momentum', edgeBps: -0.4, confidence: 0.6 },
    { model: 'vol_breakout', edgeBps: 3, confidence: 0.9 },
  ];
  const blendSize = nsPerCall((i) => {
    const b = blendEdges(edges, bp, { activeModel: 'obi', activeSince: 0, now: i + 100_000 });
    return sizePosition({
      edgeBps: b.edgeBps,
      dailyVol: 0.03,
      horizonMs: 30_000,
      price: 65_000,
      portfolioUsd: 1e6,
      kellyFraction: 0.25,
      maxLeverage: 2,
      maxPositionPct: 0.1,
      varTargetPct: 1.5,
    }).targetUsd;
  }, 1_000_000);
  const vol = initialVol(3, 86_400);
  const varUpdate = nsPerCall((i) => updateVol(vol, 100 + (i & 7) * 0.01, i * 10, 0.94).variancePerSec, 2_000_000);
  // One strategy_signals entry and one order_intents entry decoded: through the zod schema (before) and the hot-path check (after).
  // (Three confident predictions, as in the figures docs/benchmarks.md reports; a target that moves the position.)
  const signalFields = encodeSignal({
    ...SAMPLE_SIGNAL,
    predictions: ['obi', 'momentum', 'mean_reversion'].map((model) => ({ model, edge_bps: 1.5, confidence: 0.7, horizon_ms: 30_000, ts: 1_764_000_000_000 })),
  });
  const targetFields = encodeTarget({ ...SAMPLE_TARGET, symbol: 'BTC-USD', price: 65_000, action: 'target' });
  // A strategist's per-symbol state at a batch's start: decoded from its JSON (parse + schema, before) or taken back from the memo (after).
  const st = parseSymbolState(null);
  for (let i = 0; i < 100; i++) updateFeatures(st.features, ticks[i]!);
  const stJson = JSON.stringify(st);
  const memo = new StateMemo<SymbolState>();
  return {
    route_ns: route,
    mux_step_ns: mux,
    blend_plus_size_ns: blendSize,
    var_update_ns: varUpdate,
    decode_signal_zod_ns: nsPerCall(() => decodeWith(signalSchema, signalFields), 200_000),
    decode_signal_ns: nsPerCall(() => decodeSignal(signalFields), 200_000),
    decode_target_zod_ns: nsPerCall(() => decodeWith(targetSchema, targetFields), 200_000),
    decode_target_ns: nsPerCall(() => decodeTarget(targetFields), 200_000),
    decode_strategist_state_ns: nsPerCall(() => parseSymbolState(stJson), 200_000),
    memo_strategist_state_ns: nsPerCall(() => {
      const v = memo.take('k', stJson, parseSymbolState);
      memo.keep('k', stJson, v);
      return v;
    }, 1_000_000),
  };
}

/** BENCH_PROFILE=<service>: run that service with --cpu-prof into bench/results/profiles/. */
function spawnOne(name: string, env: Record<string, string>): ChildProcess {
  const profile = process.env['BENCH_PROFILE'] === name ? ['--cpu-prof', '--cpu-prof-dir', join(ROOT, 'bench', 'results', 'profiles')] : [];
  const flags = (process.env['BENCH_NODE_FLAGS'] ?? '').split(' ').filter(Boolean);
  // As npm start runs them: compiled (.build/, scripts/build.mjs); BENCH_RUNTIME=tsx for the sources through the loader.
  const entry = process.env['BENCH_RUNTIME'] === 'tsx' ? ['--import', 'tsx', `services/${name}/main.ts`] : [`.build/services/${name}/main.js`];
  return spawn(process.execPath, [...flags, ...profile, ...entry], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', METRICS_PORT: '-1', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function groupDrained(r: Redis | import('ioredis').Cluster, stream: string): Promise<boolean> {
  const groups = (await r.xinfo('GROUPS', stream).catch(() => [])) as unknown[][];
  if (groups.length === 0) return false;
  return groups.every((g) => {
    const f = fieldsFromArray(g.map(String));
    return f['pending'] === '0' && f['lag'] === '0';
  });
}

/** Wait for `n` services' heartbeats; a bench never measures services that did not start. */
async function beating(r: Redis, keys: ReturnType<typeof redisKeys>, n: number): Promise<void> {
  if (!(await waitFor(async () => (await r.zcard(keys.heartbeats)) >= n, 60_000))) throw new Error(`${n} services did not start (run one by hand to see why)`);
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

/**
 * The end-to-end figures with the services reading their config from `root`
 * (a project copy for a variant, or the project), namespaces prefixed
 * `label`; the RSS phase only when `rss`.
 */
async function endToEnd(redis: TestRedis, o: { root: string; label: string; rss: boolean; layout: 'split' | 'single' }): Promise<Record<string, unknown>> {
  const r = new Redis(redis.url);
  const result: Record<string, unknown> = {};
  const services = ['risk-harmoniser', 'executor', 'strategist'];
  const spawnService = (name: string, env: Record<string, string>): ChildProcess =>
    spawnOne(name, { TP_ROOT: o.root, ...env, TP_NAMESPACE: `${o.label}${env['TP_NAMESPACE'] ?? ''}` });
  const redisKeys = (ns: string): ReturnType<typeof keysFor> => keysFor(`${o.label}${ns}`);
  // The processors (strategist, risk-harmoniser, executor): a process each (split), or one process (single).
  const processNames = o.layout === 'single' ? ['pipeline'] : services;
  const processors = (env: Record<string, string>): ChildProcess[] =>
    o.layout === 'single' ? [spawnService('pipeline', { ...env, PIPELINE_SERVICES: 'executor,risk-harmoniser,strategist' })] : services.map((s) => spawnService(s, env));

  // a. drain throughput
  {
    const ns = 'bench-drain:';
    const keys = redisKeys(ns);
    const market = new SyntheticMarket({ seed: 9, secondsPerTick: 3 / 5_000 });
    const t0 = Date.now();
    for (let sent = 0; sent < BACKLOG; sent += 1_000) {
      const p = r.pipeline();
      for (let i = 0; i < 1_000; i++) p.xadd(keys.marketEvents, '*', ...encodeTick(market.next(t0 + Math.floor((sent + i) / 5))));
      await p.exec();
    }
    for (const s of ['BTC-USD', 'ETH-USD', 'AAPL']) await r.hset(keys.lastTick(s), ...encodeTick(market.next(Date.now())));
    const children = processors({ REDIS_URL: redis.url, TP_NAMESPACE: ns });
    await beating(r, keys, 3);
    const start = performance.now();
    const ok = await waitFor(
      async () => (await groupDrained(r, keys.marketEvents)) && (await groupDrained(r, keys.strategySignals)) && (await groupDrained(r, keys.orderIntents)),
      300_000,
    );
    const secs = (performance.now() - start) / 1000;
    result['drain_ticks'] = BACKLOG;
    result['drain_seconds'] = +secs.toFixed(3);
    result['drain_ticks_per_s'] = ok ? Math.round(BACKLOG / secs) : 'timeout';
    children.forEach((c) => c.kill('SIGTERM'));
    await Promise.all(children.map((c) => new Promise((res) => c.once('exit', res))));
  }

  // c. memory over RSS_TICKS ticks: backlogs of 100,000 drained one after another; each service's RSS after each.
  if (o.rss && RSS_TICKS > 0) {
    const ns = 'bench-rss:';
    const keys = redisKeys(ns);
    const market = new SyntheticMarket({ seed: 11, secondsPerTick: 3 / 5_000 });
    for (const s of ['BTC-USD', 'ETH-USD', 'AAPL']) await r.hset(keys.lastTick(s), ...encodeTick(market.next(Date.now())));
    const children = processors({ REDIS_URL: redis.url, TP_NAMESPACE: ns });
    await beating(r, keys, 3);
    const series: Record<string, number[]> = Object.fromEntries(processNames.map((s) => [s, []]));
    const chunk = 100_000;
    for (let done = 0; done < RSS_TICKS; done += chunk) {
      const t0 = Date.now();
      for (let sent = 0; sent < chunk; sent += 1_000) {
        const p = r.pipeline();
        for (let i = 0; i < 1_000; i++) p.xadd(keys.marketEvents, '*', ...encodeTick(market.next(t0 + Math.floor((sent + i) / 5))));
        await p.exec();
      }
      await waitFor(async () => (await groupDrained(r, keys.marketEvents)) && (await groupDrained(r, keys.strategySignals)) && (await groupDrained(r, keys.orderIntents)), 300_000);
      processNames.forEach((s, i) => series[s]!.push(rssMb(children[i]!.pid)));
      // Everything is acknowledged: keep Redis' memory flat too.
      for (const stream of [keys.marketEvents, keys.strategySignals, keys.orderIntents]) await r.xtrim(stream, 'MAXLEN', 0);
    }
    const rss: Record<string, unknown> = { ticks: RSS_TICKS, sampled_every_ticks: chunk };
    for (const s of processNames) {
      const v = series[s]!;
      // Flat: the last reading against the first (after the first 100,000 ticks, once warm).
      rss[s] = { mb: v, max_mb: Math.max(...v), drift_pct: +((100 * (v[v.length - 1]! - v[0]!)) / v[0]!).toFixed(1) };
    }
    result['rss'] = rss;
    children.forEach((c) => c.kill('SIGTERM'));
    await Promise.all(children.map((c) => new Promise((res) => c.once('exit', res))));
  }

  // b. fixed rates, tick-to-target latency
  for (const RATE of RATES) {
    const ns = `bench-rate-${RATE}:`;
    const keys = redisKeys(ns);
    const children = processors({ REDIS_URL: redis.url, TP_NAMESPACE: ns });
    await beating(r, keys, 3);
    const total = RATE * SECONDS;
    const feed = spawnService('feed', { REDIS_URL: redis.url, TP_NAMESPACE: ns, FEED_RATE: String(RATE), FEED_MAX_TICKS: String(total) });
    const t0 = performance.now();
    await waitFor(async () => (await r.xlen(keys.marketEvents)) >= total, (SECONDS + 30) * 1000);
    await waitFor(async () => (await groupDrained(r, keys.marketEvents)) && (await groupDrained(r, keys.strategySignals)), 60_000);
    const drainedSeconds = (performance.now() - t0) / 1000;
    const entries = (await r.xrange(keys.orderIntents, '-', '+')) as [string, string[]][];
    const newest: number[] = [];
    const oldest: number[] = [];
    for (const [id, fields] of entries) {
      const f = fieldsFromArray(fields);
      const committed = Number(id.split('-')[0]);
      newest.push(committed - Number(f['tick_ts']));
      oldest.push(committed - Number(f['first_tick_ts']));
    }
    const signals = (await r.xrange(keys.strategySignals, '-', '+')) as [string, string[]][];
    const ticks = (await r.xrange(keys.marketEvents, '-', '+')) as [string, string[]][];
    // Per entry: when it was committed (its stream id) and how long after its tick's timestamp.
    const stage = (kind: string, list: [string, string[]][], field: string) =>
      list.map(([id, fields]) => {
        const committed = Number(id.split('-')[0]);
        return { kind, committed, latency: committed - Number(fieldsFromArray(fields)[field]) };
      });
    const published = stage('tick', ticks, 'ts');
    const signalled = stage('signal', signals, 'tick_ts');
    if (process.env['BENCH_DUMP']) {
      // To see whether the tail clusters in time (periodic work, warm-up) or scatters (scheduling).
      const rows = [...published, ...signalled, ...stage('target', entries, 'tick_ts')].map((e) => `${e.kind},${e.committed},${e.latency}`);
      mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
      writeFileSync(join(ROOT, 'bench', 'results', `latencies-${RATE}.csv`), `kind,committed_ms,latency_ms\n${rows.join('\n')}\n`);
    }
    // The system's own share: from the newest tick's market_events entry (when Redis took it from the feed) to its target's commit.
    const tickIdOfSignal = new Map(signals.map(([id, fields]) => [id, fieldsFromArray(fields)['tick_id'] ?? '']));
    const streamToTarget = entries
      .map(([id, fields]) => Number(id.split('-')[0]) - Number((tickIdOfSignal.get(fieldsFromArray(fields)['signal_id'] ?? '') ?? 'NaN').split('-')[0]))
      .filter((v) => Number.isFinite(v))
      .sort((a, b) => a - b);
    const tickToStream = published.map((e) => e.latency).sort((a, b) => a - b);
    const tickToSignal = signalled.map((e) => e.latency).sort((a, b) => a - b);
    newest.sort((a, b) => a - b);
    oldest.sort((a, b) => a - b);
    // From the first tick's stream id to the last signal's: ticks through the strategist per second.
    const firstTick = published[0]!.committed;
    const lastTick = published[published.length - 1]!.committed;
    const lastSignal = signalled[signalled.length - 1]!.committed;
    result[`rate_${RATE}`] = {
      ticks: total,
      feed_ticks_per_s: Math.round(total / ((lastTick - firstTick) / 1000)),
      processed_ticks_per_s: Math.round(total / ((lastSignal - firstTick) / 1000)),
      backlog_after_feed_ms: lastSignal - lastTick,
      wall_seconds: +drainedSeconds.toFixed(2),
      signals: signals.length,
      targets: entries.length,
      exec_reports: await r.xlen(keys.execReports),
      tick_to_stream_p50_ms: quantile(tickToStream, 0.5),
      tick_to_stream_p99_ms: quantile(tickToStream, 0.99),
      tick_to_signal_p50_ms: quantile(tickToSignal, 0.5),
      tick_to_signal_p99_ms: quantile(tickToSignal, 0.99),
      tick_to_target_newest_p50_ms: quantile(newest, 0.5),
      tick_to_target_newest_p99_ms: quantile(newest, 0.99),
      tick_to_target_oldest_p50_ms: quantile(oldest, 0.5),
      tick_to_target_oldest_p99_ms: quantile(oldest, 0.99),
      stream_to_target_p50_ms: quantile(streamToTarget, 0.5),
      stream_to_target_p99_ms: quantile(streamToTarget, 0.99),
    };
    (result[`rate_${RATE}`] as Record<string, unknown>)['rss_mb'] = Object.fromEntries([...processNames, 'feed'].map((s, i) => [s, rssMb([...children, feed][i]!.pid)]));
    for (const c of [...children, feed]) c.kill('SIGTERM');
    await Promise.all([...children, feed].map((c) => new Promise((res) => (c.exitCode !== null ? res(null) : c.once('exit', res)))));
  }
  r.disconnect();
  return result;
}

/**
 * From a control change written by one instance to the last of N replicas
 * whose snapshot (the order gate) shows it: breaker transitions and kill
 * switch engage/reset, alternating.
 */
async function controlPropagation(redis: TestRedis, replicas = 3, rounds = 300): Promise<Record<string, number>> {
  const ns = 'bench-breaker:';
  const watchers: ControlView[] = [];
  const handles = [];
  for (let i = 0; i < replicas; i++) {
    handles.push(
      await startService(
        'executor',
        async (ctx) => {
          watchers.push(ctx.control);
          return { stop: async () => undefined };
        },
        { settings: settingsFrom({ LOG_LEVEL: 'warn' }), redisUrl: redis.url, namespace: ns, metricsPort: -1, instance: `bench-exec-${i}` },
      ),
    );
  }
  const writer = new Redis(redis.url);
  const keys = redisKeys(ns);
  const control = new ControlWriter({
    redis: writer,
    keys,
    log: createLogger('bench', 'bench', 'silent'),
    clock: { now: () => Date.now() },
    auditFile: join(ROOT, '.data', 'bench-kill_events.jsonl'),
  });
  const measure = async (write: (i: number) => Promise<unknown>, seenBy: (i: number, c: ControlView['snapshot']) => boolean): Promise<number[]> => {
    const samples: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const seen = watchers.map(
        (w) =>
          new Promise<number>((resolve) => {
            const off = w.onChange((next) => {
              if (!seenBy(i, next)) return;
              off();
              resolve(performance.now());
            });
          }),
      );
      const t0 = performance.now();
      await write(i);
      const times = await Promise.all(seen);
      samples.push(Math.max(...times) - t0);
    }
    return samples.sort((a, b) => a - b);
  };
  const breaker = await measure(
    (i) => control.moveBreaker({ kind: 'force', to: i % 2 === 0 ? 'OPEN' : 'CLOSED', cause: 'bench' }, 'bench'),
    (i, c) => c.breaker.state === (i % 2 === 0 ? 'OPEN' : 'CLOSED'),
  );
  const kill = await measure(
    (i) => control.killSwitch(i % 2 === 0 ? 'engage' : 'reset', { reason: 'bench', by: 'bench', trigger: 'manual' }),
    (i, c) => c.killSwitch.engaged === (i % 2 === 0),
  );
  writer.disconnect();
  for (const h of handles) await h.stop();
  const all = [...breaker, ...kill].sort((a, b) => a - b);
  const r3 = (x: number): number => +x.toFixed(3);
  return {
    replicas,
    rounds,
    p50_ms: r3(quantile(breaker, 0.5)),
    p99_ms: r3(quantile(breaker, 0.99)),
    max_ms: r3(breaker[breaker.length - 1]!),
    kill_p50_ms: r3(quantile(kill, 0.5)),
    kill_p99_ms: r3(quantile(kill, 0.99)),
    kill_max_ms: r3(kill[kill.length - 1]!),
    both_p99_ms: r3(quantile(all, 0.99)),
  };
}

/** A copy of the project's config files in a temporary root (the benches change them there, never here). */
async function projectCopy(label: string): Promise<string> {
  const { mkdtempSync, cpSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const root = mkdtempSync(join(tmpdir(), `tp-bench-${label}-`));
  cpSync(join(ROOT, 'conf'), join(root, 'conf'), { recursive: true });
  cpSync(join(ROOT, 'models'), join(root, 'models'), { recursive: true });
  cpSync(join(ROOT, 'model_router_rules.yml'), join(root, 'model_router_rules.yml'));
  return root;
}

/**
 * A valid param.reload applied on every replica: REPLICAS (4) strategists
 * (model_router) and as many risk-harmonisers (risk_harmoniser), each its
 * own process; ROUNDS per component alternate two valid files (they differ
 * in a comment, so each is a new version). From the PUBLISH to the last
 * replica's outcome on param.reload.outcomes (its stream id: when it was
 * recorded, after the swap), ms.
 */
async function reloadPropagation(redis: TestRedis, replicas = 4, rounds = 50): Promise<Record<string, unknown>> {
  const root = await projectCopy('reload');
  const ns = 'bench-reload:';
  const keys = redisKeys(ns);
  const r = new Redis(redis.url);
  const files = {
    model_router: ['model_router_rules.yml', 'conf/bench-rules-b.yml'],
    risk_harmoniser: ['conf/risk_params.yml', 'conf/bench-risk-b.yml'],
  } as const;
  writeFileSync(join(root, files.model_router[1]), `${readFileSync(join(root, files.model_router[0]), 'utf8')}\n# bench variant\n`);
  writeFileSync(join(root, files.risk_harmoniser[1]), `${readFileSync(join(root, files.risk_harmoniser[0]), 'utf8')}\n# bench variant\n`);
  const children = (['strategist', 'risk-harmoniser'] as const).flatMap((s) =>
    Array.from({ length: replicas }, (_, i) => spawnOne(s, { REDIS_URL: redis.url, TP_NAMESPACE: ns, TP_ROOT: root, INSTANCE_ID: `bench-${s}-${i}` })),
  );
  const out: Record<string, unknown> = { replicas };
  try {
    await waitFor(async () => (await r.zcard(keys.heartbeats)) >= 2 * replicas, 60_000);
    const all: number[] = [];
    for (const component of ['model_router', 'risk_harmoniser'] as const) {
      const samples: number[] = [];
      for (let i = 0; i < rounds; i++) {
        const since = ((await r.xrevrange(keys.reloadOutcomes, '+', '-', 'COUNT', 1)) as [string, string[]][])[0]?.[0] ?? '0-0';
        const t0 = Date.now();
        await r.publish(keys.paramReload, JSON.stringify({ component, config_path: files[component][(i + 1) % 2], force: true }));
        const seen = new Map<string, number>();
        let cursor = since;
        const deadline = Date.now() + 10_000;
        while (seen.size < replicas && Date.now() < deadline) {
          const got = await r.xread('BLOCK', 1_000, 'STREAMS', keys.reloadOutcomes, cursor);
          for (const [, items] of got ?? [])
            for (const [id, fields] of items) {
              cursor = id;
              const f = fieldsFromArray(fields);
              if (f['component'] === component && f['status'] === 'applied' && f['instance']) seen.set(f['instance'], Number(id.split('-')[0]));
            }
        }
        if (seen.size === replicas) samples.push(Math.max(...seen.values()) - t0);
      }
      samples.sort((a, b) => a - b);
      all.push(...samples);
      out[component] = { rounds, applied_by_all: samples.length, p50_ms: quantile(samples, 0.5), p99_ms: quantile(samples, 0.99), max_ms: samples[samples.length - 1] };
    }
    all.sort((a, b) => a - b);
    out['p99_ms'] = quantile(all, 0.99);
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((res) => (c.exitCode !== null ? res(null) : c.once('exit', res)))));
    r.disconnect();
  }
  return out;
}

/**
 * Symbols whose shards (CRC16 of the name) split evenly: 6 + 6 over two shards and 4 + 4 + 4 over three,
 * so the 1-, 2- and 3-shard runs carry the same book and only the split differs.
 */
const SHARD_BENCH_SYMBOLS = ['BTC-USD', 'DOGE-USD', 'ETC-USD', 'HBAR-USD', 'XRP-USD', 'LTC-USD', 'ETH-USD', 'SOL-USD', 'ADA-USD', 'DOT-USD', 'UNI-USD', 'APT-USD'];

async function entriesLength(r: import('ioredis').Cluster, streams: readonly string[]): Promise<number> {
  let n = 0;
  for (const st of streams) n += await r.xlen(st);
  return n;
}

/** CPU seconds a process has used (utime + stime from /proc/<pid>/stat, at 100 ticks/s). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds a Redis server has used (INFO cpu: used_cpu_user + used_cpu_sys). */
async function redisCpuSeconds(port: number): Promise<number> {
  const r = new Redis(port, '127.0.0.1');
  try {
    const info = await r.info('cpu');
    const v = (k: string): number => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? Number.NaN);
    return v('used_cpu_user') + v('used_cpu_sys');
  } finally {
    r.disconnect();
  }
}

/**
 * Item 5 of issue #17: the drain of one backlog through 1, 2 and 3 write shards on a local 3-master
 * Cluster, one pipeline process per shard (TP_SHARD=i: strategist, risk harmoniser and executor of
 * that shard), with each master's and each process's CPU over the drain. On this 2-core machine the
 * shards share two cores; the per-tick costs measured here feed the scale model (docs/benchmarks.md).
 */
async function shardScale(backlog = Number(process.env['BENCH_SHARD_BACKLOG'] ?? 120_000)): Promise<Record<string, unknown>> {
  const { startRedisCluster } = await import('../tests/support/redis-server.ts');
  const { Cluster } = await import('ioredis');
  const { shardedKeys } = await import('../services/core/redis/keys.ts');
  const cluster = await startRedisCluster(3);
  const root = await projectCopy('shards');
  const universe = SHARD_BENCH_SYMBOLS.map(
    (s, i) =>
      `    ${s}:\n      asset_class: crypto\n      exchange: PAPER\n      tick_size: 0.0001\n      lot_size: 0.0001\n      market_hours: "24x7"\n      synthetic: { price: ${(10 + 7 * i).toFixed(2)}, daily_vol_pct: 3.0, spread_bps: 1.0 }`,
  );
  const instruments = readFileSync(join(root, 'conf/instruments.yml'), 'utf8');
  writeFileSync(join(root, 'conf/instruments.yml'), instruments.replace(/ {2}symbols:\n[\s\S]*?\n\n/, `  symbols:\n${universe.join('\n')}\n\n`));
  const specs = SHARD_BENCH_SYMBOLS.map((symbol, i) => ({
    symbol,
    assetClass: 'crypto',
    exchange: 'PAPER',
    price: 10 + 7 * i,
    dailyVol: 0.03,
    tickSize: 0.0001,
    lotSize: 0.0001,
    spreadBps: 1,
    marketHours: '24x7',
  }));
  const out: Record<string, unknown> = { backlog, symbols: SHARD_BENCH_SYMBOLS.length, masters: 3, cpus: (await import('node:os')).cpus().length };
  const masters = cluster.nodes().filter((n) => n.role === 'master');
  try {
    for (const count of [1, 2, 3]) {
      const ns = `{bench-sh${count}}`;
      const shards = shardedKeys(ns, ns, count);
      const r = new Cluster([{ host: '127.0.0.1', port: cluster.ports[0]! }]);
      const market = new SyntheticMarket({ seed: 13, instruments: specs, secondsPerTick: SHARD_BENCH_SYMBOLS.length / 5_000 });
      const t0 = Date.now();
      const perShard = shards.keys.map(() => 0);
      for (let sent = 0; sent < backlog; sent += 1_000) {
        const pipes = shards.keys.map(() => r.pipeline());
        for (let i = 0; i < 1_000; i++) {
          const tick = market.next(t0 + Math.floor((sent + i) / 5));
          const shard = shards.of(tick.symbol);
          perShard[shard]!++;
          pipes[shard]!.xadd(shards.keys[shard]!.marketEvents, '*', ...encodeTick(tick));
        }
        await Promise.all(pipes.map((p) => p.exec()));
      }
      for (const s of SHARD_BENCH_SYMBOLS) await r.hset(shards.keysOf(s).lastTick(s), ...encodeTick(market.next(Date.now())));
      const children = shards.keys.map((_, i) =>
        spawnOne('pipeline', {
          TP_ROOT: root,
          REDIS_URL: cluster.url,
          TP_NAMESPACE: ns,
          TP_SHARDS: String(count),
          TP_SHARD: String(i),
          PIPELINE_SERVICES: 'executor,risk-harmoniser,strategist',
        }),
      );
      if (!(await waitFor(async () => (await r.zcard(shards.keys[0]!.heartbeats)) >= 3 * count, 60_000))) throw new Error(`${3 * count} shard units did not start`);
      // Ticks the strategist units have counted into their symbols' state (what entries-read says, when Redis knows it).
      const entriesRead = async (): Promise<number> => {
        let n = 0;
        for (const s of SHARD_BENCH_SYMBOLS) n += (JSON.parse((await r.get(shards.keysOf(s).strategistState(s))) ?? '{}') as { ticks?: number }).ticks ?? 0;
        return n;
      };
      const cpu0 = await Promise.all(masters.map((m) => redisCpuSeconds(m.port)));
      const node0 = children.map((c) => cpuSeconds(c.pid));
      const read0 = await entriesRead();
      const start = performance.now();
      const drained = async (): Promise<boolean> => {
        for (const k of shards.keys) for (const stream of [k.marketEvents, k.strategySignals, k.orderIntents]) if (!(await groupDrained(r, stream))) return false;
        return true;
      };
      const ok = await waitFor(drained, 300_000);
      const secs = (performance.now() - start) / 1000;
      const cpu1 = await Promise.all(masters.map((m) => redisCpuSeconds(m.port)));
      const node1 = children.map((c) => cpuSeconds(c.pid));
      const ticks = backlog - read0;
      const slotOwner = async (key: string): Promise<number> => {
        const slot = Number(await r.cluster('KEYSLOT', key));
        return masters.findIndex((m) => m.slots.some(([a, b]) => slot >= a && slot <= b));
      };
      const redisCpu = masters.map((m, i) => +(cpu1[i]! - cpu0[i]!).toFixed(2));
      const nodeCpu = children.map((_, i) => +(node1[i]! - node0[i]!).toFixed(2));
      out[`shards_${count}`] = {
        ticks_timed: ticks,
        ticks_per_shard: perShard,
        seconds: +secs.toFixed(2),
        ticks_per_s: ok ? Math.round(ticks / secs) : 'timeout',
        master_of_shard: await Promise.all(shards.keys.map((k) => slotOwner(k.marketEvents))),
        master_of_control: await slotOwner(shards.keys[0]!.killSwitch),
        master_cpu_seconds: redisCpu,
        master_cpu_pct_of_core: redisCpu.map((c) => Math.round((100 * c) / secs)),
        pipeline_cpu_seconds: nodeCpu,
        redis_cpu_us_per_tick: +((1e6 * redisCpu.reduce((a, b) => a + b, 0)) / ticks).toFixed(1),
        node_cpu_us_per_tick: +((1e6 * nodeCpu.reduce((a, b) => a + b, 0)) / ticks).toFixed(1),
      };
      console.error(`shards ${count}: ${JSON.stringify(out[`shards_${count}`])}`);
      children.forEach((c) => c.kill('SIGTERM'));
      await Promise.all(children.map((c) => new Promise((res) => (c.exitCode !== null ? res(null) : c.once('exit', res)))));
      if (count === 3) {
        // The feed alone, writing every shard: what one feed process costs per tick (its ceiling in the scale model).
        const feedTicks = 100_000;
        const before = await entriesLength(
          r,
          shards.keys.map((k) => k.marketEvents),
        );
        const feed = spawnOne('feed', {
          TP_ROOT: root,
          REDIS_URL: cluster.url,
          TP_NAMESPACE: ns,
          TP_SHARDS: String(count),
          FEED_RATE: '50000',
          FEED_MAX_TICKS: String(feedTicks),
          FEED_STREAM_MAXLEN: '1000000',
        });
        // Timed from its first tick (not its start-up): ticks written and CPU used from then on.
        const length = (): Promise<number> =>
          entriesLength(
            r,
            shards.keys.map((k) => k.marketEvents),
          );
        await waitFor(async () => (await length()) > before, 60_000);
        const f0 = performance.now();
        const cpu0 = cpuSeconds(feed.pid);
        const n0 = await length();
        await waitFor(async () => (await length()) >= before + feedTicks, 120_000);
        const feedSecs = (performance.now() - f0) / 1000;
        const feedCpu = cpuSeconds(feed.pid) - cpu0;
        const timed = before + feedTicks - n0;
        out['feed'] = { ticks: timed, offered_rate: 50_000, ticks_per_s: Math.round(timed / feedSecs), cpu_us_per_tick: +((1e6 * feedCpu) / timed).toFixed(1) };
        feed.kill('SIGTERM');
        await new Promise((res) => (feed.exitCode !== null ? res(null) : feed.once('exit', res)));
      }
      r.disconnect();
    }
  } finally {
    await cluster.stop();
  }
  return out;
}

/** Resident set size of a process, MB (Linux /proc). */
function rssMb(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** One ONNX inference through the strategist's runner (linear_alpha.onnx), µs per call. */
async function onnxInference(): Promise<Record<string, number>> {
  const sessions = new OnnxSessionCache();
  const loaded = await loadModelRunners(
    { linear_alpha: { kind: 'onnx', path: 'models/linear_alpha.onnx', input: 'features', outputs: { edge_bps: 'edge_bps', confidence: 'confidence' }, max_latency_ms: 5 } },
    ROOT,
    sessions,
  );
  if (!loaded.ok) throw new Error(loaded.errors.join('; '));
  const runner = loaded.runners.get('linear_alpha')!;
  const market = new SyntheticMarket({ seed: 2 });
  const f = initialFeatures();
  for (let i = 0; i < 100; i++) updateFeatures(f, market.next(i));
  const calls = 20_000;
  for (let i = 0; i < 2_000; i++) await runner.run(f);
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) await runner.run(f);
  const us = ((performance.now() - t0) * 1_000) / calls;
  await sessions.close();
  return { onnx_inference_us: +us.toFixed(2) };
}

/**
 * Reading ticks back from Redis through the client (ioredis' reply parser):
 * XRANGE of 256 ticks (what a full batch's XREADGROUP returns), µs per
 * entry, the round trip included.
 */
async function replyDecoding(redis: TestRedis): Promise<Record<string, number>> {
  const r = new Redis(redis.url);
  const stream = 'bench-reply:market_events';
  const market = new SyntheticMarket({ seed: 3 });
  const p = r.pipeline();
  for (let i = 0; i < 256; i++) p.xadd(stream, '*', ...encodeTick(market.next(Date.now())));
  await p.exec();
  for (let i = 0; i < 200; i++) await r.xrange(stream, '-', '+');
  const rounds = 1_000;
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) await r.xrange(stream, '-', '+');
  const us = ((performance.now() - t0) * 1_000) / rounds / 256;
  await r.del(stream);
  r.disconnect();
  return { xrange_256_ticks_us_per_entry: +us.toFixed(2) };
}

/**
 * The order path through the OMS and the send queue, with the paper venue
 * (no simulated latency, no partial fills) in a project copy whose costs
 * never hold a target:
 * a. intent → accepted: targets at 10/s (under the default throttle of 20
 *    orders/s), from each target's stream id (its commit) to its order's
 *    acceptance at the venue;
 * b. orders per second through the worker with the limiter off: N orders
 *    (BENCH_ORDERS, 5,000; a third each on BTC-USD, ETH-USD, AAPL) recorded
 *    NEW and enqueued at once, until the last is FILLED.
 */
async function ordersBench(redis: TestRedis): Promise<Record<string, unknown>> {
  const { mkdtempSync, cpSync, writeFileSync: write } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const root = mkdtempSync(join(tmpdir(), 'tp-bench-orders-'));
  cpSync(join(ROOT, 'conf'), join(root, 'conf'), { recursive: true });
  cpSync(join(ROOT, 'model_router_rules.yml'), join(root, 'model_router_rules.yml'));
  const risk = readFileSync(join(root, 'conf/risk_params.yml'), 'utf8')
    .replace('cost_aware: true', 'cost_aware: false')
    .replace('latency_ms: 2', 'latency_ms: 0')
    .replace('partial_fill_ratio: 0.1', 'partial_fill_ratio: 0');
  write(join(root, 'conf/risk_params.yml'), risk);
  const { startExecutor } = await import('../services/executor/service.ts');
  const { recordNewOrder } = await import('../services/executor/order-store.ts');
  const { newOrder } = await import('../services/executor/domain/order-lifecycle.ts');
  const { TxRecorder } = await import('../services/core/redis/batch-commit.ts');
  const { encodeTarget } = await import('../services/core/messages.ts');
  const run = async (
    label: string,
    limiterOff: boolean,
    body: (keys: ReturnType<typeof redisKeys>, r: Redis, enqueue: (ids: string[]) => Promise<void>) => Promise<Record<string, number>>,
  ): Promise<Record<string, number>> => {
    const ns = `{bench-${label}}:`;
    const keys = redisKeys(ns);
    const r = new Redis(redis.url);
    const now = Date.now();
    for (const [s, mid] of [
      ['BTC-USD', 65_000],
      ['ETH-USD', 3_000],
      ['AAPL', 190],
    ] as const) {
      await r.hset(keys.lastTick(s), ...encodeTick({ symbol: s, ts: now, bid: mid - 0.5, ask: mid + 0.5, bid_size: 1, ask_size: 1, last: mid, volume: 1 }));
      await r.hset(keys.marketDataSeen, s, String(now));
    }
    let enqueue: ((ids: string[]) => Promise<void>) | undefined;
    const handle = await startService(
      'executor',
      async (ctx) => {
        const running = await startExecutor(ctx, { limiterOff });
        const { Queue } = await import('bullmq');
        const q = new Queue('orders-paper', { connection: ctx.connection('bench-queue'), prefix: keys.queuePrefix });
        enqueue = async (ids) => {
          await q.addBulk(ids.map((id) => ({ name: 'send', data: { clientOrderId: id }, opts: { jobId: id, attempts: 5, backoff: { type: 'custom' }, removeOnComplete: true } })));
        };
        return { ...running, stop: async () => (await q.close(), await running.stop()) };
      },
      { settings: settingsFrom({ LOG_LEVEL: 'warn', TP_ROOT: root }), redisUrl: redis.url, namespace: ns, metricsPort: -1, instance: `bench-orders-${label}` },
    );
    try {
      return await body(keys, r, enqueue!);
    } finally {
      await handle.stop();
      r.disconnect();
    }
  };

  const latency = await run('latency', false, async (keys, r) => {
    const sent: string[] = [];
    const symbols = [
      ['BTC-USD', 65_000],
      ['ETH-USD', 3_000],
      ['AAPL', 190],
    ] as const;
    const n = 150;
    for (let i = 0; i < n; i++) {
      const [symbol, price] = symbols[i % 3]!;
      // Each target one more unit: every target makes one order.
      const units = Math.floor(i / 3) + 1;
      const id = await r.xadd(
        keys.orderIntents,
        '*',
        ...encodeTarget({
          symbol,
          asset_class: symbol === 'AAPL' ? 'us_stock' : 'crypto',
          target_usd: units * price * (symbol === 'AAPL' ? 10 : 0.01),
          price,
          model: 'bench',
          edge_bps: 0,
          var_pct: 0,
          tick_ts: Date.now(),
          first_tick_ts: Date.now(),
          signal_id: `${i}-0`,
          ts: Date.now(),
          action: 'target',
          cost_bps: 0,
        }),
      );
      sent.push(id!);
      await new Promise((res) => setTimeout(res, 100));
    }
    const lat: number[] = [];
    const t0 = Date.now();
    while (Date.now() - t0 < 30_000) {
      lat.length = 0;
      for (const id of sent) {
        const accepted = Number(await r.hget(keys.order(`T${id}`), 'accepted_at'));
        if (accepted > 0) lat.push(accepted - Number(id.split('-')[0]));
      }
      if (lat.length === sent.length) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    lat.sort((a, b) => a - b);
    return { orders: lat.length, intent_to_accepted_p50_ms: quantile(lat, 0.5), intent_to_accepted_p95_ms: quantile(lat, 0.95), intent_to_accepted_p99_ms: quantile(lat, 0.99) };
  });

  const throughput = await run('throughput', true, async (keys, r, enqueue) => {
    const n = Number(process.env['BENCH_ORDERS'] ?? 5_000);
    const ids: string[] = [];
    for (let start = 0; start < n; start += 500) {
      const tx = r.multi();
      const rec = new TxRecorder();
      for (let i = start; i < Math.min(n, start + 500); i++) {
        const id = `B${i}`;
        ids.push(id);
        recordNewOrder(
          rec,
          keys,
          newOrder({
            clientOrderId: id,
            symbol: (['BTC-USD', 'ETH-USD', 'AAPL'] as const)[i % 3]!,
            side: i % 2 ? 'SELL' : 'BUY',
            type: 'market',
            qty: i % 3 === 2 ? 1 : 0.001,
            limitPrice: null,
            targetId: `${i}-0`,
            model: 'bench',
            reduceOnly: false,
            probe: false,
            at: Date.now(),
          }),
        );
      }
      for (const c of rec.commands) tx.call(c[0]!, ...c.slice(1));
      await tx.exec();
    }
    const t0 = performance.now();
    await enqueue(ids);
    while ((await r.zcard(keys.ordersByState('FILLED'))) < n) {
      if (performance.now() - t0 > 120_000) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    const seconds = (performance.now() - t0) / 1_000;
    const filled = await r.zcard(keys.ordersByState('FILLED'));
    const left = (await Promise.all(['NEW', 'SUBMITTED', 'ACCEPTED', 'PARTIALLY_FILLED'].map((st) => r.zcard(keys.ordersByState(st))))).reduce((a, b) => a + b, 0);
    return { orders: n, filled, still_open: left, seconds: +seconds.toFixed(2), orders_per_s: Math.round(filled / seconds) };
  });
  return { paper_queue: latency, worker_limiter_off: throughput };
}

interface Goal {
  name: string;
  value: number | null;
  unit: string;
  goal: string;
  met: boolean;
}

/** The figures issue #17 sets goals for, each against its goal; null (not met) when this run did not measure it. */
function goalsOf(results: Record<string, unknown>): Goal[] {
  const at = (path: string): number | null => {
    let v: unknown = results;
    for (const k of path.split('.')) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  };
  const rss = results['end_to_end'] && typeof results['end_to_end'] === 'object' ? (results['end_to_end'] as Record<string, unknown>) : {};
  const rssValues: number[] = [];
  const rssDrifts: number[] = [];
  for (const [k, v] of Object.entries(rss)) {
    if (k === 'rss' && v && typeof v === 'object')
      for (const e of Object.values(v as Record<string, unknown>))
        if (e && typeof e === 'object' && 'max_mb' in e && 'drift_pct' in e) {
          rssValues.push(Number(e.max_mb));
          rssDrifts.push(Math.abs(Number(e.drift_pct)));
        }
    if (k.startsWith('rate_') && v && typeof v === 'object' && 'rss_mb' in v) rssValues.push(...Object.values((v as { rss_mb: Record<string, number> }).rss_mb));
  }
  const finite = rssValues.filter(Number.isFinite);
  const rssMax = finite.length > 0 ? Math.max(...finite) : null;
  const drift = rssDrifts.length > 0 ? Math.max(...rssDrifts) : null;
  const goal = (name: string, value: number | null, unit: string, text: string, ok: (v: number) => boolean): Goal => ({
    name,
    value,
    unit,
    goal: text,
    met: value !== null && ok(value),
  });
  return [
    goal('tick_to_target_p99_ms_at_10000', at('end_to_end.rate_10000.tick_to_target_newest_p99_ms'), 'ms', '<= 5', (v) => v <= 5),
    goal('tick_to_target_p99_ms_at_1000', at('end_to_end.rate_1000.tick_to_target_newest_p99_ms'), 'ms', '<= 3', (v) => v <= 3),
    goal('drain_ticks_per_s', at('end_to_end.drain_ticks_per_s'), 'ticks/s', '>= 50000', (v) => v >= 50_000),
    goal('propagation_p99_ms', at('breaker_propagation.both_p99_ms'), 'ms', '<= 5', (v) => v <= 5),
    goal('reload_p99_ms', at('reload_propagation.p99_ms'), 'ms', '<= 10', (v) => v <= 10),
    goal('rss_max_mb', rssMax, 'MB', `<= 150, flat within 10 % (largest drift ${drift ?? 'not measured'} %)`, (v) => v <= 150 && drift !== null && drift <= 10),
  ];
}

async function main(): Promise<void> {
  const only = process.argv[2];
  if (process.env['BENCH_RUNTIME'] !== 'tsx') execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { stdio: 'inherit' });
  const redis = await startRedis({ appendonly: true });
  const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, cpus: (await import('node:os')).cpus().length };
  try {
    if (!only || only === 'redis') results['redis_ceiling'] = redisBenchmark(redis.port);
    // Before the micro-benchmarks: their garbage would be collected during the breaker rounds,
    // whose three replicas share this process (in production each has its own).
    if (!only || only === 'breaker') results['breaker_propagation'] = await controlPropagation(redis);
    if (!only || only === 'reload') results['reload_propagation'] = await reloadPropagation(redis);
    if (!only || only === 'micro') results['micro'] = { ...micro(), ...(await onnxInference()), ...(await replyDecoding(redis)) };
    if (!only || only === 'orders') results['orders'] = await ordersBench(redis);
    if (!only || only === 'shards') results['shard_scale'] = await shardScale();
    if (!only || only === 'e2e') {
      // Today's figures first, side by side: the series and metric hashes written on every batch (metrics.sample_ms 0).
      const before = await projectCopy('every-batch');
      writeFileSync(join(before, 'conf/risk_params.yml'), readFileSync(join(before, 'conf/risk_params.yml'), 'utf8').replace(/^(\s+)sample_ms: \d+/m, '$1sample_ms: 0'));
      results['end_to_end_every_batch_metrics'] = await endToEnd(redis, { root: before, label: 'before-', rss: false, layout: 'split' });
      results['end_to_end'] = await endToEnd(redis, { root: ROOT, label: '', rss: true, layout: 'split' });
      // The single-process layout (services/pipeline/main.ts), same figures.
      results['end_to_end_single'] = await endToEnd(redis, { root: ROOT, label: 'single-', rss: true, layout: 'single' });
    }
  } finally {
    await redis.stop();
  }
  results['goals'] = goalsOf(results);
  for (const g of results['goals'] as Goal[]) console.error(`${g.met ? 'met ' : 'MISS'} ${g.name.padEnd(32)} ${g.value} ${g.unit} (goal ${g.goal})`);
  console.log(JSON.stringify(results, null, 2));
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
}

await main();
