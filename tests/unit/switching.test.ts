import { describe, expect, it } from 'vitest';
import { decideSwitch, type RoutingState, type SwitchInputs } from '../../services/strategist/domain/switching.ts';

const conf: Record<string, number> = { a: 0.6, b: 0.7, d: 0.5 };
const X: SwitchInputs = {
  preferred: 'b',
  ruleIndex: 3,
  defaultModel: 'd',
  confidence: (m) => conf[m] ?? 0,
  health: () => ({ ok: true }),
  minConfidence: 0.55,
  hysteresis: 0.05,
  minDwellMs: 30_000,
  paused: false,
  marketOpen: true,
  marketHoursOnly: false,
  now: 100_000,
};
const ACTIVE_A: RoutingState = { active: 'a', since: 0, reason: 'initial', ruleIndex: 1 };

describe('switching discipline', () => {
  it('takes the preferred model when none is active', () => {
    expect(decideSwitch({ active: null, since: 0, reason: '', ruleIndex: -1 }, X)).toMatchObject({ kind: 'switch', from: null, to: 'b', reason: 'initial' });
  });

  it('switches when the challenger beats the active model by the hysteresis after the dwell time', () => {
    expect(decideSwitch(ACTIVE_A, X)).toMatchObject({ kind: 'switch', from: 'a', to: 'b', reason: 'rule:3', confidence: 0.7 });
  });

  it('stays within the hysteresis band', () => {
    expect(decideSwitch(ACTIVE_A, { ...X, confidence: (m) => (m === 'b' ? 0.64 : 0.6) })).toEqual({ kind: 'stay', why: 'hysteresis' });
  });

  it('stays before the minimum dwell time', () => {
    expect(decideSwitch({ ...ACTIVE_A, since: 80_000 }, X)).toEqual({ kind: 'stay', why: 'dwell' });
  });

  it('does not act on a challenger below min_confidence', () => {
    expect(decideSwitch(ACTIVE_A, { ...X, confidence: (m) => (m === 'b' ? 0.5 : 0.1) })).toEqual({ kind: 'stay', why: 'challenger_low_confidence' });
  });

  it('freezes while paused and outside market hours in market-hours-only mode', () => {
    expect(decideSwitch(ACTIVE_A, { ...X, paused: true })).toEqual({ kind: 'stay', why: 'paused' });
    expect(decideSwitch(ACTIVE_A, { ...X, marketHoursOnly: true, marketOpen: false })).toEqual({ kind: 'stay', why: 'market_closed' });
    expect(decideSwitch(ACTIVE_A, { ...X, marketHoursOnly: false, marketOpen: false }).kind).toBe('switch');
  });

  it('falls back from a failing active model even while paused, ignoring dwell', () => {
    const health = (m: string) => (m === 'a' ? ({ ok: false, why: 'latency' } as const) : ({ ok: true } as const));
    expect(decideSwitch({ ...ACTIVE_A, since: 99_000 }, { ...X, paused: true, health })).toMatchObject({ kind: 'switch', from: 'a', to: 'b', reason: 'fallback:latency' });
  });

  it('falls back to the default model when the preferred one is the failing one', () => {
    const health = (m: string) => (m === 'b' ? ({ ok: false, why: 'expired' } as const) : ({ ok: true } as const));
    expect(decideSwitch({ active: 'b', since: 0, reason: '', ruleIndex: 3 }, { ...X, health })).toMatchObject({ kind: 'switch', to: 'd', reason: 'fallback:expired' });
  });

  it('oscillating confidences do not cause flapping inside the dwell time (scenario)', () => {
    let st: RoutingState = { active: 'a', since: 0, reason: '', ruleIndex: 1 };
    let switches = 0;
    for (let t = 0; t < 120_000; t += 1_000) {
      const preferred = (t / 1_000) % 2 === 0 ? 'a' : 'b';
      const d = decideSwitch(st, { ...X, preferred, now: t, confidence: (m) => (m === preferred ? 0.9 : 0.6) });
      if (d.kind === 'switch') {
        switches++;
        st = { active: d.to, since: t, reason: d.reason, ruleIndex: 0 };
      }
    }
    expect(switches).toBeLessThanOrEqual(4); // at most one per 30 s dwell
  });
});
