/**
 * Automatic kill-switch triggers, as one pure decision. Checked in order:
 *   max_dd_exceeded        daily peak-to-trough drawdown over max_daily_drawdown_pct
 *   pnl_floor              daily net PnL below daily_pnl_floor_usd
 *   excessive_venue_errors venue errors in the last minute over venue_errors_per_minute
 *   ws_stale_60s           a symbol with no tick for market_data_stale_ms
 *   heartbeat_missing      a trading service whose newest heartbeat is older than
 *                          heartbeat_missed_cycles × interval; a heartbeat already
 *                          old when this monitor started (left by an instance killed
 *                          before a restart) counts only after startup_grace_ms, so
 *                          services starting one by one are not read as failures
 *   safety_blind           (evaluateBlindMonitor) the monitor itself could not read a
 *                          whole picture for as long: it acts on none, and then stops trading
 * Staleness and heartbeat triggers apply only while trading is not HALTED, so
 * the runbook's restart sequence (stop-trading first) does not trip them.
 */

export type KillTriggerName = 'max_dd_exceeded' | 'pnl_floor' | 'excessive_venue_errors' | 'ws_stale_60s' | 'heartbeat_missing' | 'safety_blind';
export const KILL_TRIGGER_NAMES: readonly KillTriggerName[] = ['max_dd_exceeded', 'pnl_floor', 'excessive_venue_errors', 'ws_stale_60s', 'heartbeat_missing', 'safety_blind'];

export interface KillTriggerInputs {
  now: number;
  tradingHalted: boolean;
  drawdownPct: number;
  maxDrawdownPct: number;
  dailyPnlUsd: number;
  pnlFloorUsd: number;
  venueErrorsLastMinute: number;
  venueErrorsPerMinute: number;
  marketDataSeen: Readonly<Record<string, number>>;
  staleMs: number;
  /** Newest heartbeat per service that has ever reported (gracefully stopped services are absent). */
  newestHeartbeat: Readonly<Record<string, number>>;
  watchedServices: readonly string[];
  heartbeatIntervalMs: number;
  missedCycles: number;
  /** When this monitor started, and the grace it gives services it has not yet seen beat. */
  monitorStartedAt: number;
  startupGraceMs: number;
}

export type KillDecision = { trigger: KillTriggerName; reason: string } | null;

export function evaluateKillTriggers(x: KillTriggerInputs): KillDecision {
  if (x.drawdownPct > x.maxDrawdownPct) return { trigger: 'max_dd_exceeded', reason: `Daily drawdown ${x.drawdownPct.toFixed(2)}% > ${x.maxDrawdownPct}% hard limit` };
  if (x.dailyPnlUsd < x.pnlFloorUsd) return { trigger: 'pnl_floor', reason: `Daily PnL ${x.dailyPnlUsd.toFixed(2)} USD below the floor ${x.pnlFloorUsd} USD` };
  if (x.venueErrorsLastMinute > x.venueErrorsPerMinute)
    return { trigger: 'excessive_venue_errors', reason: `${x.venueErrorsLastMinute} venue errors in the last minute > ${x.venueErrorsPerMinute}` };
  if (x.tradingHalted) return null;
  for (const [symbol, ts] of Object.entries(x.marketDataSeen)) {
    const age = x.now - ts;
    if (age > x.staleMs) return { trigger: 'ws_stale_60s', reason: `market data for ${symbol} stale for ${age} ms (> ${x.staleMs} ms)` };
  }
  const maxAge = x.heartbeatIntervalMs * x.missedCycles;
  const inGrace = x.now - x.monitorStartedAt <= x.startupGraceMs;
  for (const service of x.watchedServices) {
    const ts = x.newestHeartbeat[service];
    if (ts === undefined || x.now - ts <= maxAge) continue;
    if (ts < x.monitorStartedAt && inGrace) continue;
    return { trigger: 'heartbeat_missing', reason: `no heartbeat from ${service} for ${x.now - ts} ms (${x.missedCycles} cycles)` };
  }
  return null;
}

export interface BlindMonitorInputs {
  now: number;
  tradingHalted: boolean;
  /** When the monitor last read every input it decides on (its start, before the first). */
  lastCompleteAt: number;
  heartbeatIntervalMs: number;
  missedCycles: number;
  /** Why the latest round could not read its inputs. */
  error: string;
}

/**
 * A monitor that cannot read its inputs (a key of the wrong type, a command
 * refused) must not decide on part of them, nor stay blind: after the same
 * grace a missing heartbeat gets, it stops trading and says why. Redis being
 * unreachable is handled before this: executors refuse orders once the
 * control snapshot is older than 5 s.
 */
export function evaluateBlindMonitor(x: BlindMonitorInputs): KillDecision {
  if (x.tradingHalted) return null;
  const blindMs = x.now - x.lastCompleteAt;
  const maxAge = x.heartbeatIntervalMs * x.missedCycles;
  return blindMs > maxAge ? { trigger: 'safety_blind', reason: `safety checks could not read their inputs for ${blindMs} ms (${x.missedCycles} cycles): ${x.error}` } : null;
}

export interface ReduceTriggerInputs {
  drawdownPct: number;
  maxDrawdownPct: number;
  dailyPnlUsd: number;
  pnlFloorUsd: number;
  /** reduce_first_ratio: the fraction of each limit at which trading goes REDUCING. */
  ratio: number;
}

export type ReduceDecision = { trigger: 'drawdown_reduce_first' | 'pnl_reduce_first'; reason: string } | null;

/**
 * The step before the kill switch: a drawdown or daily loss past
 * `ratio` of its hard limit moves trading to REDUCING (only orders that
 * reduce a position). The hard limits themselves are kill triggers.
 */
export function evaluateReduceTrigger(x: ReduceTriggerInputs): ReduceDecision {
  const dd = x.maxDrawdownPct * x.ratio;
  if (x.drawdownPct > dd)
    return {
      trigger: 'drawdown_reduce_first',
      reason: `Daily drawdown ${x.drawdownPct.toFixed(2)}% > ${dd.toFixed(2)}% (${x.ratio * 100}% of the ${x.maxDrawdownPct}% limit): reducing only`,
    };
  const floor = x.pnlFloorUsd * x.ratio;
  if (x.pnlFloorUsd < 0 && x.dailyPnlUsd < floor)
    return {
      trigger: 'pnl_reduce_first',
      reason: `Daily PnL ${x.dailyPnlUsd.toFixed(2)} USD < ${floor.toFixed(2)} USD (${x.ratio * 100}% of the ${x.pnlFloorUsd} USD floor): reducing only`,
    };
  return null;
}
