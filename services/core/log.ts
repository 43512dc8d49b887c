/**
 * pino JSON logs. Every line carries `service` and `instance`; every
 * meaningful line carries a stable dotted `event` (e.g. `config.reloaded`)
 * plus human text where the runbook greps for one ("Configuration reloaded").
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(service: string, instance: string): Logger {
  return pino({
    name: service,
    level: process.env['LOG_LEVEL'] ?? 'info',
    base: { service, instance, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
