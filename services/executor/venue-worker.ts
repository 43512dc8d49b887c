/**
 * The venue worker: sends committed orders, on a BullMQ queue per venue
 * (`orders-<venue>`):
 *
 * - the job id is the client order id, so an order is enqueued once
 *   (however many times the outbox sweep or a retried commit adds it);
 * - the queue's limiter is the order throttle (execution.orders_per_second,
 *   shared by every executor);
 * - transient venue errors (timeouts, network, HTTP 429, 5xx) are retried
 *   with backoff 1, 2, 4, 8 s (a 429's Retry-After when longer); a venue's
 *   answer (rejected) is not retried; an order whose sends all failed ends
 *   REJECTED with the reason, after one last look at the venue;
 * - before a send the order is marked SUBMITTED; a job that finds it
 *   SUBMITTED (a retry, or a worker killed mid-send) asks the venue for it
 *   by client order id first and sends only if the venue does not know it:
 *   at most one order per client order id reaches the venue;
 * - the control state is checked again at send time: killed or halted →
 *   cancelled unsent; breaker OPEN → only reducing orders go; a HALF_OPEN
 *   test order takes the probe lease and its outcome can reopen the breaker.
 */
import { Queue, Worker, type Job } from 'bullmq';
import type { ConfigHolder } from '../core/config/reloader.ts';
import type { RiskHarmoniserConfig } from '../core/config/schemas.ts';
import type { ServiceContext } from '../core/context.ts';
import { controlsChangedAt, orderGate } from '../core/domain/control-state.ts';
import { probeFailure } from '../core/domain/breaker.ts';
import { releaseProbe, reserveProbe } from '../core/redis/breaker-scripts.ts';
import { replicasToAck } from '../core/redis/connect.ts';
import type { Order } from './domain/order-lifecycle.ts';
import type { ExecutorMetrics } from './metrics.ts';
import type { Oms } from './oms.ts';
import { readPosition } from './position.ts';
import type { VenueBreaker } from './venue-breaker.ts';
import { VenueError, type MarketQuote, type Venue } from './venue/venue.ts';

export const SEND_ATTEMPTS = 5;

export interface VenueWorkerDeps {
  ctx: ServiceContext;
  venue: Venue;
  breaker: VenueBreaker;
  oms: Oms;
  config: ConfigHolder<RiskHarmoniserConfig>;
  metrics: ExecutorMetrics;
  /** Each venue round trip's duration (the order-latency breaker trigger). */
  onOrderLatency(ms: number): void;
  /** Jobs processed in parallel by this executor (default 16: more only lengthens each send; see docs/benchmarks.md). */
  concurrency?: number;
  /** Tests and the bench: the throttle off. */
  limiterOff?: boolean;
}

export interface VenueWorker {
  readonly queue: Queue;
  enqueue(orders: readonly Pick<Order, 'clientOrderId'>[]): Promise<void>;
  /** Whether the order's send is being made now (its job active). */
  inFlight(clientOrderId: string): Promise<boolean>;
  /** Remove waiting jobs (orders superseded before they were sent); a job already taken is left to find its order cancelled. */
  unqueue(clientOrderIds: readonly string[]): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Orders still NEW after `olderThanMs` (a lost enqueue) are enqueued again (idempotent by job id). */
  sweep(olderThanMs: number): Promise<number>;
  stop(): Promise<void>;
}

interface OrderJob {
  clientOrderId: string;
}

/** BullMQ's custom backoff: 1, 2, 4, 8 s, or a rate limit's Retry-After when longer. */
export function sendBackoff(attemptsMade: number, _type?: string, err?: Error): number {
  const exponential = 1_000 * 2 ** Math.max(0, attemptsMade - 1);
  const retryAfter = err instanceof VenueError ? (err.retryAfterMs ?? 0) : 0;
  return Math.max(exponential, retryAfter);
}

function asVenueError(err: unknown): VenueError {
  if (err instanceof VenueError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  // opossum: a call over its timeout, or refused while it is open.
  if (/Timed out after/i.test(msg)) return new VenueError('timeout', msg);
  if (/Breaker is open/i.test(msg)) return new VenueError('server_error', msg);
  return new VenueError('unknown', msg);
}

export async function startVenueWorker(d: VenueWorkerDeps): Promise<VenueWorker> {
  const { ctx, venue, oms, metrics } = d;
  const store = oms.d.store;
  const name = `orders-${venue.name}`;
  const prefix = ctx.keys.queuePrefix;
  const queue = new Queue<OrderJob>(name, { connection: ctx.connection('queue', { blocking: true }), prefix });
  const at = (): number => ctx.clock.now();
  // With replicas (Sentinel): how many must hold an order's records before the venue hears of it.
  const replicas = replicasToAck(ctx.redisUrl, ctx.settings.replicaAck.replicas);
  const waitMs = ctx.settings.replicaAck.ms;
  /** A send that cannot go yet: retried after the backoff (a transient error), and at the last attempt cancelled unsent (fail closed). */
  const notYet = async (job: Job<OrderJob>, why: string, cancelReason: string, outcome: string): Promise<string> => {
    if (job.attemptsMade + 1 < (job.opts.attempts ?? SEND_ATTEMPTS)) {
      metrics.retries.inc();
      throw new VenueError('network', why);
    }
    await oms.apply(job.data.clientOrderId, { type: 'OrderCancelled', reason: cancelReason, at: at() });
    return outcome;
  };
  const exec = d.config.current.execution;

  const quoteOf = async (symbol: string): Promise<MarketQuote | undefined> => {
    const [bid, ask, ts] = (await ctx.redis.hmget(ctx.keys.lastTick(symbol), 'bid', 'ask', 'ts')).map(Number);
    return bid! > 0 && ask! > 0 ? { bid: bid!, ask: ask!, ts: ts! } : undefined;
  };
  const venueError = async (): Promise<void> => {
    const key = ctx.keys.venueErrors(Math.floor(at() / 60_000));
    await ctx.redis.multi().incr(key).expire(key, 180).exec();
  };

  const AMENDED = Symbol('amended');
  /** A job: its order, marked SUBMITTED as it was checked, then sent. An order amended meanwhile is checked again. */
  const process = async (job: Job<OrderJob>): Promise<string> => {
    if (job.attemptsMade === 0) metrics.queueWait.observe(Math.max(0, at() - job.timestamp) / 1000);
    for (let round = 0; round < 50; round++) {
      const r = await sendOnce(job);
      if (r !== AMENDED) return r;
    }
    // Amended faster than it could be marked (a flood of targets): try again after the backoff.
    metrics.retries.inc();
    throw new VenueError('network', 'order amended by every newer target before it could be sent');
  };

  const sendOnce = async (job: Job<OrderJob>): Promise<string | typeof AMENDED> => {
    const id = job.data.clientOrderId;
    let order = await store.get(id);
    if (!order) return 'missing';
    if (order.state !== 'NEW' && order.state !== 'SUBMITTED') return `already ${order.state}`;

    // A send that may have reached the venue (a retry, a worker that died mid-send): ask before anything else.
    if (order.state === 'SUBMITTED') {
      const known = await venue.fetchOrder(id, order.symbol).catch((err: unknown) => {
        throw asVenueError(err);
      });
      if (known) {
        await oms.applyStatus(known);
        return 'found at the venue';
      }
    }
    // Not at the venue: the controls, as they are now, decide whether it goes.
    // Not known (Redis did not answer the last reads): wait, as for a venue outage; in the end, cancel unsent.
    if (!ctx.control.snapshot.known) {
      return notYet(job, 'control state unknown: not sent until it is read again', 'control state unknown (fail closed, before it was sent)', 'cancelled unsent');
    }
    const subject = { symbol: order.symbol, model: order.model };
    const changed = controlsChangedAt(ctx.control.snapshot, subject);
    // Decided: when a target last amended it (NEW), or when it was marked for its first send (SUBMITTED).
    const decidedAt = order.state === 'NEW' ? order.updatedAt : order.submittedAt || order.createdAt;
    if (changed.at > decidedAt) {
      await oms.apply(id, { type: 'OrderCancelled', reason: `${changed.what} changed after it was decided (not sent; the next target decides again)`, at: at() });
      return 'cancelled unsent: controls changed';
    }
    const gate = orderGate(ctx.control.snapshot, subject);
    if (gate.kind === 'denied') {
      await oms.apply(id, { type: 'OrderCancelled', reason: `${gate.reason} (before it was sent)`, at: at() });
      return 'cancelled unsent';
    }
    if (gate.kind === 'reduce-only') {
      const pos = readPosition(await ctx.redis.get(ctx.keys.position(order.symbol)), ctx.keys.position(order.symbol));
      const qty = pos.ok ? pos.position.qty : 0;
      const reduces = qty !== 0 && (order.side === 'SELL') === qty > 0 && order.qty <= Math.abs(qty) * (1 + 1e-9);
      if (!reduces) {
        await oms.apply(id, { type: 'OrderRejected', reason: `${gate.reason}: only position-reducing orders`, at: at() });
        return 'rejected: not reducing';
      }
    }
    if (order.state === 'NEW') {
      // Marked only if it is still the order just checked; what is marked is what is sent.
      const marked = await oms.apply(id, { type: 'OrderSubmitted', at: at() }, order.version);
      if (marked.kind === 'changed') return AMENDED;
      if (marked.kind !== 'applied') return `not sent: ${marked.kind}`;
      order = marked.order;
    }
    const sending = order;

    // A HALF_OPEN test order: one at a time in the deployment, within the cap.
    const cb = d.config.current.circuit_breaker;
    const snapshot = ctx.control.snapshot;
    const probing = sending.probe && snapshot.known && snapshot.breaker.state === 'HALF_OPEN';
    if (probing) {
      const lease = await reserveProbe(ctx.redis, ctx.keys, {
        enteredAt: snapshot.breaker.at,
        maxOrders: cb.half_open_max_orders,
        owner: id,
        ttlMs: Math.max(2_000, cb.latency_threshold_ms * 20),
      });
      if (!lease.ok) {
        const why = { busy: 'another test order is in flight', cap: `${cb.half_open_max_orders} test orders used`, not_half_open: 'the breaker moved; the next target retries' }[
          lease.why
        ];
        await oms.apply(id, { type: 'OrderRejected', reason: `circuit breaker HALF_OPEN: ${why}`, at: at() });
        return 'rejected: probe lease';
      }
    }
    // The venue hears of an order only once a replica holds its records, so a failover cannot lose an order the
    // venue has. A master cut off from its replicas (demoted, or they are down) sends nothing.
    if (replicas > 0) {
      const acked = await store.replicated(replicas, waitMs);
      if (acked < replicas) {
        if (probing) void releaseProbe(ctx.redis, ctx.keys, id).catch(() => undefined);
        const why = `${acked} of ${replicas} replica(s) held its records after ${waitMs} ms (Redis failing over, or a replica down)`;
        return notYet(job, `not sent yet: ${why}`, `not sent: ${why} (fail closed)`, 'cancelled unsent: replicas');
      }
    }
    const t0 = performance.now();
    try {
      const status = await d.breaker.fire(
        { clientOrderId: id, symbol: sending.symbol, side: sending.side, type: sending.type, qty: sending.qty, limitPrice: sending.limitPrice },
        await quoteOf(sending.symbol),
      );
      const ms = performance.now() - t0;
      metrics.orderLatency.observe(ms / 1000);
      d.onOrderLatency(ms);
      if (probing) {
        const failure = probeFailure({ status: 'FILLED' }, ms, cb.latency_threshold_ms);
        if (failure) void ctx.control.moveBreaker({ kind: 'probe_failed', cause: failure }, snapshot.breaker.at);
      }
      await oms.applyStatus(status);
      // Halted while it was on its way (a kill's cancels found nothing at the venue yet): cancel it there now.
      const after = orderGate(ctx.control.snapshot, subject);
      if (status.state === 'open' && after.kind === 'denied') await oms.cancel((o) => o.clientOrderId === id, `${after.reason} (cancelled on arrival)`);
      return status.state;
    } catch (err) {
      const ms = performance.now() - t0;
      metrics.orderLatency.observe(ms / 1000);
      const ve = asVenueError(err);
      if (probing) void ctx.control.moveBreaker({ kind: 'probe_failed', cause: `venue error: ${ve.message}` }, snapshot.breaker.at);
      if (!ve.transient) {
        await oms.apply(id, { type: 'OrderRejected', reason: `venue rejected: ${ve.message}`, at: at() });
        return 'rejected by the venue';
      }
      await venueError();
      if (job.attemptsMade + 1 >= (job.opts.attempts ?? SEND_ATTEMPTS)) {
        // The last attempt: one more look at the venue, then the order ends.
        const known = await venue.fetchOrder(id, order.symbol).catch(() => undefined);
        if (known) await oms.applyStatus(known);
        else await oms.apply(id, { type: 'OrderRejected', reason: `send failed after ${job.attemptsMade + 1} attempts: ${ve.message}`, at: at() });
        return 'send failed';
      }
      metrics.retries.inc();
      throw ve;
    } finally {
      if (probing) void releaseProbe(ctx.redis, ctx.keys, id).catch(() => undefined);
    }
  };

  // When this worker last took a job (or was made): a worker with jobs waiting that takes none is wedged.
  let lastTaken = at();
  const makeWorker = (): { worker: Worker<OrderJob>; connection: ReturnType<ServiceContext['connection']> } => {
    const connection = ctx.connection('worker', { blocking: true });
    const w = new Worker<OrderJob>(
      name,
      (job) => {
        lastTaken = at();
        return process(job);
      },
      {
        connection,
        prefix,
        concurrency: d.concurrency ?? 16,
        ...(d.limiterOff ? {} : { limiter: { max: Math.max(1, Math.round(exec.orders_per_second)), duration: 1_000 } }),
        settings: { backoffStrategy: sendBackoff },
        // A worker killed mid-job: its job returns to the queue within seconds, not the default 30.
        lockDuration: 5_000,
        stalledInterval: 5_000,
        maxStalledCount: 10,
        name: ctx.instance,
      },
    );
    w.on('error', (err) => ctx.log.warn({ event: 'orders.worker_error', err: String(err) }, 'order worker error'));
    w.on('failed', (job, err) => {
      if (job && job.attemptsMade < (job.opts.attempts ?? SEND_ATTEMPTS)) return; // retried
      ctx.log.error({ event: 'orders.send_failed', client_order_id: job?.data.clientOrderId, err: String(err) }, `order ${job?.data.clientOrderId ?? '?'} could not be sent`);
    });
    lastTaken = at();
    return { worker: w, connection };
  };
  let current = makeWorker();

  /**
   * A worker whose blocking connection was cut by a failover (Redis answers
   * UNBLOCKED to the blocked command) can stop taking jobs for good: a known
   * BullMQ/ioredis failure on Cluster (taskforcesh/bullmq#4138). Jobs waiting,
   * the queue not paused, and nothing taken for WEDGED_MS: close it and make
   * another, which takes the waiting jobs (each job still runs at most once:
   * its lock and the order's state guard it).
   */
  const WEDGED_MS = 10_000;
  const reviveIfWedged = async (): Promise<boolean> => {
    if (at() - lastTaken < WEDGED_MS) return false;
    const [waiting, paused] = await Promise.all([queue.getWaitingCount(), queue.isPaused()]);
    if (waiting === 0 || paused) return false;
    const old = current;
    ctx.log.warn({ event: 'orders.worker_restarted', waiting, idle_ms: at() - lastTaken }, `order worker took no job for ${at() - lastTaken} ms with ${waiting} waiting: replaced`);
    metrics.workerRestarts.inc();
    current = makeWorker();
    await old.worker.close(true).catch(() => undefined);
    old.connection.disconnect();
    return true;
  };

  const depth = setInterval(() => {
    queue
      .getJobCounts('waiting', 'delayed', 'active', 'prioritized')
      .then((c) => {
        for (const [state, n] of Object.entries(c)) metrics.queueDepth.set({ state }, n);
      })
      .catch(() => undefined);
  }, 1_000);
  depth.unref();

  const enqueue = async (orders: readonly Pick<Order, 'clientOrderId'>[]): Promise<void> => {
    if (orders.length === 0) return;
    await queue.addBulk(
      orders.map((o) => ({
        name: 'send',
        data: { clientOrderId: o.clientOrderId },
        opts: { jobId: o.clientOrderId, attempts: SEND_ATTEMPTS, backoff: { type: 'custom' }, removeOnComplete: { age: 3_600, count: 50_000 }, removeOnFail: { age: 86_400 } },
      })),
    );
  };

  return {
    queue,
    enqueue,
    async inFlight(id) {
      return (await queue.getJobState(id)) === 'active';
    },
    async unqueue(ids) {
      await Promise.all(ids.map((id) => queue.remove(id)));
    },
    pause: () => queue.pause(),
    resume: () => queue.resume(),
    async sweep(olderThanMs) {
      await reviveIfWedged();
      const ids = await store.idsInState('NEW', 500, at() - olderThanMs);
      await enqueue(ids.map((clientOrderId) => ({ clientOrderId })));
      return ids.length;
    },
    async stop() {
      clearInterval(depth);
      await current.worker.close();
      await queue.close();
    },
  };
}
