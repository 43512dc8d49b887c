/**
 * npm run redis-users -- [--dir <dir>] [--cluster]
 *
 * Writes the least-privilege Redis users (services/core/redis/acl.ts) for the
 * namespace TP_NAMESPACE: <dir>/users.acl, an ACL file for redis-server's
 * `aclfile` (password hashes only), and <dir>/<role>.password, mode 0600, one
 * per user. Passwords already there are kept, so a rerun only refreshes the
 * rules. Default dir: <DATA_DIR>/redis-acl (what npm start uses for its
 * embedded Redis); docker-compose runs it once in its `redis-users` service.
 * `--cluster` (or a redis-cluster:// REDIS_URL): the keys carry the Cluster
 * hash tag. Prints the users, never a password.
 * Exit 0 written, 2 usage, 78 bad settings.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeAclFiles } from '../services/core/redis/acl-setup.ts';
import { isClusterUrl, shardsFor } from '../services/core/redis/connect.ts';
import { EXIT_CONFIG } from '../services/core/errors.ts';
import { EMBEDDED_ACL_DIR, cliEnvironment } from '../services/core/settings.ts';

let values: { dir?: string | undefined; cluster?: boolean | undefined };
try {
  ({ values } = parseArgs({ options: { dir: { type: 'string' }, cluster: { type: 'boolean', default: false } } }));
} catch (err) {
  console.error(`${err instanceof Error ? err.message : String(err)}\nusage: npm run redis-users -- [--dir <dir>] [--cluster]`);
  process.exit(2);
}
const cli = cliEnvironment();
if (!cli.ok) {
  console.error(`settings: ${cli.error}`);
  process.exit(EXIT_CONFIG);
}
const cluster = values.cluster === true || isClusterUrl(cli.env.redisUrl ?? '');
const url = cluster ? 'redis-cluster://127.0.0.1:6379' : cli.env.redisUrl;
const dir = resolve(values.dir ?? resolve(cli.env.dataDir, EMBEDDED_ACL_DIR));
const set = writeAclFiles(dir, shardsFor(url, cli.env.namespace, cli.env.shards), { cluster });
console.log(`[redis-users] ${dir}/users.acl: ${set.users.map((u) => u.name).join(', ')} (passwords in ${dir}/<role>.password, mode 0600)`);
