/**
 * Creating the ACL users of acl.ts: as an ACL file (npm start's embedded
 * Redis, docker-compose's Redis; passwords in files of mode 0600 next to it)
 * or with ACL SETUSER on a running Redis (tests, `npm run redis-users --
 * --apply`).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ACL_ROLES, aclFileLine, aclRules, shardedRoleRights, type AclRole, type AclUser } from './acl.ts';
import type { RedisClient } from './connect.ts';
import type { RedisKeys, Shards } from './keys.ts';

/** The user name of a role: the role itself, with `prefix` before it (tests give each namespace its own users). The runbook's role is Redis' `default` user. */
export function aclUserName(role: AclRole | 'admin', prefix = ''): string {
  return role === 'runbook' && prefix === '' ? 'default' : `${prefix}${role}`;
}

export interface AclUserSet {
  /** Every user, the default (runbook) one first. */
  readonly users: readonly AclUser[];
  /** The password of each role's user (the runbook's has none). */
  readonly passwords: ReadonlyMap<AclRole | 'admin', string>;
}

/** A new random password: 32 bytes, hex (ACL passwords are any string; hex survives URLs and shells). */
export function newPassword(): string {
  return randomBytes(32).toString('hex');
}

/**
 * The users of a deployment on `keys`: one per role, plus `admin` (every
 * right) unless `admin: false`. `passwordOf` gives each password (kept ones
 * or new ones); the runbook's user has none (nopass) when it is Redis'
 * default user.
 */
export function aclUserSet(
  keys: RedisKeys | Shards,
  passwordOf: (role: AclRole | 'admin') => string,
  options: { prefix?: string; cluster?: boolean; admin?: boolean } = {},
): AclUserSet {
  const prefix = options.prefix ?? '';
  const shards = 'count' in keys ? keys.keys : [keys];
  const passwords = new Map<AclRole | 'admin', string>();
  const users: AclUser[] = [];
  for (const role of ['runbook', ...ACL_ROLES.filter((r) => r !== 'runbook')] as AclRole[]) {
    const name = aclUserName(role, prefix);
    const password = name === 'default' ? undefined : passwordOf(role);
    if (password !== undefined) passwords.set(role, password);
    users.push({ name, password, rules: aclRules(shardedRoleRights(role, shards, { cluster: options.cluster ?? false })) });
  }
  if (options.admin !== false) {
    const password = passwordOf('admin');
    passwords.set('admin', password);
    users.push({ name: aclUserName('admin', prefix), password, rules: ['allkeys', 'allchannels', '+@all'] });
  }
  return { users, passwords };
}

/**
 * Write `<dir>/users.acl` (the ACL file, hashes only) and `<dir>/<role>.password`
 * (mode 0600) for the users of `keys`. Passwords already in `dir` are kept, so
 * running it again (every `npm start`) only refreshes the rules.
 */
export function writeAclFiles(dir: string, keys: RedisKeys | Shards, options: { cluster?: boolean } = {}): AclUserSet {
  // The folder and users.acl stay readable (redis-server may run as another user, as in docker-compose): the file
  // holds SHA-256 hashes of 256-bit random passwords only. Each password file is its owner's alone.
  mkdirSync(dir, { recursive: true });
  const passwordOf = (role: AclRole | 'admin'): string => {
    const file = passwordFile(dir, role);
    if (existsSync(file)) {
      const kept = readFileSync(file, 'utf8').trim();
      if (kept !== '') return kept;
    }
    const fresh = newPassword();
    writeFileSync(file, `${fresh}\n`, { mode: 0o600 });
    return fresh;
  };
  const set = aclUserSet(keys, passwordOf, options);
  for (const role of set.passwords.keys()) chmodSync(passwordFile(dir, role), 0o600);
  const tmp = join(dir, 'users.acl.tmp');
  writeFileSync(tmp, `${set.users.map(aclFileLine).join('\n')}\n`, { mode: 0o644 });
  renameSync(tmp, join(dir, 'users.acl'));
  return set;
}

/** Where a role's password is kept in an ACL directory. */
export function passwordFile(dir: string, role: AclRole | 'admin'): string {
  return join(dir, `${role}.password`);
}

/** Create or update the users on a running Redis (ACL SETUSER; the connection must be allowed to). */
export async function applyAclUsers(admin: RedisClient, users: readonly AclUser[]): Promise<void> {
  for (const u of users) {
    await admin.call('ACL', 'SETUSER', u.name, 'reset', 'on', u.password === undefined ? 'nopass' : `>${u.password}`, ...u.rules);
  }
}
