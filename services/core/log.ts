/**
 * pino JSON logs. Every line carries `service` and `instance`; every
 * meaningful line carries a stable dotted `event` (e.g. `config.reloaded`)
 * plus human text where the runbook greps for one ("Configuration reloaded").
 * The level is written as its name ("level":"error"), so the runbook's
 * `tail -100 logs/trading-system.log | grep -i error` finds error lines.
 *
 * Repeated events are budgeted (domain/log-budget.ts): per event and level,
 * the first `burst` lines of each window are written whole, then one
 * `log.suppressed` line per window says how many were left out. Fatal lines
 * and lines without an event are always written.
 */
import { pino, type DestinationStream, type Logger, type LogFn } from 'pino';
import { LogBudget } from './domain/log-budget.ts';

export type { DestinationStream, Logger };

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

const FATAL = 60;

/** `destination`: where lines go (stdout by default; tests pass a stream). `budget.burst` 0: no limit. */
export function createLogger(
  service: string,
  instance: string,
  level: LogLevel = 'info',
  destination?: DestinationStream,
  budget: { burst: number; windowMs: number } = { burst: 20, windowMs: 10_000 },
): Logger {
  const limiter = budget.burst > 0 ? new LogBudget(budget.burst, budget.windowMs) : undefined;
  const summary = (log: Logger, write: LogFn, s: { key: string; count: number; windowStart: number }): void => {
    const event = s.key.slice(s.key.indexOf(':') + 1);
    write.apply(log, [
      { event: 'log.suppressed', suppressed_event: event, count: s.count, window_start: new Date(s.windowStart).toISOString(), window_ms: budget.windowMs },
      `${s.count} more "${event}" line(s) left out in ${budget.windowMs / 1000} s (first ${budget.burst} logged whole)`,
    ]);
  };
  const options = {
    name: service,
    level,
    base: { service, instance, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    hooks: {
      logMethod(this: Logger, args: Parameters<LogFn>, method: LogFn, lvl: number): void {
        const first: unknown = args[0];
        const event = first !== null && typeof first === 'object' && typeof (first as { event?: unknown }).event === 'string' ? (first as { event: string }).event : undefined;
        if (!limiter || event === undefined || event === 'log.suppressed' || lvl >= FATAL) return void method.apply(this, args);
        const r = limiter.admit(`${lvl}:${event}`, Date.now());
        if (r.flushed) summary(this, method, r.flushed);
        if (r.write) method.apply(this, args);
      },
    },
  };
  const logger = destination ? pino(options, destination) : pino(options);
  if (limiter) {
    // The last window of a flood is summed up too, without waiting for the event's next line.
    const timer = setInterval(() => {
      for (const s of limiter.due(Date.now())) summary(logger, logger.warn.bind<LogFn>(logger), s);
    }, budget.windowMs);
    timer.unref();
  }
  return logger;
}
