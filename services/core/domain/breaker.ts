/**
 * The shared circuit breaker's rules, as plain functions: which move goes
 * from which states to which, when a HALF_OPEN probation has passed, when a
 * HALF_OPEN test order counts as a failure, and a bounded label for a cause.
 * The Redis side (core/redis/breaker-scripts.ts) applies a transition only
 * if the breaker is still in one of its `from` states (and, for moves that
 * belong to one HALF_OPEN episode, still in that episode).
 */

export type BreakerState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';
export const BREAKER_STATES: readonly BreakerState[] = ['CLOSED', 'OPEN', 'HALF_OPEN'];

export type BreakerMove =
  /** VaR, order latency or venue error rate over its threshold. */
  | { kind: 'trip'; cause: string }
  /** A HALF_OPEN test order failed. */
  | { kind: 'probe_failed'; cause: string }
  /** POST /api/circuit-breaker/reset. */
  | { kind: 'operator_reset'; reason: string }
  /** HALF_OPEN held for probation_ms with no failure. */
  | { kind: 'probation_passed' }
  /** Set a state whatever the current one (drills, tests, benchmarks). */
  | { kind: 'force'; to: BreakerState; cause: string };

export interface BreakerTransition {
  readonly from: readonly BreakerState[];
  readonly to: BreakerState;
  readonly cause: string;
  /** Only within the HALF_OPEN episode that began at this time (breaker `at`). */
  readonly episode: boolean;
}

export function transitionFor(move: BreakerMove): BreakerTransition {
  switch (move.kind) {
    case 'trip':
      return { from: ['CLOSED', 'HALF_OPEN'], to: 'OPEN', cause: move.cause, episode: false };
    case 'probe_failed':
      return { from: ['HALF_OPEN'], to: 'OPEN', cause: `half_open_failure: ${move.cause}`, episode: true };
    case 'operator_reset':
      return { from: ['OPEN'], to: 'HALF_OPEN', cause: `operator reset: ${move.reason}`, episode: false };
    case 'probation_passed':
      return { from: ['HALF_OPEN'], to: 'CLOSED', cause: 'probation passed', episode: true };
    case 'force':
      return { from: BREAKER_STATES, to: move.to, cause: move.cause, episode: false };
  }
}

/** HALF_OPEN since `enteredAt` and probation_ms have passed. */
export function probationPassed(state: BreakerState, enteredAt: number, now: number, probationMs: number): boolean {
  return state === 'HALF_OPEN' && now - enteredAt >= probationMs;
}

/** Why a HALF_OPEN test order failed (a venue error, or slower than the latency limit), or null. */
export function probeFailure(result: { status: string; reason?: string }, latencyMs: number, latencyThresholdMs: number): string | null {
  if (result.status !== 'FILLED' && result.reason?.startsWith('venue error')) return result.reason;
  if (latencyMs > latencyThresholdMs) return `order latency ${latencyMs.toFixed(1)} ms > ${latencyThresholdMs} ms`;
  return null;
}

/** The kind of a cause ("var_breach: portfolio VaR 2.8%" → "var_breach"), a bounded metric label. */
export function breakerTrigger(cause: string): string {
  const head = cause
    .split(':')[0]!
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_');
  return head.length > 0 && head.length <= 40 ? head : 'other';
}
