/**
 * Errors that callers branch on carry a `code`. A configuration error stops a
 * process with exit code 78 (EX_CONFIG), which the supervisor (npm start)
 * reads as "do not restart, stop everything and say why".
 */

export const EXIT_CONFIG = 78;

export class ConfigurationError extends Error {
  readonly code = 'CONFIG_INVALID';
}

export function isConfigurationError(err: unknown): err is ConfigurationError {
  return err instanceof ConfigurationError;
}
