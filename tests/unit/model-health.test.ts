import { describe, expect, it } from 'vitest';
import { healthOf, newModelStats, recordModelCall } from '../../services/strategist/domain/model-health.ts';

const MAX_LATENCY_MS = 5;
const EXPIRY_MS = 5_000;

describe('model health', () => {
  it('a model never called is healthy', () => {
    expect(healthOf(undefined, MAX_LATENCY_MS, EXPIRY_MS, 0)).toEqual({ ok: true });
  });

  it('three consecutive errors make it failing; one success heals it', () => {
    const s = newModelStats(0);
    recordModelCall(s, 1, false, 10);
    recordModelCall(s, 1, false, 20);
    expect(healthOf(s, MAX_LATENCY_MS, EXPIRY_MS, 20).ok).toBe(true);
    recordModelCall(s, 1, false, 30);
    expect(healthOf(s, MAX_LATENCY_MS, EXPIRY_MS, 30)).toEqual({ ok: false, why: 'error' });
    recordModelCall(s, 1, true, 40);
    expect(healthOf(s, MAX_LATENCY_MS, EXPIRY_MS, 40)).toEqual({ ok: true });
  });

  it('is over its latency budget when the latency average exceeds max_latency_ms, not on one slow call', () => {
    const s = newModelStats(0);
    for (let i = 0; i < 20; i++) recordModelCall(s, 1, true, i);
    recordModelCall(s, 30, true, 21); // one spike: 0.9·1 + 0.1·30 = 3.9 ms
    expect(healthOf(s, MAX_LATENCY_MS, EXPIRY_MS, 21).ok).toBe(true);
    for (let i = 0; i < 10; i++) recordModelCall(s, 30, true, 22 + i);
    expect(healthOf(s, MAX_LATENCY_MS, EXPIRY_MS, 32)).toEqual({ ok: false, why: 'latency' });
  });

  it('expires when its last good prediction is older than prediction_expiry_ms', () => {
    const s = newModelStats(0);
    recordModelCall(s, 1, true, 1_000);
    expect(healthOf(s, MAX_LATENCY_MS, EXPIRY_MS, 1_000 + EXPIRY_MS).ok).toBe(true);
    expect(healthOf(s, MAX_LATENCY_MS, EXPIRY_MS, 1_001 + EXPIRY_MS)).toEqual({ ok: false, why: 'expired' });
  });
});
