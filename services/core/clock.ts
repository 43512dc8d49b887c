/** Injected time, so domain code and timed transitions are testable without timers. */
export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };
