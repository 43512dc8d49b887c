/**
 * One smoke replay (seed 001): the last N minutes of production's
 * `market_events` (or a CSV of ticks) through a strategist, a risk
 * harmoniser and an executor started in this process on a namespace of the
 * replay's own (`replay-<id>:`, a hash tag of its own on Cluster), with the
 * paper venue: nothing is written to production keys and nothing reaches a
 * real venue, whatever the deployment's VENUE says. Ticks are re-stamped
 * with the time they are sent, at the recorded pace × `speed` (1 keeps the
 * timing; faster compresses it, so volatility and horizons see a faster
 * market). At the end the report (domain/replay-report.ts) is built from
 * the replay namespace, which is then deleted (REPLAY_KEEP_NAMESPACE=1
 * keeps it, to look into).
 */
import { readFileSync } from 'node:fs';
import type { ServiceContext } from '../core/context.ts';
import { orderFromFields } from '../executor/domain/order-lifecycle.ts';
import { readPositions } from '../web/book.ts';
import { startExecutor } from '../executor/service.ts';
import { fieldsFromArray } from '../core/messages.ts';
import { isClusterUrl, redisKeysFor } from '../core/redis/connect.ts';
import { oneShard } from '../core/redis/keys.ts';
import { startService, type ServiceHandle } from '../core/service.ts';
import type { Settings } from '../core/settings.ts';
import { startRiskHarmoniser } from '../risk-harmoniser/service.ts';
import { startStrategist } from '../strategist/service.ts';
import { buildReplayReport, type ReplayOrder, type ReplayReport } from './domain/replay-report.ts';

export interface ReplayRequest {
  /** The last `minutes` of market_events (ignored with `csv`). */
  minutes: number;
  /** Pace multiplier (1 = as recorded). */
  speed: number;
  /** A CSV of ticks (header: the tick fields) instead of market_events; a path in the project. */
  csv?: string | undefined;
}

export interface ReplayHooks {
  progress(p: { sent: number; total: number }): Promise<void>;
  cancelled(): Promise<boolean>;
}

/** At most this many ticks per replay (about 15 minutes of the built-in market at 200/s is 180,000). */
export const MAX_REPLAY_TICKS = 500_000;
const MAX_GAP_MS = 5_000;

/** The ticks to replay, as raw stream fields with their original stream time. */
export async function replayTicks(ctx: ServiceContext, req: ReplayRequest): Promise<{ at: number; fields: string[] }[]> {
  if (req.csv) {
    const text = readFileSync(req.csv, 'utf8');
    const [header, ...rows] = text.split(/\r?\n/).filter((l) => l.trim() !== '');
    const names = (header ?? '').split(',').map((h) => h.trim());
    const tsAt = names.indexOf('ts');
    return rows.slice(0, MAX_REPLAY_TICKS).map((row, i) => {
      const values = row.split(',').map((v) => v.trim());
      return { at: tsAt >= 0 ? Number(values[tsAt]) || i : i, fields: names.flatMap((n, j) => [n, values[j] ?? '']) };
    });
  }
  const from = ctx.clock.now() - req.minutes * 60_000;
  // Every shard's market_events, merged in time order (stream ids are ms timestamps).
  const perShard = await Promise.all(ctx.shards.keys.map((k) => ctx.redis.xrange(k.marketEvents, `${from}-0`, '+', 'COUNT', MAX_REPLAY_TICKS) as Promise<[string, string[]][]>));
  const rows = perShard.flat().map(([id, fields]) => ({ at: Number(id.split('-')[0]), seq: Number(id.split('-')[1]), fields }));
  if (perShard.length > 1) rows.sort((a, b) => a.at - b.at || a.seq - b.seq);
  return rows.slice(0, MAX_REPLAY_TICKS).map(({ at, fields }) => ({ at, fields }));
}

export async function runReplay(
  ctx: ServiceContext,
  id: string,
  req: ReplayRequest,
  hooks: ReplayHooks,
): Promise<ReplayReport & { id: string; cancelled: boolean; namespace: string }> {
  const ticks = await replayTicks(ctx, req);
  const url = ctx.redisUrl;
  const namespace = isClusterUrl(url ?? '') ? `{replay-${id}}:` : `${ctx.keys.namespace}replay-${id}:`;
  const keys = redisKeysFor(url, namespace);
  // The deployment's settings, on the paper venue and PAPER mode, quiet, without metrics ports.
  const settings: Settings = Object.freeze({
    ...ctx.settings,
    venue: { ...ctx.settings.venue, name: 'paper' as const },
    executionMode: 'PAPER' as const,
    logLevel: 'warn' as const,
    namespace,
    // A replay is one small pipeline of its own: one shard, whatever the deployment's.
    shards: 1,
    shard: undefined,
  });
  const handles: ServiceHandle[] = [];
  const varPath: { at: number; varPct: number }[] = [];
  let cancelled = false;
  let sent = 0;
  try {
    for (const [service, start] of [
      ['strategist', startStrategist],
      ['risk-harmoniser', startRiskHarmoniser],
      ['executor', (c: ServiceContext) => startExecutor(c)],
    ] as const)
      handles.push(
        await startService(service, start, {
          settings,
          ...(url ? { redisUrl: url } : {}),
          ...(ctx.redisAuth ? { redisAuth: ctx.redisAuth } : {}),
          namespace,
          metricsPort: -1,
          instance: `replay-${id}-${service}`,
        }),
      );

    const startedAt = Date.now();
    let prevAt = ticks[0]?.at ?? 0;
    let elapsed = 0;
    let lastSample = 0;
    let i = 0;
    while (i < ticks.length) {
      // The recorded pace, compressed by `speed`; a long gap (a feed pause) counts as 5 s.
      const t = ticks[i]!;
      elapsed += Math.max(0, Math.min(t.at - prevAt, MAX_GAP_MS));
      prevAt = t.at;
      const wait = startedAt + elapsed / req.speed - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      // Everything due by now goes in one pipeline (up to 500 ticks), as the feed writes a batch.
      const now = Date.now();
      const pipe = ctx.redis.pipeline();
      let batch = 0;
      do {
        const tick = ticks[i]!;
        if (batch > 0) {
          elapsed += Math.max(0, Math.min(tick.at - prevAt, MAX_GAP_MS));
          prevAt = tick.at;
        }
        const fields = [...tick.fields];
        let symbol = '';
        for (let k = 0; k + 1 < fields.length; k += 2) {
          if (fields[k] === 'ts') fields[k + 1] = String(now);
          if (fields[k] === 'symbol') symbol = fields[k + 1]!;
        }
        // The stream entry, the symbol's last quote (the paper venue's price) and when it was seen.
        pipe.xadd(keys.marketEvents, '*', ...fields);
        if (symbol) pipe.hset(keys.lastTick(symbol), ...fields).hset(keys.marketDataSeen, symbol, String(now));
        i++;
        batch++;
      } while (i < ticks.length && batch < 500 && startedAt + (elapsed + Math.max(0, Math.min(ticks[i]!.at - prevAt, MAX_GAP_MS))) / req.speed <= now);
      await pipe.exec();
      sent += batch;
      if (Date.now() - lastSample >= 250) {
        lastSample = Date.now();
        varPath.push({ at: lastSample, varPct: Number((await ctx.redis.hget(keys.riskPortfolio, 'var_pct')) ?? 0) || 0 });
        await hooks.progress({ sent, total: ticks.length });
        if (await hooks.cancelled()) {
          cancelled = true;
          break;
        }
      }
    }
    await hooks.progress({ sent, total: ticks.length });
    // Let the pipeline finish what was sent (up to 15 s): every group has nothing pending or undelivered.
    const until = Date.now() + 15_000;
    while (Date.now() < until && !(await drained(ctx, keys))) await new Promise((r) => setTimeout(r, 200));
    varPath.push({ at: Date.now(), varPct: Number((await ctx.redis.hget(keys.riskPortfolio, 'var_pct')) ?? 0) || 0 });

    const report = await collect(ctx, keys, { total: ticks.length, sent, firstTs: ticks[0]?.at, lastTs: ticks.at(-1)?.at }, varPath);
    return { id, cancelled, namespace, ...report };
  } finally {
    await Promise.all(handles.reverse().map((h) => h.stop().catch(() => undefined)));
    if (!ctx.settings.replayKeepNamespace) await dropNamespace(ctx, namespace);
  }
}

async function drained(ctx: ServiceContext, keys: ReturnType<typeof redisKeysFor>): Promise<boolean> {
  // Orders decided and not yet at the (paper) venue: the send queue is still working.
  if ((await ctx.redis.zcard(keys.ordersByState('NEW'))) + (await ctx.redis.zcard(keys.ordersByState('SUBMITTED'))) > 0) return false;
  for (const stream of [keys.marketEvents, keys.strategySignals, keys.orderIntents]) {
    const groups = (await ctx.redis.xinfo('GROUPS', stream).catch(() => [])) as unknown[][];
    for (const g of groups) {
      const f = fieldsFromArray(g.map(String));
      if (f['pending'] !== '0' || (f['lag'] !== undefined && f['lag'] !== '0' && f['lag'] !== '')) return false;
    }
  }
  return true;
}

async function collect(ctx: ServiceContext, keys: ReturnType<typeof redisKeysFor>, ticks: ReplayReport['ticks'], varPath: { at: number; varPct: number }[]): Promise<ReplayReport> {
  const { redis } = ctx;
  const ids = await redis.zrange(keys.orderIndex, '0', '-1');
  const orders: ReplayOrder[] = [];
  for (const oid of ids) {
    const o = orderFromFields(await redis.hgetall(keys.order(oid)));
    if (o)
      orders.push({
        symbol: o.symbol,
        side: o.side,
        qty: o.qty,
        state: o.state,
        filledQty: o.filledQty,
        avgFillPrice: o.avgFillPrice,
        feesUsd: o.feesUsd,
        model: o.model,
        reason: o.reason,
        createdAt: o.createdAt,
      });
  }
  const symbols = await redis.hkeys(keys.marketDataSeen);
  // Marked to the last mid, as GET /api/positions shows them.
  const positions = (await readPositions(redis, oneShard(keys), symbols)).positions.map((p) => ({
    symbol: p.symbol,
    qty: p.qty,
    avgPrice: p.avg_price,
    realizedPnl: p.realized_pnl,
    feesUsd: p.fees_usd,
    mark: p.mark ?? undefined,
  }));
  const switches = ((await redis.xrange(keys.modelSwitchLog, '-', '+')) as [string, string[]][]).map(([sid, f]) => ({ id: sid, ...fieldsFromArray(f) }));
  const [trading, kill, breaker] = await Promise.all([redis.hgetall(keys.tradingState), redis.hgetall(keys.killSwitch), redis.hgetall(keys.breaker)]);
  const events = [
    ...((await redis.xrange(keys.killSwitchAudit, '-', '+').catch(() => [])) as [string, string[]][]),
    ...((await redis.xrange(keys.breakerEvents, '-', '+').catch(() => [])) as [string, string[]][]),
  ].map(([eid, f]) => ({ id: eid, ...fieldsFromArray(f) }));
  const risk = await import('../core/config/load.ts').then((m) => m.loadRiskParams(ctx.settings.configPaths.risk_harmoniser, ctx.root));
  // The tolerance band: one order never more than a full flip of the largest position allowed (2 × max_position_pct × portfolio).
  const sizing = risk.ok ? risk.config.position_sizing : undefined;
  const maxOrderNotionalUsd = sizing ? 2 * Math.max(...Object.values(sizing.asset_classes).map((a) => a.max_position_pct)) * sizing.portfolio_value_usd : Number.POSITIVE_INFINITY;
  return buildReplayReport({
    ticks,
    orders,
    positions,
    varPath,
    switches,
    controls: {
      trading: trading['state'] ?? 'ACTIVE',
      tradingReason: trading['reason'] ?? '',
      killEngaged: kill['engaged'] === '1',
      killReason: kill['reason'] ?? '',
      breaker: breaker['state'] ?? 'CLOSED',
      events,
    },
    deadLetters: await redis.xlen(keys.deadLetter),
    maxOrderNotionalUsd,
  });
}

/** Every key of the replay's namespace (SCAN; on Cluster the hash tag keeps them on one node). */
async function dropNamespace(ctx: ServiceContext, namespace: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, found] = await ctx.redis.scan(cursor, 'MATCH', `${namespace.replace(/[{}*?[\]]/g, '\\$&')}*`, 'COUNT', 1000);
    cursor = next;
    if (found.length > 0) await ctx.redis.unlink(...found);
  } while (cursor !== '0');
}
