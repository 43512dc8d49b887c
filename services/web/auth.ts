/**
 * Who may change what through the API, and who they are.
 *
 * Exposure is decided on addresses, not on the text of WEB_HOST: the host
 * is resolved, and the API counts as loopback only when every address it
 * resolves to is a loopback address (127.0.0.0/8, ::1); after listening,
 * the bound address is checked again. "127.0.0.1.nip.io" is a name like any
 * other.
 *
 * - Loopback: mutating requests need no token (the runbook's plain curl).
 *   A request that carries a token must carry a valid one.
 * - Anything else: every mutating request needs a valid token; WEB_TOKEN
 *   or WEB_OPERATOR_TOKENS must be set or web refuses to start.
 *
 * Identity: a per-operator token (WEB_OPERATOR_TOKENS name=token) names its
 * operator, and a body `operator` that differs is refused. Without one, the
 * name in the body (or X-Operator) is recorded as given, marked
 * unauthenticated where that matters: the kill switch's second-operator rule
 * takes only authenticated names (kill-switch routes).
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { Settings } from '../core/settings.ts';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

export function isLoopbackAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return LOOPBACK.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export type Exposure = { ok: true; loopback: boolean; addresses: string[] } | { ok: false; reason: string };

export type Resolve = (host: string) => Promise<string[]>;
const resolveHost: Resolve = async (host) => (await lookup(host, { all: true })).map((a) => a.address);

/** Resolve WEB_HOST and decide; refuses a non-loopback API without any token. */
export async function decideExposure(settings: Settings, resolve: Resolve = resolveHost): Promise<Exposure> {
  const host = settings.web.host;
  let addresses: string[];
  if (isIP(host) !== 0) {
    addresses = [host];
  } else {
    try {
      addresses = await resolve(host);
    } catch (err) {
      return { ok: false, reason: `WEB_HOST=${host} cannot be resolved (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
    }
  }
  const loopback = addresses.length > 0 && addresses.every(isLoopbackAddress);
  if (!loopback && !hasTokens(settings)) {
    return { ok: false, reason: `WEB_HOST=${host} is not loopback (${addresses.join(', ')}): set WEB_TOKEN or WEB_OPERATOR_TOKENS so mutating requests can be authenticated` };
  }
  return { ok: true, loopback, addresses };
}

export function hasTokens(settings: Settings): boolean {
  return settings.web.token !== undefined || Object.keys(settings.web.operatorTokens).length > 0;
}

export type Caller =
  /** A per-operator token: `name` is proven. */
  | { kind: 'operator'; name: string }
  /** The shared WEB_TOKEN: authenticated, but anyone holding it may claim any name. */
  | { kind: 'shared' }
  /** No token (loopback only). */
  | { kind: 'anonymous' };

export type AuthOutcome = { ok: true; caller: Caller } | { ok: false; status: 401; error: string };

const same = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** Authenticate a mutating request from its Authorization header. */
export function authenticate(header: string | undefined, settings: Settings, loopback: boolean): AuthOutcome {
  if (header === undefined || header === '') {
    return loopback ? { ok: true, caller: { kind: 'anonymous' } } : { ok: false, status: 401, error: 'missing Authorization: Bearer <token>' };
  }
  const m = /^Bearer (.+)$/.exec(header);
  if (!m) return { ok: false, status: 401, error: 'Authorization must be "Bearer <token>"' };
  const token = m[1]!;
  for (const [name, t] of Object.entries(settings.web.operatorTokens)) if (same(token, t)) return { ok: true, caller: { kind: 'operator', name } };
  if (settings.web.token !== undefined && same(token, settings.web.token)) return { ok: true, caller: { kind: 'shared' } };
  return { ok: false, status: 401, error: 'wrong token' };
}

export type Identity = { ok: true; by: string; authenticated: boolean } | { ok: false; error: string };

/**
 * The name recorded as `by`: the operator's own token's name (a different
 * claimed name is refused); else the claimed name, or `http:<ip>`.
 */
export function identify(caller: Caller, claimed: string | undefined, ip: string | undefined): Identity {
  if (caller.kind === 'operator') {
    if (claimed !== undefined && claimed !== caller.name) return { ok: false, error: `operator "${claimed}" does not match the authenticated operator "${caller.name}"` };
    return { ok: true, by: caller.name, authenticated: true };
  }
  return { ok: true, by: claimed ?? `http:${ip ?? 'unknown'}`, authenticated: false };
}
