/**
 * The seed's `kill --strategy <id> --reason <text>` from the command line, and
 * the dual-signed reset: with require_second_operator the operator who
 * engaged the kill switch cannot reset it alone.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { fieldsFromArray } from '../../services/core/messages.ts';
import { startWeb } from '../../services/web/service.ts';
import { createTestEnv, ROOT, type TestEnv } from '../support/system.ts';
import { makeProjectDir } from '../support/project-dir.ts';

describe('kill from the command line, reset by a second operator', () => {
  let env: TestEnv;
  afterAll(async () => {
    delete process.env['TP_ROOT'];
    delete process.env['STATE_DIR'];
    await env.close();
  });

  it('kills one strategy (a model) from the CLI, refuses an unknown one and a reset by the same operator; system kill and reset from the CLI', async () => {
    const root = makeProjectDir('dual', { risk: (t) => t.replace('require_second_operator: false', 'require_second_operator: true') });
    process.env['TP_ROOT'] = root;
    process.env['STATE_DIR'] = join(root, 'state');
    env = createTestEnv(inject('redisUrl'), 'dual');
    let port = 0;
    await env.start('web', async (ctx) => {
      const w = await startWeb(ctx, { host: '127.0.0.1', port: 0, token: undefined, requiredServices: [] });
      port = w.port;
      return w;
    });

    const cli = (...args: string[]): { code: number; out: string } => {
      try {
        return { code: 0, out: execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/kill.ts'), ...args], { cwd: ROOT, env: { ...process.env, REDIS_URL: env.url, TP_NAMESPACE: env.ns }, encoding: 'utf8', stdio: 'pipe' }) };
      } catch (err) {
        const e = err as { status: number; stderr: string };
        return { code: e.status, out: e.stderr };
      }
    };
    // A strategy is a router model: an unknown one is refused, changing nothing.
    const unknown = cli('--strategy', 'momo-1', '--reason', 'runaway orders', '--operator', 'alice');
    expect(unknown.code).toBe(1);
    expect(unknown.out).toMatch(/kill refused: unknown model momo-1/);
    expect(await env.redis.exists(env.keys.killSwitchAudit)).toBe(0);

    const out = cli('--strategy', 'momentum', '--reason', 'runaway orders', '--operator', 'alice');
    expect(out.out).toContain('Kill-switch triggered for model:momentum due to runaway orders');
    const state = (await (await fetch(`http://127.0.0.1:${port}/admin/kill-switch`)).json()) as Record<string, unknown>;
    expect(state).toMatchObject({ engaged: false, scoped: [{ scope: 'model:momentum', kind: 'kill', by: 'alice', reason: 'runaway orders' }] });

    // The same operator cannot reset it, neither over HTTP nor from the CLI.
    const same = await fetch(`http://127.0.0.1:${port}/admin/kill-switch`, { method: 'DELETE', body: '{"reason": "fixed", "operator": "alice", "scope": "strategy:momentum"}' });
    expect(same.status).toBe(409);
    expect(((await same.json()) as { error: string }).error).toContain('second operator');
    const sameCli = cli('--reset', '--strategy', 'momentum', '--reason', 'fixed', '--operator', 'alice');
    expect(sameCli).toMatchObject({ code: 1, out: expect.stringContaining('reset needs a second operator: alice engaged it') as unknown });
    expect(await env.redis.hexists(env.keys.scopedControls, 'model:momentum')).toBe(1);

    const other = await fetch(`http://127.0.0.1:${port}/admin/kill-switch`, { method: 'DELETE', body: '{"reason": "reviewed and fixed", "operator": "bob", "scope": "model:momentum"}' });
    expect(other.status).toBe(200);
    expect(await env.redis.hexists(env.keys.scopedControls, 'model:momentum')).toBe(0);

    // System-wide from the CLI, reset from the CLI by a second operator.
    expect(cli('--reason', 'desk halt', '--operator', 'alice').out).toContain('Kill-switch triggered for system due to desk halt');
    expect(await env.redis.hget(env.keys.killSwitch, 'engaged')).toBe('1');
    expect(cli('--reset', '--reason', 'all clear', '--operator', 'bob').code).toBe(0);
    expect(await env.redis.hget(env.keys.killSwitch, 'engaged')).toBe('0');

    const audit = ((await env.redis.xrange(env.keys.killSwitchAudit, '-', '+')) as [string, string[]][]).map(([, f]) => fieldsFromArray(f));
    expect(audit.map((a) => [a['action'], a['by'], a['scope']])).toEqual([
      ['engage', 'alice', 'model:momentum'],
      ['reset', 'bob', 'model:momentum'],
      ['engage', 'alice', 'system'],
      ['reset', 'bob', 'system'],
    ]);
    const lines = readFileSync(join(root, 'state', 'kill_events.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(4);
  });
});
