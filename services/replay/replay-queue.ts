/**
 * Smoke replays as BullMQ jobs (queue `replay`): jobs and their results live
 * in Redis, so they survive restarts; one replay at a time per namespace
 * (BullMQ deduplication on one id: a second request while one waits or runs
 * gets that one back); progress is the job's; a cancellation is a key the
 * running replay checks; the last 20 results are kept.
 */
import { Queue, Worker, type Job } from 'bullmq';
import type { ServiceContext } from '../core/context.ts';
import type { ReplayRequest, runReplay } from './run-replay.ts';

export const REPLAY_QUEUE = 'replay';
const KEEP = { count: 20 };

export type ReplayResult = Awaited<ReturnType<typeof runReplay>>;

export interface ReplayView {
  id: string;
  state: string;
  progress: { sent: number; total: number } | null;
  request: ReplayRequest;
  requested_by: string;
  created_at: number;
  finished_at: number | null;
  failed_reason: string | null;
  result?: ReplayResult | undefined;
}

export class Replays {
  readonly queue: Queue<ReplayRequest & { by: string }, ReplayResult>;
  private worker: Worker<ReplayRequest & { by: string }, ReplayResult> | undefined;

  constructor(private readonly ctx: ServiceContext) {
    this.queue = new Queue(REPLAY_QUEUE, { connection: ctx.connection('replay-queue', { blocking: true }), prefix: ctx.keys.queuePrefix });
  }

  /** Run replays in this process (one at a time). */
  startWorker(): void {
    const ctx = this.ctx;
    this.worker = new Worker<ReplayRequest & { by: string }, ReplayResult>(
      REPLAY_QUEUE,
      async (job) => {
        const id = job.id!;
        ctx.log.info(
          { event: 'replay.started', id, request: job.data, by: job.data.by },
          `replay ${id} started (${job.data.csv ?? `last ${job.data.minutes} min`}, ×${job.data.speed})`,
        );
        // Loaded on first use: the pipeline's services (and the ONNX runtime) stay out of web until a replay runs.
        const { runReplay: run } = await import('./run-replay.ts');
        const result = await run(ctx, id, job.data, {
          progress: (p) => job.updateProgress(p),
          cancelled: async () => (await ctx.redis.exists(ctx.keys.replayCancel(id))) === 1,
        });
        ctx.log.info(
          {
            event: 'replay.finished',
            id,
            cancelled: result.cancelled,
            orders: result.orders.total,
            net_pnl_usd: result.pnl.netUsd,
            max_var_pct: result.var.maxPct,
            within_tolerance: result.withinTolerance,
          },
          `replay ${id} ${result.cancelled ? 'cancelled' : 'finished'}: ${result.orders.total} orders, net PnL ${result.pnl.netUsd.toFixed(2)} USD, max VaR ${result.var.maxPct.toFixed(3)}%`,
        );
        return result;
      },
      { connection: ctx.connection('replay-worker', { blocking: true }), prefix: ctx.keys.queuePrefix, concurrency: 1, lockDuration: 60_000 },
    );
    this.worker.on('failed', (job, err) => ctx.log.error({ event: 'replay.failed', id: job?.id, err: String(err) }, `replay ${job?.id ?? '?'} failed: ${String(err)}`));
    this.worker.on('error', (err) => ctx.log.warn({ event: 'replay.worker_error', err: String(err) }, 'replay worker error'));
  }

  /** Queue a replay; the one already waiting or running when there is one. */
  async request(req: ReplayRequest, by: string): Promise<{ queued: boolean; id: string }> {
    const id = `r${this.ctx.clock.now()}`;
    const job = await this.queue.add('replay', { ...req, by }, { jobId: id, deduplication: { id: 'one-replay' }, attempts: 1, removeOnComplete: KEEP, removeOnFail: KEEP });
    return { queued: job.id === id, id: job.id ?? id };
  }

  async cancel(id: string): Promise<'asked' | 'removed' | 'finished' | 'unknown'> {
    const job = await this.queue.getJob(id);
    if (!job) return 'unknown';
    const state = await job.getState();
    if (state === 'completed' || state === 'failed') return 'finished';
    if (state === 'waiting' || state === 'delayed' || state === 'prioritized') {
      await job.remove();
      await this.queue.removeDeduplicationKey('one-replay');
      return 'removed';
    }
    await this.ctx.redis.set(this.ctx.keys.replayCancel(id), '1', 'EX', 3600);
    return 'asked';
  }

  async view(id: string, withResult: boolean): Promise<ReplayView | undefined> {
    const job = await this.queue.getJob(id);
    return job ? this.settled(job, withResult) : undefined;
  }

  async list(): Promise<ReplayView[]> {
    const jobs = await this.queue.getJobs(['active', 'waiting', 'completed', 'failed'], 0, 20, false);
    const views = await Promise.all(jobs.map((j) => this.settled(j, false)));
    return views.sort((a, b) => b.created_at - a.created_at);
  }

  /** The job read before its state: one that finished in between is read again, so a finished view has its result. */
  private async settled(job: Job<ReplayRequest & { by: string }, ReplayResult>, withResult: boolean): Promise<ReplayView> {
    const state = await job.getState();
    const finished = state === 'completed' || state === 'failed';
    const fresh = finished && job.finishedOn === undefined ? ((await this.queue.getJob(job.id ?? '')) ?? job) : job;
    return viewOf(fresh, state, withResult);
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}

function viewOf(job: Job<ReplayRequest & { by: string }, ReplayResult>, state: string, withResult: boolean): ReplayView {
  const { by, ...request } = job.data;
  const p = job.progress as { sent?: number; total?: number } | number;
  const r = job.returnvalue as ReplayResult | null | undefined;
  return {
    id: job.id ?? '',
    state: r?.cancelled ? 'cancelled' : state,
    progress: typeof p === 'object' && p && typeof p.sent === 'number' ? { sent: p.sent, total: p.total ?? 0 } : null,
    request,
    requested_by: by,
    created_at: job.timestamp,
    finished_at: job.finishedOn ?? null,
    failed_reason: job.failedReason ?? null,
    ...(r ? { result: withResult ? r : summary(r) } : {}),
  };
}

/** The list shows each result's headline figures; GET /api/replay/:id the whole report. */
function summary(r: ReplayResult): ReplayResult {
  return { ...r, orders: { ...r.orders, sample: [] }, var: { ...r.var, path: [] }, switches: { ...r.switches, entries: [] }, triggers: { ...r.triggers, events: [] } };
}
