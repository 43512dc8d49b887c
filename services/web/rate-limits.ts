/**
 * Rate limits on the API, counted in Redis so every web replica shares them
 * (express-rate-limit with rate-limit-redis):
 *
 * - mutations: every non-GET request, WEB_RATE_LIMIT_PER_MINUTE per caller
 *   (its operator name, else its address) per minute;
 * - failed authentication: WEB_AUTH_FAILURES_PER_WINDOW wrong or missing
 *   tokens per address per 5 minutes, then every request from that address
 *   is refused (429) until the window ends.
 *
 * Refusals are counted in Redis per minute, so /health shows them across
 * replicas, and in `http_rate_limited_total{limiter}`.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import type { RedisClient } from '../core/redis/connect.ts';
import type { RedisKeys } from '../core/redis/keys.ts';
import { Counter, type Registry } from '../core/metrics.ts';
import type { Settings } from '../core/settings.ts';
import { callerOf, sendError } from './http.ts';

export const AUTH_FAILURE_WINDOW_MS = 5 * 60_000;

export interface RateLimits {
  /** Before auth: refuses addresses locked out by failed authentication; counts 401s. */
  authFailures: RequestHandler;
  /** After auth: the mutation budget per caller. */
  mutations: RequestHandler;
  /** What /health shows. */
  report(): Promise<Record<string, unknown>>;
}

type Send = (...args: string[]) => Promise<RedisReply>;

function sendCommandOf(redis: RedisClient): Send {
  return async (command, ...args) => {
    // SCRIPT LOAD has no key: on a Cluster load it on every master (EVALSHA then finds it wherever the key lives).
    if (command.toUpperCase() === 'SCRIPT' && 'nodes' in redis) {
      const results = await Promise.all(redis.nodes('master').map((n) => n.call(command, ...args)));
      return results[0] as RedisReply;
    }
    return (await redis.call(command, ...args)) as RedisReply;
  };
}

export function createRateLimits(redis: RedisClient, keys: RedisKeys, settings: Settings, registry: Registry, now: () => number): RateLimits {
  const limited = new Counter({ name: 'http_rate_limited_total', help: 'Requests refused by a rate limit', labelNames: ['limiter'], registers: [registry] });
  for (const limiter of ['mutations', 'auth_failures']) limited.inc({ limiter }, 0);
  const send = sendCommandOf(redis);
  const refusedKey = (limiter: string): string => keys.rateLimit(`refused:${limiter}:${Math.floor(now() / 60_000)}`);
  const noteRefusal = (limiter: string): void => {
    limited.inc({ limiter });
    const k = refusedKey(limiter);
    void redis
      .multi()
      .incr(k)
      .expire(k, 120)
      .exec()
      .catch(() => undefined);
  };
  const ipKey = (req: Request): string => ipKeyGenerator(req.ip ?? 'unknown');

  const perMinute = settings.web.rateLimitPerMinute;
  const mutations = rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    store: new RedisStore({ sendCommand: send, prefix: keys.rateLimit('mutations:') }),
    keyGenerator: (req: Request, res: Response) => {
      const caller = callerOf(res);
      return caller.kind === 'operator' ? `operator:${caller.name}` : `ip:${ipKey(req)}`;
    },
    skip: (req) => req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS',
    handler: (_req: Request, res: Response) => {
      noteRefusal('mutations');
      sendError(res, 429, `rate limit: at most ${perMinute} changes per minute per operator or address`, { limit: perMinute, window_s: 60 });
    },
  });

  const maxFailures = settings.web.authFailuresPerWindow;
  const authFailures = rateLimit({
    windowMs: AUTH_FAILURE_WINDOW_MS,
    limit: maxFailures,
    standardHeaders: false,
    legacyHeaders: false,
    store: new RedisStore({ sendCommand: send, prefix: keys.rateLimit('auth_failures:') }),
    keyGenerator: (req: Request) => ipKey(req),
    // Only refused authentication counts against an address.
    requestWasSuccessful: (_req: Request, res: Response) => res.statusCode !== 401,
    skipSuccessfulRequests: true,
    handler: (_req: Request, res: Response) => {
      noteRefusal('auth_failures');
      sendError(res, 429, `too many failed authentications from this address: locked out for up to ${AUTH_FAILURE_WINDOW_MS / 60_000} minutes`, {
        limit: maxFailures,
        window_s: AUTH_FAILURE_WINDOW_MS / 1000,
      });
    },
  });

  return {
    authFailures: (req: Request, res: Response, next: NextFunction) => (req.method === 'GET' || req.method === 'HEAD' ? next() : authFailures(req, res, next)),
    mutations,
    async report() {
      const [m, a] = await Promise.all([redis.get(refusedKey('mutations')), redis.get(refusedKey('auth_failures'))]);
      return {
        mutations: { limit_per_minute: perMinute, refused_this_minute: Number(m ?? 0) },
        auth_failures: { limit_per_window: maxFailures, window_s: AUTH_FAILURE_WINDOW_MS / 1000, refused_this_minute: Number(a ?? 0) },
      };
    },
  };
}
