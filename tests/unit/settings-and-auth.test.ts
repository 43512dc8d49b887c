/** Settings from the environment, the API's exposure and identity rules, log level names, the kill-switch wording. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../services/core/log.ts';
import { controlLogLine } from '../../services/core/domain/control-state.ts';
import { parseSettings, settingsFrom, SETTINGS_DOC } from '../../services/core/settings.ts';
import { authenticate, decideExposure, identify, isLoopbackAddress } from '../../services/web/auth.ts';

describe('settings', () => {
  it('gives every default without an environment', () => {
    const s = settingsFrom({});
    expect(s).toMatchObject({
      logLevel: 'info',
      heartbeatIntervalMs: 1_000,
      claimIdleMs: 5_000,
      executionMode: 'PAPER',
      web: { host: '127.0.0.1', port: 8080, token: undefined, rateLimitPerMinute: 60 },
      feed: { rate: 200, seed: 42 },
    });
    expect(Object.isFrozen(s.web)).toBe(true);
  });

  it('names the variable, what was expected and what was found, never a secret', () => {
    const r = parseSettings({ FEED_RATE: 'fast', WEB_PORT: '70000', WEB_TOKEN: 'short', LOG_LEVEL: 'loud' });
    expect(r.ok).toBe(false);
    const errors = r.ok ? [] : r.errors;
    expect(errors).toContainEqual(expect.stringMatching(/^FEED_RATE: .*found "fast"$/));
    expect(errors).toContainEqual(expect.stringMatching(/^WEB_PORT: .*found "70000"$/));
    expect(errors).toContainEqual('WEB_TOKEN: expected at least 16 characters, found a value (not shown)');
    expect(errors.join(' ')).not.toContain('short');
  });

  it('reads one token per operator and refuses malformed or shared ones', () => {
    expect(settingsFrom({ WEB_OPERATOR_TOKENS: 'alice=aaaaaaaaaaaaaaaa1, bob=bbbbbbbbbbbbbbbb2' }).web.operatorTokens).toEqual({
      alice: 'aaaaaaaaaaaaaaaa1',
      bob: 'bbbbbbbbbbbbbbbb2',
    });
    expect(parseSettings({ WEB_OPERATOR_TOKENS: 'alice=aaaaaaaaaaaaaaaa1,bob=aaaaaaaaaaaaaaaa1' }).ok).toBe(false);
    expect(parseSettings({ WEB_OPERATOR_TOKENS: 'alice:short' }).ok).toBe(false);
  });

  it('documents every variable it reads', () => {
    expect(Object.keys(SETTINGS_DOC).length).toBeGreaterThan(30);
    for (const [name, doc] of Object.entries(SETTINGS_DOC)) expect(doc.length, name).toBeGreaterThan(10);
  });
});

describe('API exposure', () => {
  const resolveTo = (addresses: string[]) => async () => addresses;
  it('decides on addresses: a name that only looks like 127.0.0.1 is not loopback', async () => {
    const s = settingsFrom({ WEB_HOST: '127.0.0.1.nip.io' });
    expect(await decideExposure(s, resolveTo(['203.0.113.7']))).toEqual({
      ok: false,
      reason: 'WEB_HOST=127.0.0.1.nip.io is not loopback (203.0.113.7): set WEB_TOKEN or WEB_OPERATOR_TOKENS so mutating requests can be authenticated',
    });
    expect(await decideExposure(s, resolveTo(['127.0.0.1']))).toMatchObject({ ok: true, loopback: true });
    expect(await decideExposure(settingsFrom({ WEB_HOST: 'localhost' }), resolveTo(['127.0.0.1', '::1']))).toMatchObject({ ok: true, loopback: true });
    expect(await decideExposure(settingsFrom({ WEB_HOST: 'both' }), resolveTo(['127.0.0.1', '10.0.0.2']))).toMatchObject({ ok: false });
    expect(await decideExposure(settingsFrom({ WEB_HOST: 'nowhere.invalid' }), async () => Promise.reject(Object.assign(new Error('x'), { code: 'ENOTFOUND' })))).toEqual({
      ok: false,
      reason: 'WEB_HOST=nowhere.invalid cannot be resolved (ENOTFOUND)',
    });
    expect(await decideExposure(settingsFrom({ WEB_HOST: '0.0.0.0', WEB_TOKEN: 'x'.repeat(16) }))).toMatchObject({ ok: true, loopback: false });
  });

  it.each([
    ['127.0.0.1', true],
    ['127.255.0.9', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['10.1.2.3', false],
    ['::', false],
    ['128.0.0.1', false],
    ['localhost', false],
  ])('%s is loopback: %s', (address, loopback) => {
    expect(isLoopbackAddress(address)).toBe(loopback);
  });
});

describe('identity', () => {
  const s = settingsFrom({ WEB_TOKEN: 'shared-token-0123456789', WEB_OPERATOR_TOKENS: 'alice=alice-token-0123456789' });
  it('a per-operator token names its operator; a claimed name does not', () => {
    const alice = authenticate('Bearer alice-token-0123456789', s, false);
    expect(alice).toEqual({ ok: true, caller: { kind: 'operator', name: 'alice' } });
    if (!alice.ok) return;
    expect(identify(alice.caller, undefined, '10.0.0.1')).toEqual({ ok: true, by: 'alice', authenticated: true });
    expect(identify(alice.caller, 'bob', '10.0.0.1')).toEqual({ ok: false, error: 'operator "bob" does not match the authenticated operator "alice"' });
    const shared = authenticate('Bearer shared-token-0123456789', s, false);
    expect(shared.ok && identify(shared.caller, 'bob', '10.0.0.1')).toEqual({ ok: true, by: 'bob', authenticated: false });
  });
  it('loopback takes no token but refuses a wrong one; elsewhere a token is required', () => {
    expect(authenticate(undefined, s, true)).toEqual({ ok: true, caller: { kind: 'anonymous' } });
    expect(authenticate('Bearer nope', s, true)).toMatchObject({ ok: false, status: 401 });
    expect(authenticate(undefined, s, false)).toMatchObject({ ok: false, status: 401 });
  });
});

describe('log lines', () => {
  it('write the level as its name, so grep -i error finds error lines', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        lines.push(chunk.toString());
        cb();
      },
    });
    createLogger('web', 'web-1', 'info', sink).error({ event: 'kill_switch.engaged' }, 'x');
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'error', event: 'kill_switch.engaged' });
  });
  it('say the kill switch the same way on every path', () => {
    const msg = (e: Parameters<typeof controlLogLine>[0]): string => controlLogLine(e).msg;
    expect(msg({ type: 'KillSwitchEngaged', trigger: 'manual', reason: 'VaR breach', scope: 'system', by: 'x' })).toBe('Kill-switch activated: manual (VaR breach)');
    expect(msg({ type: 'KillSwitchEngaged', trigger: 'max_dd_exceeded', reason: 'dd 21%', scope: 'system', by: 'x' })).toBe('Kill-switch activated: max_dd_exceeded (dd 21%)');
    expect(msg({ type: 'KillSwitchEngaged', trigger: 'manual', reason: 'bad prints', scope: 'symbol:BTC-USD', by: 'x' })).toBe(
      'Kill-switch activated: manual (bad prints) [symbol:BTC-USD]',
    );
    expect(msg({ type: 'KillSwitchReset', reason: 'reviewed', scope: 'system', by: 'x' })).toBe('Kill-switch reset: system (reviewed)');
  });
});
