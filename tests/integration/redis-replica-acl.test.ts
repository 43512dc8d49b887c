/**
 * The `replica` ACL role (acl.ts) as a replica uses it: a redis-server
 * started with `--masteruser <replica> --masterauth <password>` syncs from a
 * master whose users are the deployment's, and follows its writes; the same
 * user may not read or write a key on the master.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aclUserName, aclUserSet, applyAclUsers, newPassword } from '../../services/core/redis/acl-setup.ts';
import { redisKeys } from '../../services/core/redis/keys.ts';
import { startRedis, type TestRedis } from '../support/redis-server.ts';
import { eventually } from '../support/system.ts';

describe('the replica user', () => {
  const prefix = 'rep-';
  const users = aclUserSet(redisKeys(''), () => newPassword(), { prefix });
  let master: TestRedis;
  let replica: TestRedis | undefined;
  const clients: Redis[] = [];
  const connect = (url: string, user?: string, password?: string): Redis => {
    const c = new Redis(url, { ...(user ? { username: user, password: password ?? '' } : {}), maxRetriesPerRequest: 0 });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    master = await startRedis({ appendonly: false });
    await applyAclUsers(connect(master.url), users.users);
  }, 30_000);

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await replica?.stop();
    await master?.stop();
  });

  it('syncs a replica and streams the master writes to it, and is refused keys on the master', async () => {
    const name = aclUserName('replica', prefix);
    const password = users.passwords.get('replica')!;
    replica = await startRedis({ appendonly: false, extraArgs: ['--replicaof', '127.0.0.1', String(master.port), '--masteruser', name, '--masterauth', password] });
    const onReplica = connect(replica.url);
    await eventually(async () => /master_link_status:up/.test(await onReplica.info('replication')), 15_000, 'the replica linked to the master');

    const admin = connect(master.url, aclUserName('admin', prefix), users.passwords.get('admin'));
    await admin.set('control:trading', 'HALTED');
    await admin.xadd('market_events', '*', 'symbol', 'BTC-USD');
    await eventually(async () => (await onReplica.get('control:trading')) === 'HALTED' && (await onReplica.xlen('market_events')) === 1, 10_000, 'the writes on the replica');

    const asReplica = connect(master.url, name, password);
    await expect(asReplica.get('control:trading')).rejects.toThrow(/NOPERM/);
    await expect(asReplica.set('control:trading', 'ACTIVE')).rejects.toThrow(/NOPERM/);
    // A wrong password does not link.
    const other = await startRedis({ appendonly: false, extraArgs: ['--replicaof', '127.0.0.1', String(master.port), '--masteruser', name, '--masterauth', 'wrong'] });
    try {
      await new Promise((r) => setTimeout(r, 1_500));
      expect(await connect(other.url).info('replication')).toMatch(/master_link_status:down/);
    } finally {
      await other.stop();
    }
  });
});
