/** Start and stop a throwaway redis-server on a free loopback port. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export interface TestRedis {
  url: string;
  port: number;
  dir: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export async function startRedis(options: { port?: number; dir?: string; appendonly?: boolean; extraArgs?: string[] } = {}): Promise<TestRedis> {
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'tp-redis-'));
  const proc = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      options.appendonly === false ? 'no' : 'yes',
      '--save',
      '',
      ...(options.extraArgs ?? ['--databases', '16']),
    ],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}/0`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`redis-server did not start on ${port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  probe.disconnect();
  return {
    url,
    port,
    dir,
    process: proc,
    stop: async () => {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => proc.once('exit', r));
      }
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ClusterNode {
  port: number;
  id: string;
  role: 'master' | 'replica';
  /** The master's id, for a replica. */
  masterId?: string;
  /** Slot ranges served, for a master. */
  slots: [number, number][];
}

export interface TestRedisCluster {
  /** redis-cluster://127.0.0.1:p1,127.0.0.1:p2,... */
  url: string;
  ports: number[];
  /** CLUSTER NODES as seen now. */
  nodes(): ClusterNode[];
  stop(): Promise<void>;
}

/**
 * A throwaway Redis Cluster: `masters` redis-server processes in cluster mode,
 * each with `replicas` replicas, joined by `redis-cli --cluster create`, ready
 * when every node reports cluster_state:ok and every replica is in sync.
 */
export async function startRedisCluster(masters = 3, replicas = 0): Promise<TestRedisCluster> {
  const nodes: TestRedis[] = [];
  for (let i = 0; i < masters * (1 + replicas); i++) nodes.push(await startClusterNode());
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  const cli = (port: number, ...args: string[]): string => execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' });
  const list = (): ClusterNode[] =>
    cli(nodes[0]!.port, 'cluster', 'nodes')
      .trim()
      .split('\n')
      .map((line) => {
        const [id = '', addr = '', flags = '', master = '-', , , , , ...slots] = line.split(' ');
        return {
          id,
          port: Number(addr.split('@')[0]!.split(':')[1]),
          role: flags.includes('master') ? ('master' as const) : ('replica' as const),
          ...(master !== '-' ? { masterId: master } : {}),
          slots: slots
            .filter((r) => /^\d/.test(r))
            .map((r) => r.split('-').map(Number) as [number, number])
            .map(([a, b]) => [a, b ?? a] as [number, number]),
        };
      });
  try {
    execFileSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'], {
      stdio: 'ignore',
      timeout: 30_000,
    });
    const deadline = Date.now() + 30_000;
    for (const n of nodes) {
      for (;;) {
        const info = cli(n.port, 'cluster', 'info');
        const repl = cli(n.port, 'info', 'replication');
        if (info.includes('cluster_state:ok') && (repl.includes('role:master') || repl.includes('master_link_status:up'))) break;
        if (Date.now() > deadline) throw new Error(`cluster node ${n.port} not ready: ${info.split('\n')[0]}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const ports = nodes.map((n) => n.port);
  return { url: `redis-cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`, ports, nodes: list, stop };
}

function startClusterNode(): Promise<TestRedis> {
  return startRedis({ appendonly: false, extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000'] });
}

export interface TestSentinelSet {
  /** redis-sentinel://127.0.0.1:<sentinel port>/<master name> */
  url: string;
  master: TestRedis;
  replica: TestRedis;
  sentinelPort: number;
  /** Port of the master as the sentinel names it now. */
  masterPort(): number;
  stop(): Promise<void>;
}

/**
 * A master, one replica and one sentinel watching them (quorum 1, down after
 * 1 s), ready when the sentinel knows the replica, so a failover can promote it.
 */
export async function startSentinelSet(masterName = 'tpmaster'): Promise<TestSentinelSet> {
  const master = await startRedis({ appendonly: false });
  const replica = await startRedis({ appendonly: false, extraArgs: ['--replicaof', '127.0.0.1', String(master.port)] });
  const sentinelPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tp-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${sentinelPort}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${masterName} 127.0.0.1 ${master.port} 1`,
      `sentinel down-after-milliseconds ${masterName} 1000`,
      `sentinel failover-timeout ${masterName} 10000`,
      '',
    ].join('\n'),
  );
  const sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  const stop = async (): Promise<void> => {
    if (sentinel.exitCode === null) {
      sentinel.kill('SIGTERM');
      await new Promise((r) => sentinel.once('exit', r));
    }
    await Promise.all([master.stop(), replica.stop()]);
    rmSync(dir, { recursive: true, force: true });
  };
  const ask = (...args: string[]): string => execFileSync('redis-cli', ['-p', String(sentinelPort), ...args], { encoding: 'utf8' });
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      let replicas = '';
      try {
        replicas = ask('sentinel', 'replicas', masterName);
      } catch {
        // not listening yet
      }
      if (replicas.includes(String(replica.port)) && !replicas.includes('s_down')) break;
      if (Date.now() > deadline) throw new Error(`sentinel on ${sentinelPort} does not see replica ${replica.port}: ${replicas}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url: `redis-sentinel://127.0.0.1:${sentinelPort}/${masterName}`,
    master,
    replica,
    sentinelPort,
    masterPort: () => Number(ask('sentinel', 'get-master-addr-by-name', masterName).trim().split('\n')[1]),
    stop,
  };
}
