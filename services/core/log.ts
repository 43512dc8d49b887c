/**
 * pino JSON logs. Every line carries `service` and `instance`; every
 * meaningful line carries a stable dotted `event` (e.g. `config.reloaded`)
 * plus human text where the runbook greps for one ("Configuration reloaded").
 * The level is written as its name ("level":"error"), so the runbook's
 * `tail -100 logs/trading-system.log | grep -i error` finds error lines.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { DestinationStream, Logger };

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** `destination`: where lines go (stdout by default; tests pass a stream). */
export function createLogger(service: string, instance: string, level: LogLevel = 'info', destination?: DestinationStream): Logger {
  const options = {
    name: service,
    level,
    base: { service, instance, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return destination ? pino(options, destination) : pino(options);
}
