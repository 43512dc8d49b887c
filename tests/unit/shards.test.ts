/** Write shards as names (keys.ts): which symbol goes where, each shard's hash tag and slot, the control plane shared, and the ACL patterns over every shard. */
import calculateSlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { shardedRoleRights } from '../../services/core/redis/acl.ts';
import { CLUSTER_SLOTS, MAX_SHARDS, redisKeys, shardedKeys, shardNamespaces, shardOf } from '../../services/core/redis/keys.ts';
import { LIVE_CONFIRMATION, parseSettings, settingsFrom } from '../../services/core/settings.ts';
import { clientOrderId } from '../../services/executor/on-targets.ts';

describe('write shards', () => {
  it('keeps every name of a one-shard deployment exactly as today', () => {
    const one = shardedKeys('', '', 1);
    const today = redisKeys('');
    expect(one.keys).toHaveLength(1);
    for (const name of ['marketEvents', 'orderIntents', 'killSwitch', 'breaker', 'modelSwitchLog', 'heartbeats'] as const) expect(one.keys[0]![name]).toBe(today[name]);
    expect(one.keys[0]!.edgeBlended('BTC-USD')).toBe('risk.edge_blended.BTC-USD');
    expect(one.of('ANYTHING')).toBe(0);
    const cluster = shardedKeys('{tp}', '', 1);
    expect(cluster.keys[0]!.marketEvents).toBe('{tp}market_events');
  });

  it("maps a symbol to a shard by Redis' CRC16 of its name, the same in every process", () => {
    expect(shardOf('BTC-USD', 3)).toBe(calculateSlot('BTC-USD') % 3);
    expect(['BTC-USD', 'ETH-USD', 'ADA-USD', 'AAPL'].map((s) => shardOf(s, 3))).toEqual([0, 0, 1, 2]);
    for (const n of [2, 3, 4, 8]) for (const s of ['BTC-USD', 'AAPL', 'X']) expect(shardOf(s, n)).toBeLessThan(n);
  });

  it("gives each shard a hash tag of its own whose slot is in the shard's share of the slot space, and leaves the control plane under the namespace", () => {
    for (const count of [2, 3, 4, 6]) {
      const shards = shardedKeys('{tp}', '', count);
      shards.keys.forEach((k, i) => {
        const slot = calculateSlot(k.marketEvents);
        expect(slot).toBeGreaterThanOrEqual(Math.floor((i * CLUSTER_SLOTS) / count));
        expect(slot).toBeLessThan(Math.floor(((i + 1) * CLUSTER_SLOTS) / count));
        // One shard's batch-commit keys share its slot.
        for (const key of [k.strategySignals, k.orderIntents, k.execReports, k.riskState('BTC-USD'), k.position('BTC-USD'), `${k.queuePrefix}:orders-paper`])
          expect(calculateSlot(key)).toBe(slot);
        expect(k.killSwitch).toBe('{tp}control:kill_switch');
        expect(k.heartbeats).toBe('{tp}svc:heartbeats');
        expect(k.paramReload).toBe('param.reload');
      });
      expect(new Set(shards.keys.map((k) => k.dataNamespace)).size).toBe(count);
    }
    expect(shardNamespaces('desk1:{a}:', 2)[1]).toMatch(/^desk1:\{a\.s1(\.\d+)?\}:$/);
    expect(shardNamespaces('', 2)[0]).toMatch(/^\{tp\.s0(\.\d+)?\}$/);
  });

  it('refuses a shard count out of range, and a shard an instance cannot serve', () => {
    expect(() => shardedKeys('', '', 0)).toThrow(/TP_SHARDS/);
    expect(() => shardedKeys('', '', 65)).toThrow(/TP_SHARDS/);
    expect(settingsFrom({ TP_SHARDS: '4' }).shards).toBe(4);
    const bad = parseSettings({ TP_SHARDS: '2', TP_SHARD: '2' });
    expect(bad.ok).toBe(false);
    const live = parseSettings({ TP_SHARDS: '2', VENUE: 'binance', VENUE_API_KEY: 'k', VENUE_API_SECRET: 's', LIVE_TRADING_CONFIRM: LIVE_CONFIRMATION });
    expect(live.ok ? [] : live.errors.join(' ')).toMatch(/one write shard/);
  });

  it("gives each role its patterns on every shard's keys, and no more", () => {
    const shards = shardedKeys('{tp}', '', 3);
    const feed = shardedRoleRights('feed', shards.keys);
    for (const k of shards.keys) expect(feed.write).toContain(k.marketEvents);
    expect(feed.write.filter((p) => p.endsWith('market_events'))).toHaveLength(3);
    expect(shardedRoleRights('runbook', shards.keys).read).toHaveLength(4);
  });
});

describe('client order ids across shards', () => {
  it("carry the shard when there are several (two shards' order_intents can hand out the same entry id), and fit every venue", () => {
    expect(clientOrderId('1796199419005-0')).toBe('T1796199419005-0');
    expect(clientOrderId('1796199419005-0', 0)).not.toBe(clientOrderId('1796199419005-0', 1));
    const longest = clientOrderId(`${Number.MAX_SAFE_INTEGER}-${2 ** 32}`, MAX_SHARDS - 1);
    expect(longest).toMatch(/^[.A-Z:/a-z0-9_-]{1,36}$/);
  });
});
