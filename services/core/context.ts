/**
 * What a service is given: its identity, settings, logger, metrics, Redis
 * connections, key names, clock, and its view of the shared control plane.
 * Types only: the runner (service.ts) builds it, the control watcher
 * (control/watch.ts) implements ControlView, and neither imports the other.
 */
import type { Clock } from './clock.ts';
import type { ControlWriter } from './control/write.ts';
import type { BreakerMove } from './domain/breaker.ts';
import type { ControlSnapshot } from './domain/control-state.ts';
import type { Logger } from './log.ts';
import type { Registry } from './metrics.ts';
import type { RedisAuth, RedisClient } from './redis/connect.ts';
import type { RedisKeys, ServiceName, Shards } from './redis/keys.ts';
import type { Settings } from './settings.ts';

export interface BaseContext {
  readonly service: ServiceName;
  readonly instance: string;
  /** Settings parsed once from the environment (settings.ts); frozen. */
  readonly settings: Settings;
  readonly log: Logger;
  readonly registry: Registry;
  /** The key names of the shard this context serves; the control plane's are the same in every shard. */
  readonly keys: RedisKeys;
  /** Every write shard's key names (one without TP_SHARDS): what the feed routes by and the readers of the whole book read. */
  readonly shards: Shards;
  /** The shard `keys` belongs to. */
  readonly shard: number;
  readonly clock: Clock;
  readonly root: string;
  /** The Redis this instance talks to (undefined: the default, redis://127.0.0.1:6379). */
  readonly redisUrl: string | undefined;
  /** The ACL user it connects as (undefined: the URL's own). */
  readonly redisAuth: RedisAuth | undefined;
  /** Shared client for ordinary commands. */
  readonly redis: RedisClient;
  /** A dedicated connection (blocking reads, subscriptions); closed on stop. `blocking`: commands wait for a reconnect however long (BullMQ). */
  connection(purpose: string, options?: { blocking?: boolean }): RedisClient;
}

/** This instance's view of the shared control plane (control/watch.ts). */
export interface ControlView {
  /** The latest snapshot; the unknown (closed) one when it could not be refreshed for too long. */
  readonly snapshot: ControlSnapshot;
  onChange(listener: (s: ControlSnapshot, prev: ControlSnapshot) => void): () => void;
  refresh(): Promise<void>;
  /** Move the shared breaker from this instance if the move still applies; whether it moved. */
  moveBreaker(move: BreakerMove, enteredAt?: number): Promise<boolean>;
}

/** What a service gets: the base plus its view of the control plane (started before the service) and the one writer of it. */
export interface ServiceContext extends BaseContext {
  readonly control: ControlView;
  readonly writer: ControlWriter;
}

export interface RunningService {
  stop(): Promise<void>;
  /** Extra detail published with the heartbeat and shown by /api/status. */
  status?(): Record<string, unknown>;
}
