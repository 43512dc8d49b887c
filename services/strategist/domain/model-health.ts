/**
 * Per-model health as seen by one strategist process: an EWMA of inference
 * latency, consecutive errors, and when it last produced a prediction.
 */
import type { ModelHealth } from './switching.ts';

export interface ModelStats {
  latencyMsEwma: number;
  consecutiveErrors: number;
  lastOkAt: number;
}

export function newModelStats(now: number): ModelStats {
  return { latencyMsEwma: 0, consecutiveErrors: 0, lastOkAt: now };
}

export function recordModelCall(stats: ModelStats, latencyMs: number, ok: boolean, now: number): void {
  stats.latencyMsEwma = stats.latencyMsEwma === 0 ? latencyMs : 0.9 * stats.latencyMsEwma + 0.1 * latencyMs;
  if (ok) {
    stats.consecutiveErrors = 0;
    stats.lastOkAt = now;
  } else {
    stats.consecutiveErrors++;
  }
}

export function healthOf(stats: ModelStats | undefined, maxLatencyMs: number, expiryMs: number, now: number): ModelHealth {
  if (!stats) return { ok: true };
  if (stats.consecutiveErrors >= 3) return { ok: false, why: 'error' };
  if (stats.latencyMsEwma > maxLatencyMs) return { ok: false, why: 'latency' };
  if (now - stats.lastOkAt > expiryMs) return { ok: false, why: 'expired' };
  return { ok: true };
}
