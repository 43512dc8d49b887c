import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resolveConfigPath } from '../../services/core/config/load.ts';
import { changedRestartOnlyFields, lineOfPath, parseRiskParams } from '../../services/core/config/parse.ts';
import { parseReloadPayload } from '../../services/core/config/reloader.ts';
import { redisKeysFor } from '../../services/core/redis/connect.ts';
import { namespaceFor, namespaceHashTag } from '../../services/core/redis/keys.ts';

const shipped = readFileSync(new URL('../../conf/risk_params.yml', import.meta.url), 'utf8');
const lineOf = (needle: string) => shipped.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('risk params parsing', () => {
  it('accepts the shipped conf/risk_params.yml with a stable version hash', () => {
    const a = parseRiskParams(shipped);
    const b = parseRiskParams(shipped);
    expect(a.ok && b.ok && a.version === b.version).toBe(true);
    if (a.ok) {
      expect(a.config.position_sizing.kelly_fraction).toBe(0.25);
      expect(Object.isFrozen(a.config.position_sizing)).toBe(true);
    }
  });

  it('names file, line, field and reason for an out-of-range value', () => {
    const r = parseRiskParams(shipped.replace('kelly_fraction: 0.25', 'kelly_fraction: 2.5'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toBe(`conf/risk_params.yml:${lineOf('kelly_fraction: 0.25')}: risk_harmoniser.position_sizing.kelly_fraction: Too big: expected number to be <=1`);
  });

  it('rejects unknown fields (a typo cannot silently keep a default)', () => {
    const r = parseRiskParams(shipped.replace('ewma_lambda:', 'ewma_lambdaa:'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain('Unrecognized key: "ewma_lambdaa"');
  });

  it('reports the YAML line of a syntax error', () => {
    const r = parseRiskParams(shipped.replace('kelly_fraction: 0.25', 'kelly_fraction: [0.25'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/^conf\/risk_params\.yml:\d+: invalid YAML/);
  });

  it('rejects a missing root key', () => {
    expect(parseRiskParams('model_router: {}\n').ok).toBe(false);
  });

  it('detects restart-only fields that changed', () => {
    const a = parseRiskParams(shipped);
    const b = parseRiskParams(shipped.replace('portfolio_value_usd: 1000000', 'portfolio_value_usd: 2000000'));
    if (!a.ok || !b.ok) throw new Error('parse');
    expect(changedRestartOnlyFields(a.config, b.config)).toEqual(['position_sizing.portfolio_value_usd']);
    expect(changedRestartOnlyFields(a.config, a.config)).toEqual([]);
  });

  it('finds the line of nested keys and list items', () => {
    const text = 'a:\n  b:\n    - x: 1\n    - x: 2\n      y: 3\n  c: 4\n';
    expect(lineOfPath(text, ['a', 'b', 1, 'y'])).toBe(5);
    expect(lineOfPath(text, ['a', 'c'])).toBe(6);
    expect(lineOfPath(text, ['a', 'b', 0, 'x'])).toBe(3);
  });
});

describe('reload payloads and config paths', () => {
  it('accepts the runbook payloads', () => {
    expect(parseReloadPayload('{"component": "risk_harmoniser", "config_path": "conf/risk_params.yml"}')).toEqual({
      ok: true,
      request: { component: 'risk_harmoniser', config_path: 'conf/risk_params.yml' },
    });
    expect(parseReloadPayload('{"component": "model_router"}').ok).toBe(true);
  });

  it.each([
    ['not json', 'payload is not JSON'],
    ['{"component": "executor"}', 'payload field component'],
    ['{"component": "model_router", "config_path": 3}', 'payload field config_path'],
    ['{"component": "model_router", "extra": 1}', 'payload field'],
  ])('rejects %s', (payload, reason) => {
    const r = parseReloadPayload(payload);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(reason);
  });

  it('keeps config_path inside the config folders', () => {
    expect(resolveConfigPath('conf/risk_params.yml', '/p').ok).toBe(true);
    expect(resolveConfigPath('model_router_rules.yml', '/p').ok).toBe(true);
    expect(resolveConfigPath('../etc/passwd.yml', '/p').ok).toBe(false);
    expect(resolveConfigPath('/etc/x.yml', '/p').ok).toBe(false);
    expect(resolveConfigPath('services/x.yml', '/p').ok).toBe(false);
    expect(resolveConfigPath('conf/risk_params.json', '/p').ok).toBe(false);
  });
});

describe('REDIS_URL forms', async () => {
  const { parseSentinelUrl, parseClusterUrl, connectRedis } = await import('../../services/core/redis/connect.ts');
  it('parses Sentinel URLs', () => {
    expect(parseSentinelUrl('redis-sentinel://pw@s1:26379,s2:26380/mymaster/2')).toEqual({
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      name: 'mymaster',
      db: 2,
      password: 'pw',
    });
    expect(parseSentinelUrl('redis://localhost:6379')).toBeUndefined();
  });
  it('parses Cluster URLs and refuses one it cannot read', () => {
    expect(parseClusterUrl('redis-cluster://a:7000,b:7001')).toEqual({
      nodes: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 7001 },
      ],
    });
    expect(parseClusterUrl('redis-cluster://s%40cret@10.0.0.1:7000/')).toEqual({ nodes: [{ host: '10.0.0.1', port: 7000 }], password: 's@cret' });
    expect(parseClusterUrl('redis-cluster://trader:pw@a:7000')).toEqual({ nodes: [{ host: 'a', port: 7000 }], username: 'trader', password: 'pw' });
    expect(parseClusterUrl('redis-cluster://:pw@a:7000')).toEqual({ nodes: [{ host: 'a', port: 7000 }], password: 'pw' });
    expect(parseClusterUrl('redis-cluster://a:notaport')).toBeUndefined();
    expect(parseClusterUrl('redis://a:7000')).toBeUndefined();
    expect(() => connectRedis({ url: 'redis-cluster://a:99999', name: 't' })).toThrow(/cannot read .* as redis-cluster:\/\//);
  });
});

describe('key names on Redis Cluster', () => {
  it('takes the hash tag by Redis rule: first "{" to the next "}", not empty', () => {
    expect(namespaceHashTag('{tp}')).toBe('tp');
    expect(namespaceHashTag('desk{a}:{b}')).toBe('a');
    expect(namespaceHashTag('{}x{tp}')).toBeUndefined();
    expect(namespaceHashTag('{tp')).toBeUndefined();
    expect(namespaceHashTag('tp:')).toBeUndefined();
  });
  it('keeps the contract names on standalone Redis and tags every key on Cluster', () => {
    expect(namespaceFor(false, undefined)).toBe('');
    expect(namespaceFor(false, 'x:')).toBe('x:');
    expect(namespaceFor(true, undefined)).toBe('{tp}');
    expect(namespaceFor(true, '')).toBe('{tp}');
    expect(namespaceFor(true, '{desk1}:')).toBe('{desk1}:');
    expect(() => namespaceFor(true, 'desk1:')).toThrow(/must contain a hash tag/);
    expect(redisKeysFor('redis-cluster://a:7000', undefined).marketEvents).toBe('{tp}market_events');
    // Channels are in no slot: the runbook's `PUBLISH param.reload` works on Cluster as written.
    expect(redisKeysFor('redis-cluster://a:7000', undefined).paramReload).toBe('param.reload');
    expect(redisKeysFor('redis-cluster://a:7000', '{d}:').controlEvents).toBe('{d}:control.events');
    expect(redisKeysFor('redis://a:6379/0', undefined).marketEvents).toBe('market_events');
    expect(redisKeysFor('redis-cluster://a:7000', '{d}:').edgeBlended('BTC-USD')).toBe('{d}:risk.edge_blended.BTC-USD');
  });
});
