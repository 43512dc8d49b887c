/**
 * The seed's `kill --strategy <id> --reason <text>` from the command line, and
 * the dual-signed reset: with require_second_operator the operator who
 * engaged the kill switch cannot reset it alone, and who they are comes from
 * authentication (their own token over HTTP, their login on the command
 * line), never from a name in the request.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { fieldsFromArray } from '../../services/core/messages.ts';
import { ROOT, type TestEnv, createTestEnv, startTestWeb } from '../support/system.ts';
import { makeProjectDir } from '../support/project-dir.ts';

const ALICE = 'alice-token-0123456789abcdef';
const BOB = 'bob-token-0123456789abcdef';

describe('kill from the command line, reset by a second operator', () => {
  let env: TestEnv;
  afterAll(async () => {
    await env.close();
  });

  it('kills one strategy from the CLI as the login running it; a reset needs another authenticated operator; a claimed name proves nothing', async () => {
    const root = makeProjectDir('dual', { risk: (t) => t.replace('require_second_operator: false', 'require_second_operator: true') });
    env = createTestEnv(inject('redisUrl'), 'dual', { TP_ROOT: root, STATE_DIR: join(root, 'state') });
    const port = (await startTestWeb(env, undefined, { settings: { REQUIRED_SERVICES: 'none', WEB_OPERATOR_TOKENS: `alice=${ALICE},bob=${BOB}` } })).port;
    const url = `http://127.0.0.1:${port}/admin/kill-switch`;
    const login = `${userInfo().username}@${hostname()}`;

    const cli = (...args: string[]): { code: number; out: string } => {
      try {
        return {
          code: 0,
          out: execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/kill.ts'), ...args], {
            cwd: ROOT,
            env: { ...process.env, REDIS_URL: env.url, TP_NAMESPACE: env.ns, ...env.settings },
            encoding: 'utf8',
            stdio: 'pipe',
          }),
        };
      } catch (err) {
        const e = err as { status: number; stderr: string };
        return { code: e.status, out: e.stderr };
      }
    };
    // A strategy is a router model: an unknown one is refused, changing nothing.
    const unknown = cli('--strategy', 'momo-1', '--reason', 'runaway orders');
    expect(unknown.code).toBe(1);
    expect(unknown.out).toMatch(/kill refused: unknown model momo-1/);
    expect(await env.redis.exists(env.keys.killSwitchAudit)).toBe(0);
    // The CLI acts as the login: it will not take another name when a second operator is required.
    expect(cli('--strategy', 'momentum', '--reason', 'runaway orders', '--operator', 'alice')).toMatchObject({
      code: 1,
      out: expect.stringContaining('the CLI acts as your login') as unknown,
    });

    const out = cli('--strategy', 'momentum', '--reason', 'runaway orders');
    expect(out.out).toContain(`Kill-switch activated: manual (runaway orders) [model:momentum] by ${login}`);
    const state = (await (await fetch(url)).json()) as Record<string, unknown>;
    expect(state).toMatchObject({ engaged: false, scoped: [{ scope: 'model:momentum', kind: 'kill', by: login, reason: 'runaway orders' }] });

    // The same login cannot reset it from the CLI.
    expect(cli('--reset', '--strategy', 'momentum', '--reason', 'fixed')).toMatchObject({
      code: 1,
      out: expect.stringContaining(`reset needs a second operator: ${login} engaged it`) as unknown,
    });
    // Over HTTP, a name in the body or an X-Operator header is not an identity.
    for (const r of [
      await fetch(url, { method: 'DELETE', body: '{"reason": "fixed", "operator": "bob", "scope": "strategy:momentum"}' }),
      await fetch(url, { method: 'DELETE', headers: { 'x-operator': 'bob' }, body: '{"reason": "fixed", "scope": "strategy:momentum"}' }),
    ]) {
      expect(r.status).toBe(403);
      expect(((await r.json()) as { error: string }).error).toContain('authenticated');
    }
    // A token names its operator: claiming another name with it is refused.
    const claimed = await fetch(url, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${BOB}` },
      body: '{"reason": "fixed", "operator": "carol", "scope": "model:momentum"}',
    });
    expect(claimed.status).toBe(403);
    expect(await env.redis.hexists(env.keys.scopedControls, 'model:momentum')).toBe(1);

    const other = await fetch(url, { method: 'DELETE', headers: { authorization: `Bearer ${BOB}` }, body: '{"reason": "reviewed and fixed", "scope": "model:momentum"}' });
    expect(other.status).toBe(200);
    expect(await env.redis.hexists(env.keys.scopedControls, 'model:momentum')).toBe(0);

    // System-wide over HTTP by alice; alice cannot reset it, bob can.
    expect((await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${ALICE}` }, body: '{"reason": "desk halt"}' })).status).toBe(200);
    expect(await env.redis.hget(env.keys.killSwitch, 'engaged')).toBe('1');
    const self = await fetch(url, { method: 'DELETE', headers: { authorization: `Bearer ${ALICE}` }, body: '{"reason": "all clear"}' });
    expect(self.status).toBe(409);
    expect(((await self.json()) as { error: string }).error).toContain('reset needs a second operator: alice engaged it');
    expect((await fetch(url, { method: 'DELETE', headers: { authorization: `Bearer ${BOB}` }, body: '{"reason": "all clear"}' })).status).toBe(200);
    expect(await env.redis.hget(env.keys.killSwitch, 'engaged')).toBe('0');

    const audit = ((await env.redis.xrange(env.keys.killSwitchAudit, '-', '+')) as [string, string[]][]).map(([, f]) => fieldsFromArray(f));
    expect(audit.map((a) => [a['action'], a['by'], a['scope']])).toEqual([
      ['engage', login, 'model:momentum'],
      ['reset', 'bob', 'model:momentum'],
      ['engage', 'alice', 'system'],
      ['reset', 'bob', 'system'],
    ]);
    const lines = readFileSync(join(root, 'state', 'kill_events.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(lines).toHaveLength(4);
  });
});
