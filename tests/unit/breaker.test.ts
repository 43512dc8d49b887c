import { describe, expect, it } from 'vitest';
import { breakerTrigger, probationPassed, probeFailure, transitionFor } from '../../services/core/domain/breaker.ts';

describe('breaker transitions', () => {
  it.each([
    [{ kind: 'trip', cause: 'var_breach: 3%' } as const, ['CLOSED', 'HALF_OPEN'], 'OPEN', false],
    [{ kind: 'probe_failed', cause: 'venue error: x' } as const, ['HALF_OPEN'], 'OPEN', true],
    [{ kind: 'operator_reset', reason: 'ok' } as const, ['OPEN'], 'HALF_OPEN', false],
    [{ kind: 'probation_passed' } as const, ['HALF_OPEN'], 'CLOSED', true],
    [{ kind: 'force', to: 'CLOSED', cause: 'drill' } as const, ['CLOSED', 'OPEN', 'HALF_OPEN'], 'CLOSED', false],
  ])('%o moves from %o to %s (episode-bound: %s)', (move, from, to, episode) => {
    const t = transitionFor(move);
    expect([...t.from].sort()).toEqual([...from].sort());
    expect(t.to).toBe(to);
    expect(t.episode).toBe(episode);
  });

  it('names the cause of a failed test order and of an operator reset', () => {
    expect(transitionFor({ kind: 'probe_failed', cause: 'venue error: down' }).cause).toBe('half_open_failure: venue error: down');
    expect(transitionFor({ kind: 'operator_reset', reason: 'fixed feed' }).cause).toBe('operator reset: fixed feed');
  });

  it('probation passes only in HALF_OPEN, after probation_ms', () => {
    expect(probationPassed('HALF_OPEN', 1_000, 1_999, 1_000)).toBe(false);
    expect(probationPassed('HALF_OPEN', 1_000, 2_000, 1_000)).toBe(true);
    expect(probationPassed('OPEN', 1_000, 9_000, 1_000)).toBe(false);
  });

  it('a test order fails on a venue error or over the latency limit, not on a business reject', () => {
    expect(probeFailure({ status: 'REJECTED', reason: 'venue error: timeout' }, 5, 100)).toBe('venue error: timeout');
    expect(probeFailure({ status: 'FILLED' }, 150, 100)).toBe('order latency 150.0 ms > 100 ms');
    expect(probeFailure({ status: 'REJECTED', reason: 'no quote for X' }, 5, 100)).toBeNull();
    expect(probeFailure({ status: 'FILLED' }, 99, 100)).toBeNull();
  });

  it('turns a cause into a bounded metric label', () => {
    expect(breakerTrigger('var_breach: portfolio VaR 2.811%')).toBe('var_breach');
    expect(breakerTrigger('operator reset: fixed')).toBe('operator_reset');
    expect(breakerTrigger('probation passed')).toBe('probation_passed');
    expect(breakerTrigger('x'.repeat(80))).toBe('other');
  });
});
