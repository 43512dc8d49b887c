/** The least-privilege Redis users as data: patterns, ACL file lines, refusal keys, the password-file settings. */
import { mkdtempSync, readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aclFileLine, aclRules, appliersOf, commandKeys, globLiteral, passwordHash, roleRights } from '../../services/core/redis/acl.ts';
import { aclUserSet, writeAclFiles } from '../../services/core/redis/acl-setup.ts';
import { redisKeys } from '../../services/core/redis/keys.ts';
import { parseSettings } from '../../services/core/settings.ts';

/** A Redis glob, matched as Redis does for the patterns acl.ts writes (`*`, and `\` escapes). */
function globMatches(glob: string, key: string): boolean {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '\\') re += glob[++i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's').test(key);
}
const writes = (patterns: readonly string[], key: string): boolean => patterns.some((p) => globMatches(p, key));

describe('Redis ACL roles', () => {
  const keys = redisKeys();

  it('lets only the control plane owners write the kill switch and trading state', () => {
    const owners = (key: string): string[] =>
      (['feed', 'strategist', 'risk-harmoniser', 'executor', 'web', 'operator', 'runbook', 'replica'] as const).filter((r) => writes(roleRights(r, keys).write, key));
    expect(owners(keys.killSwitch)).toEqual(['executor', 'web', 'operator']);
    expect(owners(keys.tradingState)).toEqual(['executor', 'web', 'operator']);
    expect(owners(keys.routerControl)).toEqual(['strategist', 'web', 'operator']);
    expect(owners(keys.marketEvents)).toEqual(['feed', 'strategist']);
    expect(owners(keys.edgeBlended('BTC-USD'))).toEqual(['risk-harmoniser']);
  });

  it('gives every role read access to its namespace only, and the runbook user no write at all', () => {
    const ns = redisKeys('desk1:');
    const r = roleRights('strategist', ns);
    expect(r.read).toEqual(['desk1:*']);
    expect(writes(r.write, 'desk1:strategy_signals')).toBe(true);
    expect(writes(r.write, 'strategy_signals')).toBe(false);
    expect(roleRights('runbook', ns).write).toEqual([]);
    expect(roleRights('runbook', ns).channels).toEqual(['desk1:param.reload']);
  });

  it('writes Redis glob characters in a namespace literally', () => {
    expect(globLiteral('{tp}a*b?[c]\\')).toBe('{tp}a\\*b\\?\\[c\\]\\\\');
    const r = roleRights('feed', redisKeys('[x]:'));
    expect(writes(r.write, '[x]:market_events')).toBe(true);
    expect(writes(r.write, 'x:market_events')).toBe(false);
    expect(writes(r.write, '[x]:tick:last:ETH-USD')).toBe(true);
  });

  it('keeps the replay namespace under the hash tag of its own on Cluster', () => {
    expect(writes(roleRights('web', keys, { cluster: true }).write, '{replay-abc}:market_events')).toBe(true);
    expect(writes(roleRights('web', keys).write, 'replay-abc:market_events')).toBe(true);
    expect(writes(roleRights('executor', keys).write, 'replay-abc:market_events')).toBe(false);
  });

  it('turns rights into ACL rules and file lines that hold hashes, not passwords', () => {
    const rules = aclRules(roleRights('feed', keys));
    expect(rules.slice(0, 2)).toEqual(['resetkeys', 'resetchannels']);
    expect(rules).toContain('~market_events');
    expect(rules).toContain('%R~*');
    expect(rules).toContain('&param.reload');
    expect(rules).toContain('-@dangerous');
    const line = aclFileLine({ name: 'feed', password: 'secret', rules });
    expect(line).toMatch(/^user feed on #[0-9a-f]{64} resetkeys /);
    expect(line).toContain(passwordHash('secret'));
    expect(line).not.toContain('secret');
    expect(aclFileLine({ name: 'default', password: undefined, rules: [] })).toBe('user default on nopass');
  });

  it('names the keys a refused command touched', () => {
    expect(commandKeys('evalsha', ['abc', '2', 'k1', 'k2', 'arg'])).toEqual(['k1', 'k2']);
    expect(commandKeys('xreadgroup', ['GROUP', 'g', 'c', 'COUNT', '10', 'STREAMS', 's1', 's2', '>', '>'])).toEqual(['s1', 's2']);
    expect(commandKeys('set', ['control:kill_switch', '1'])).toEqual(['control:kill_switch']);
    expect(commandKeys('ping', [])).toEqual([]);
  });

  it('says which services apply each reloadable component', () => {
    expect(appliersOf('model_router')).toEqual(['strategist']);
    expect(appliersOf('risk_harmoniser')).toEqual(['risk-harmoniser', 'executor', 'web']);
    expect(appliersOf('instruments')).toHaveLength(5);
  });

  it('writes the ACL file and password files once, keeping the passwords on a rerun', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-acl-'));
    const first = writeAclFiles(dir, keys);
    expect(statSync(join(dir, 'feed.password')).mode & 0o777).toBe(0o600);
    const file = readFileSync(join(dir, 'users.acl'), 'utf8');
    expect(file.split('\n')[0]).toMatch(/^user default on nopass /);
    for (const pw of first.passwords.values()) expect(file).not.toContain(pw);
    const second = writeAclFiles(dir, keys);
    expect([...second.passwords]).toEqual([...first.passwords]);
    expect(aclUserSet(keys, () => 'x', { prefix: 't1-', admin: false }).users.map((u) => u.name)).not.toContain('t1-admin');
  });
});

describe('Redis user settings', () => {
  it('needs the user and its password file together, and the file private', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-pw-'));
    const file = join(dir, 'feed.password');
    writeFileSync(file, 'pw\n', { mode: 0o600 });
    const ok = parseSettings({ REDIS_USERNAME: 'feed', REDIS_PASSWORD_FILE: file });
    expect(ok.ok && ok.settings.redisAuth).toEqual({ username: 'feed', password: 'pw' });
    expect(parseSettings({ REDIS_USERNAME: 'feed' }).ok).toBe(false);
    chmodSync(file, 0o644);
    const open = parseSettings({ REDIS_USERNAME: 'feed', REDIS_PASSWORD_FILE: file });
    expect(open.ok ? [] : open.errors).toContainEqual(expect.stringMatching(/readable by others .*chmod 600/));
  });

  it('refuses WAIT for replicas on Cluster', () => {
    const r = parseSettings({ REDIS_URL: 'redis-cluster://127.0.0.1:7000', REDIS_WAIT_REPLICAS: '1' });
    expect(r.ok ? [] : r.errors).toContainEqual(expect.stringMatching(/^REDIS_WAIT_REPLICAS: not supported on Redis Cluster/));
  });
});
