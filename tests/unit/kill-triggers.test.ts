import { describe, expect, it } from 'vitest';
import { markDay, tradingDay, unrealizedPnl } from '../../services/executor/domain/daily-pnl.ts';
import { evaluateBlindMonitor, evaluateKillTriggers, evaluateReduceTrigger, type KillTriggerInputs } from '../../services/executor/domain/kill-triggers.ts';

const NOW = 10_000_000;
const QUIET: KillTriggerInputs = {
  now: NOW,
  tradingHalted: false,
  drawdownPct: 1,
  maxDrawdownPct: 20,
  dailyPnlUsd: -100,
  pnlFloorUsd: -50_000,
  venueErrorsLastMinute: 2,
  venueErrorsPerMinute: 20,
  marketDataSeen: { 'BTC-USD': NOW - 1_000 },
  staleMs: 60_000,
  newestHeartbeat: { feed: NOW - 500, strategist: NOW - 900 },
  watchedServices: ['feed', 'strategist', 'risk-harmoniser'],
  heartbeatIntervalMs: 1_000,
  missedCycles: 3,
  monitorStartedAt: NOW - 60_000,
  startupGraceMs: 15_000,
};

describe('automatic kill-switch triggers', () => {
  it('stays quiet when every input is within its limit (an absent service is not a missing heartbeat)', () => {
    expect(evaluateKillTriggers(QUIET)).toBeNull();
  });

  it.each([
    [{ drawdownPct: 21.5 }, 'max_dd_exceeded', 'Daily drawdown 21.50% > 20% hard limit'],
    [{ dailyPnlUsd: -60_000 }, 'pnl_floor', 'Daily PnL -60000.00 USD below the floor -50000 USD'],
    [{ venueErrorsLastMinute: 21 }, 'excessive_venue_errors', '21 venue errors in the last minute > 20'],
    [{ marketDataSeen: { 'ETH-USD': NOW - 65_000 } }, 'ws_stale_60s', 'market data for ETH-USD stale for 65000 ms (> 60000 ms)'],
    [{ newestHeartbeat: { feed: NOW - 3_001 } }, 'heartbeat_missing', 'no heartbeat from feed for 3001 ms (3 cycles)'],
  ])('%j engages %s', (patch, trigger, reason) => {
    expect(evaluateKillTriggers({ ...QUIET, ...patch })).toEqual({ trigger, reason });
  });

  it('gives a heartbeat left from before the monitor started (a killed instance) the startup grace, then counts it', () => {
    // A strategist killed with SIGKILL before a clean stop of the whole system: its beat is 22 s old when the next start's executor begins.
    const restart = { ...QUIET, monitorStartedAt: NOW - 2_000, newestHeartbeat: { feed: NOW - 500, strategist: NOW - 22_000 } };
    expect(evaluateKillTriggers(restart)).toBeNull();
    // The strategist never came back: once the grace is over it is missing.
    const later = { ...restart, now: NOW + 14_000, newestHeartbeat: { feed: NOW + 13_500, strategist: NOW - 22_000 } };
    expect(evaluateKillTriggers(later)).toEqual({ trigger: 'heartbeat_missing', reason: 'no heartbeat from strategist for 36000 ms (3 cycles)' });
    // A service seen beating after the monitor started gets no grace when it stops.
    const died = { ...QUIET, now: NOW + 1_200, monitorStartedAt: NOW - 2_000, newestHeartbeat: { feed: NOW + 1_000, strategist: NOW - 1_900 } };
    expect(evaluateKillTriggers(died)).toEqual({ trigger: 'heartbeat_missing', reason: 'no heartbeat from strategist for 3100 ms (3 cycles)' });
  });

  it('ignores stale data and missing heartbeats while trading is halted (restart sequence), not losses', () => {
    const halted = { ...QUIET, tradingHalted: true, marketDataSeen: { X: 0 }, newestHeartbeat: { feed: 0 } };
    expect(evaluateKillTriggers(halted)).toBeNull();
    expect(evaluateKillTriggers({ ...halted, drawdownPct: 30 })?.trigger).toBe('max_dd_exceeded');
  });

  it('a monitor blind for longer than the missed-heartbeat grace stops trading, and says why', () => {
    const blind = { now: 10_000, tradingHalted: false, lastCompleteAt: 7_000, heartbeatIntervalMs: 1_000, missedCycles: 3, error: 'WRONGTYPE' };
    expect(evaluateBlindMonitor(blind)).toBeNull(); // exactly the grace
    expect(evaluateBlindMonitor({ ...blind, now: 10_001 })).toEqual({
      trigger: 'safety_blind',
      reason: 'safety checks could not read their inputs for 3001 ms (3 cycles): WRONGTYPE',
    });
    expect(evaluateBlindMonitor({ ...blind, now: 60_000, tradingHalted: true })).toBeNull();
  });
});

describe('daily PnL', () => {
  it('names the UTC trading day', () => {
    expect(tradingDay(Date.UTC(2026, 10, 22, 23, 59, 59))).toBe('2026-11-22');
    expect(tradingDay(Date.UTC(2026, 10, 23, 0, 0, 0))).toBe('2026-11-23');
  });

  it('marks unrealised PnL at the mid', () => {
    expect(
      unrealizedPnl([
        { position: { qty: 2, avgPrice: 100, realizedPnl: 0 }, mid: 110 },
        { position: { qty: -1, avgPrice: 50, realizedPnl: 0 }, mid: 40 },
        { position: { qty: 5, avgPrice: 1, realizedPnl: 0 }, mid: undefined },
      ]),
    ).toBe(30);
  });

  it('computes net PnL against the day start and peak-to-trough drawdown', () => {
    const up = markDay(1_000_000, 5_000, 20_000, 10_000, undefined);
    expect(up).toEqual({ netPnlUsd: 15_000, equityUsd: 1_015_000, peakEquityUsd: 1_015_000, drawdownPct: 0 });
    const down = markDay(1_000_000, 5_000, -200_000, 10_000, up.peakEquityUsd);
    expect(down.netPnlUsd).toBe(-205_000);
    expect(down.drawdownPct).toBeCloseTo(((1_015_000 - 795_000) / 1_015_000) * 100, 9);
  });
});

describe('reduce first', () => {
  const limits = { maxDrawdownPct: 20, pnlFloorUsd: -50_000, ratio: 0.8 };
  it('moves to REDUCING past the ratio of either loss limit, not before', () => {
    expect(evaluateReduceTrigger({ ...limits, drawdownPct: 15.9, dailyPnlUsd: -39_999 })).toBeNull();
    expect(evaluateReduceTrigger({ ...limits, drawdownPct: 16.1, dailyPnlUsd: 0 })).toMatchObject({ trigger: 'drawdown_reduce_first' });
    expect(evaluateReduceTrigger({ ...limits, drawdownPct: 1, dailyPnlUsd: -40_001 })).toMatchObject({
      trigger: 'pnl_reduce_first',
      reason: expect.stringContaining('80% of the -50000 USD floor') as unknown,
    });
  });
  it('a positive PnL floor never reduces on PnL', () => {
    expect(evaluateReduceTrigger({ ...limits, pnlFloorUsd: 1_000, drawdownPct: 0, dailyPnlUsd: 0 })).toBeNull();
  });
});
