/**
 * Redis errors, told apart in one place by their code. A Redis error reply's
 * code is the first word of its message (READONLY, LOADING, NOGROUP,
 * BUSYGROUP, WRONGTYPE, NOSCRIPT, ...: the protocol's own convention); a
 * socket error carries its errno code (ECONNREFUSED, ...); ioredis' own
 * connection states have fixed messages, mapped here to CONNECTION_CLOSED.
 */

export type RedisErrorCode = string;

const IOREDIS_CONNECTION = /^(Connection is closed|Stream isn't writeable|Reached the max retries per request limit|MaxRetriesPerRequestError)/;

export function redisErrorCode(err: unknown): RedisErrorCode {
  if (err && typeof err === 'object') {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
    const message = (err as { message?: unknown }).message;
    if (typeof message === 'string') {
      if (IOREDIS_CONNECTION.test(message)) return 'CONNECTION_CLOSED';
      // A module's generic ERR that says what it means (TS.CREATE on an existing series).
      if (/^ERR .*already exists/i.test(message)) return 'ALREADY_EXISTS';
      const word = /^[A-Z][A-Z_]+\b/.exec(message)?.[0];
      if (word) return word;
    }
  }
  return 'UNKNOWN';
}

/** Codes after which the same command can succeed later (the connection, the server's role or its load): retry, never dead-letter. */
const TRANSIENT = new Set([
  'CONNECTION_CLOSED',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'LOADING',
  'READONLY',
  'CLUSTERDOWN',
  'TRYAGAIN',
  'MASTERDOWN',
  'MOVED',
  'ASK',
]);

export function isConnectionError(err: unknown): boolean {
  return TRANSIENT.has(redisErrorCode(err));
}
