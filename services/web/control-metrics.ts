/**
 * Gauges of the shared control plane, computed from Redis at scrape time, so
 * Prometheus can alert on them: breaker state, kill switch, trading state,
 * heartbeat age per service, market-data age per symbol.
 */
import { readControl } from '../core/control/read.ts';
import { effectiveTrading } from '../core/domain/control-state.ts';
import { newestHeartbeatByService, parseHeartbeats } from '../core/heartbeats.ts';
import { Gauge } from '../core/metrics.ts';
import type { ServiceContext } from '../core/service.ts';

const BREAKER = { CLOSED: 0, HALF_OPEN: 1, OPEN: 2 } as const;
const TRADING = { ACTIVE: 0, REDUCING: 1, HALTED: 2 } as const;

export function registerControlMetrics(ctx: ServiceContext, requiredServices: readonly string[]): void {
  const { redis, keys, shards, registry } = ctx;
  const now = (): number => ctx.clock.now();
  new Gauge({
    name: 'circuit_breaker_state',
    help: 'Shared circuit breaker: 0 CLOSED, 1 HALF_OPEN, 2 OPEN',
    registers: [registry],
    async collect() {
      const c = await readControl(redis, keys, now()).catch(() => undefined);
      this.set(c ? BREAKER[c.breaker.state] : BREAKER.OPEN);
    },
  });
  new Gauge({
    name: 'kill_switch_engaged',
    help: '1 while the kill switch is engaged',
    registers: [registry],
    async collect() {
      const c = await readControl(redis, keys, now()).catch(() => undefined);
      this.set(!c || c.killSwitch.engaged ? 1 : 0);
    },
  });
  new Gauge({
    name: 'trading_state',
    help: 'Trading state: 0 ACTIVE, 1 REDUCING, 2 HALTED',
    registers: [registry],
    async collect() {
      const c = await readControl(redis, keys, now()).catch(() => undefined);
      this.set(c ? TRADING[effectiveTrading(c).state] : TRADING.HALTED);
    },
  });
  new Gauge({
    name: 'service_heartbeat_age_seconds',
    help: 'Seconds since the newest heartbeat of each service',
    labelNames: ['service'],
    registers: [registry],
    async collect() {
      const members = await redis.zrange(keys.heartbeats, '0', '-1', 'WITHSCORES').catch(() => [] as string[]);
      const newest = newestHeartbeatByService(parseHeartbeats(members));
      for (const s of requiredServices) {
        const ts = newest[s];
        this.set({ service: s }, ts === undefined ? 1e9 : (now() - ts) / 1000);
      }
    },
  });
  new Gauge({
    name: 'market_data_age_seconds',
    help: 'Seconds since the last tick of each symbol',
    labelNames: ['symbol'],
    registers: [registry],
    async collect() {
      const perShard = await Promise.all(shards.keys.map((k) => redis.hgetall(k.marketDataSeen).catch((): Record<string, string> => ({}))));
      const seen: Record<string, string> = Object.fromEntries(perShard.flatMap((h) => Object.entries(h)));
      for (const [symbol, ts] of Object.entries(seen)) this.set({ symbol }, (now() - Number(ts)) / 1000);
    },
  });
}
