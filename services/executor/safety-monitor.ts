/**
 * The safety monitor every executor runs once a second: rolls the UTC day
 * over (HSETNX, so once across replicas), marks the day's PnL and drawdown,
 * and engages the kill switch when an automatic trigger fires. Engaging is
 * idempotent across replicas (WATCH on the kill-switch hash): one audit entry.
 */
import type { RedisClient } from '../core/redis/connect.ts';
import type { ConfigHolder } from '../core/config/reloader.ts';
import type { RiskHarmoniserConfig } from '../core/config/schemas.ts';
import type { ControlView } from '../core/context.ts';
import { luaScript, runLua } from '../core/redis/lua-scripts.ts';
import { Counter } from '../core/metrics.ts';
import type { ServiceContext } from '../core/service.ts';
import { newestHeartbeatByService, parseHeartbeats } from '../core/heartbeats.ts';
import { markDay, tradingDay, unrealizedPnl } from './domain/daily-pnl.ts';
import { evaluateBlindMonitor, evaluateKillTriggers, evaluateReduceTrigger, KILL_TRIGGER_NAMES, type KillDecision } from './domain/kill-triggers.ts';
import { readPosition } from './position.ts';

const MARK_DAY = luaScript('mark-day-1.lua');

export const WATCHED_SERVICES = ['feed', 'strategist', 'risk-harmoniser'] as const;

export function startSafetyMonitor(
  ctx: ServiceContext,
  config: ConfigHolder<RiskHarmoniserConfig>,
  control: ControlView,
  intervalMs = ctx.settings.safetyIntervalMs,
): { stop(): Promise<void>; check(): Promise<KillDecision> } {
  const conn: RedisClient = ctx.connection('safety');
  const heartbeatIntervalMs = ctx.settings.heartbeatIntervalMs;
  const startedAt = ctx.clock.now();
  const { keys } = ctx;
  const engaged = new Counter({
    name: 'kill_switch_auto_engagements_total',
    help: 'Kill switch engaged by an automatic trigger',
    labelNames: ['trigger'],
    registers: [ctx.registry],
  });
  for (const trigger of KILL_TRIGGER_NAMES) engaged.inc({ trigger }, 0);
  // Each round counted: an operator (or a test) can see the checks run before reading "nothing engaged".
  const rounds = new Counter({
    name: 'safety_checks_total',
    help: 'Safety monitor rounds, by outcome (complete: every input read and decided on; failed: nothing decided)',
    labelNames: ['outcome'],
    registers: [ctx.registry],
  });
  for (const outcome of ['complete', 'failed']) rounds.inc({ outcome }, 0);
  const reducing = new Counter({
    name: 'trading_reduce_first_total',
    help: 'Trading moved to REDUCING by a loss limit before the kill switch',
    labelNames: ['trigger'],
    registers: [ctx.registry],
  });

  async function check(): Promise<KillDecision> {
    const cfg = config.current;
    const now = ctx.clock.now();
    const day0 = tradingDay(now);
    // The whole book, across write shards (one pipeline per shard: its keys share a slot); the book's day
    // marks live in the first shard's daily hash, next to its realized PnL, with the other shards' added.
    const dailyKey = keys.dailyStats(day0);
    const shards = ctx.shards.keys;
    const seenByShard = await Promise.all(shards.map((k) => conn.hgetall(k.marketDataSeen)));
    const seen: Record<string, string> = Object.fromEntries(seenByShard.flatMap((h) => Object.entries(h)));
    const reads = await Promise.all(
      shards.map((k, i) => {
        const pipe = conn.pipeline();
        for (const s of Object.keys(seenByShard[i]!)) pipe.get(k.position(s)).hmget(k.lastTick(s), 'bid', 'ask');
        if (i > 0) pipe.hget(k.dailyStats(day0), 'realized_pnl');
        return pipe.exec();
      }),
    );
    const minute = Math.floor(now / 60_000);
    const controlReads = await conn
      .pipeline()
      .get(keys.venueErrors(minute))
      .get(keys.venueErrors(minute - 1))
      .zrange(keys.heartbeats, '0', '-1', 'WITHSCORES')
      .exec();
    // Decide on a whole picture or not at all: a position that cannot be read
    // is not a flat one (it would mark a drawdown that is not there).
    const unreadable = [...reads, controlReads].flatMap((r): (Error | null)[] => (r ? r.map(([err]) => err) : [new Error('pipeline aborted')])).find((err) => err);
    if (unreadable) throw new Error(`safety read failed: ${unreadable.message}`);
    const marks = shards.flatMap((k, shard) => {
      const res = reads[shard] ?? [];
      return Object.keys(seenByShard[shard]!).map((symbol, i) => {
        const raw = res[i * 2]?.[1] as string | null;
        const [bid, ask] = ((res[i * 2 + 1]?.[1] as (string | null)[] | undefined) ?? []).map(Number);
        const stored = readPosition(raw, k.position(symbol));
        if (!stored.ok) throw new Error(`safety read failed: ${stored.reason}`);
        return { position: stored.position, mid: bid! > 0 && ask! > 0 ? (bid! + ask!) / 2 : undefined };
      });
    });
    const otherRealized = shards.reduce((sum, _, shard) => sum + (shard > 0 ? Number(reads[shard]?.at(-1)?.[1] ?? 0) || 0 : 0), 0);
    const c = (i: number): unknown => controlReads?.[i]?.[1];
    const elapsed = (now % 60_000) / 60_000;
    const venueErrors = Number(c(0) ?? 0) + Number(c(1) ?? 0) * (1 - elapsed);
    const newestHeartbeat = newestHeartbeatByService(parseHeartbeats((c(2) as string[]) ?? []));

    const unrealized = unrealizedPnl(marks);
    // Day rollover: the first instance to see a new UTC day fixes its starting point.
    const rolled = await conn
      .multi()
      .hsetnx(dailyKey, 'unrealized_start', String(unrealized))
      .hsetnx(dailyKey, 'started_at', String(now))
      .expire(dailyKey, 30 * 86_400)
      .hgetall(dailyKey)
      .exec();
    const rollError = rolled ? rolled.find(([err]) => err) : [new Error('transaction aborted')];
    if (rollError) throw new Error(`safety read failed: ${String(rollError[0])}`);
    const day = (rolled?.[3]?.[1] ?? {}) as Record<string, string>;
    const mark = markDay(
      cfg.position_sizing.portfolio_value_usd,
      Number(day['realized_pnl'] ?? 0) + otherRealized,
      unrealized,
      Number(day['unrealized_start'] ?? 0),
      day['peak_equity'] ? Number(day['peak_equity']) : undefined,
    );
    await runLua(conn, MARK_DAY, [dailyKey], [String(mark.peakEquityUsd), String(mark.equityUsd), String(mark.netPnlUsd), String(mark.drawdownPct), String(now)]);

    const snapshot = control.snapshot;
    if (!snapshot.known || snapshot.killSwitch.engaged) return null;
    const decision = evaluateKillTriggers({
      now,
      tradingHalted: snapshot.trading.state === 'HALTED',
      drawdownPct: mark.drawdownPct,
      maxDrawdownPct: cfg.risk_limits.max_daily_drawdown_pct,
      dailyPnlUsd: mark.netPnlUsd,
      pnlFloorUsd: cfg.risk_limits.daily_pnl_floor_usd,
      venueErrorsLastMinute: Math.round(venueErrors),
      venueErrorsPerMinute: cfg.kill_switch.venue_errors_per_minute,
      marketDataSeen: Object.fromEntries(Object.entries(seen).map(([k, ts]) => [k, Number(ts)])),
      staleMs: cfg.kill_switch.market_data_stale_ms,
      newestHeartbeat,
      watchedServices: WATCHED_SERVICES,
      heartbeatIntervalMs,
      missedCycles: cfg.kill_switch.heartbeat_missed_cycles,
      monitorStartedAt: startedAt,
      startupGraceMs: cfg.kill_switch.startup_grace_ms,
    });
    if (!decision) {
      if (snapshot.trading.state === 'ACTIVE') await reduceFirst(mark.drawdownPct, mark.netPnlUsd);
      return null;
    }
    return engage(decision);
  }

  /** Engage the kill switch once across replicas (the writer's compare-and-set: one of them moves it, the others find it engaged). */
  async function engage(decision: NonNullable<KillDecision>): Promise<KillDecision> {
    const outcome = await ctx.writer.killSwitch('engage', { reason: decision.reason, by: `auto:${ctx.instance}`, trigger: decision.trigger });
    if (outcome.kind !== 'moved') return null; // another replica engaged it first
    engaged.inc({ trigger: decision.trigger });
    await control.refresh();
    return decision;
  }

  /** Past reduce_first_ratio of a loss limit: trading ACTIVE → REDUCING, once across replicas. */
  async function reduceFirst(drawdownPct: number, netPnlUsd: number): Promise<void> {
    const cfg = config.current;
    const reduce = evaluateReduceTrigger({
      drawdownPct,
      maxDrawdownPct: cfg.risk_limits.max_daily_drawdown_pct,
      dailyPnlUsd: netPnlUsd,
      pnlFloorUsd: cfg.risk_limits.daily_pnl_floor_usd,
      ratio: cfg.risk_limits.reduce_first_ratio,
    });
    if (!reduce) return;
    // Only from ACTIVE (the transition table): a stop an operator set is never overridden.
    const outcome = await ctx.writer.trading({ kind: 'reduce_first' }, { reason: reduce.reason, by: `auto:${ctx.instance}`, trigger: reduce.trigger });
    if (outcome.kind !== 'moved') return; // another replica changed the trading state first
    reducing.inc({ trigger: reduce.trigger });
    await control.refresh();
  }

  let lastCompleteAt = ctx.clock.now();
  /** A round that failed: nothing decided on it; blind for too long stops trading (safety_blind). */
  async function failed(err: unknown): Promise<void> {
    ctx.log.warn({ event: 'safety.check_failed', err: String(err) }, 'safety check failed');
    const snapshot = control.snapshot;
    if (!snapshot.known || snapshot.killSwitch.engaged) return;
    const now = ctx.clock.now();
    const blind = evaluateBlindMonitor({
      now,
      tradingHalted: snapshot.trading.state === 'HALTED',
      lastCompleteAt,
      heartbeatIntervalMs,
      missedCycles: config.current.kill_switch.heartbeat_missed_cycles,
      error: String(err),
    });
    if (blind) await engage(blind);
  }

  let running: Promise<unknown> = Promise.resolve();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    running = check()
      .then(() => {
        lastCompleteAt = ctx.clock.now();
        rounds.inc({ outcome: 'complete' });
      })
      .catch(async (err: unknown) => {
        rounds.inc({ outcome: 'failed' });
        await failed(err);
      })
      .catch((err: unknown) => ctx.log.warn({ event: 'safety.check_failed', err: String(err) }, 'safety check failed'))
      .finally(() => {
        busy = false;
      });
  }, intervalMs);
  timer.unref();
  return {
    check,
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
