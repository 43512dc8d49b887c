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

  it('engages with the strategy scope, then refuses a reset by the same operator', async () => {
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

    const out = execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/kill.ts'), '--strategy', 'momo-1', '--reason', 'runaway orders', '--operator', 'alice'], {
      cwd: ROOT,
      env: { ...process.env, REDIS_URL: env.url, TP_NAMESPACE: env.ns },
      encoding: 'utf8',
    });
    expect(out).toContain('Kill-switch triggered for momo-1 due to runaway orders');
    const state = (await (await fetch(`http://127.0.0.1:${port}/admin/kill-switch`)).json()) as Record<string, unknown>;
    expect(state).toMatchObject({ engaged: true, by: 'alice', scope: 'strategy:momo-1', reason: 'runaway orders' });

    const same = await fetch(`http://127.0.0.1:${port}/admin/kill-switch`, { method: 'DELETE', body: '{"reason": "fixed", "operator": "alice"}' });
    expect(same.status).toBe(409);
    expect(((await same.json()) as { error: string }).error).toContain('second operator');
    expect(await env.redis.hget(env.keys.killSwitch, 'engaged')).toBe('1');

    const other = await fetch(`http://127.0.0.1:${port}/admin/kill-switch`, { method: 'DELETE', body: '{"reason": "reviewed and fixed", "operator": "bob"}' });
    expect(other.status).toBe(200);
    const audit = ((await env.redis.xrange(env.keys.killSwitchAudit, '-', '+')) as [string, string[]][]).map(([, f]) => fieldsFromArray(f));
    expect(audit.map((a) => [a['action'], a['by'], a['scope']])).toEqual([
      ['engage', 'alice', 'strategy:momo-1'],
      ['reset', 'bob', 'strategy:momo-1'],
    ]);
    const lines = readFileSync(join(root, 'state', 'kill_events.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
  });
});
