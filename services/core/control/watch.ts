/**
 * This instance's view of the control plane: a snapshot refreshed on every
 * `control.events` message and re-read every CONTROL_REFRESH_MS, so a
 * missed message cannot leave it behind. A snapshot not refreshed for
 * CONTROL_MAX_AGE_MS reads as unknown, and order paths treat that as closed.
 * A breaker transition's message carries the new state and its sequence
 * number and is applied on arrival (one hop instead of two).
 */
import { z } from 'zod';
import type { BaseContext, ControlView } from '../context.ts';
import type { BreakerMove } from '../domain/breaker.ts';
import { UNKNOWN_CONTROL, type ControlSnapshot } from '../domain/control-state.ts';
import { breakerStateOf, readControl } from './read.ts';
import type { ControlWriter } from './write.ts';

/** The breaker part of a transition's control.events message (redis/breaker-scripts.ts). */
const breakerEventSchema = z.object({
  breaker: z.object({ state: z.string(), cause: z.string(), at: z.union([z.string(), z.number()]), seq: z.number().int().positive() }),
});

export class ControlWatcher implements ControlView {
  private current: ControlSnapshot = UNKNOWN_CONTROL;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners: ((s: ControlSnapshot, prev: ControlSnapshot) => void)[] = [];
  private refreshing: Promise<void> | undefined;
  private pending = false;
  /** Breaker transitions applied from messages, to spot a read that raced one. */
  private breakerEvents = 0;
  private readonly maxAgeMs: number;
  private readonly refreshMs: number;

  constructor(
    private readonly ctx: BaseContext,
    private readonly writer: ControlWriter,
  ) {
    this.maxAgeMs = ctx.settings.controlMaxAgeMs;
    this.refreshMs = ctx.settings.controlRefreshMs;
  }

  get snapshot(): ControlSnapshot {
    if (!this.current.known || this.ctx.clock.now() - this.current.readAt > this.maxAgeMs) return { ...UNKNOWN_CONTROL, readAt: this.current.readAt };
    return this.current;
  }

  onChange(listener: (s: ControlSnapshot, prev: ControlSnapshot) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  async start(): Promise<void> {
    const sub = this.ctx.connection('control-subscriber');
    sub.on('message', (_channel: string, message: string) => {
      this.applyBreakerEvent(message);
      void this.refresh();
    });
    await sub.subscribe(this.ctx.keys.controlEvents);
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Move the shared breaker from this instance (ControlWriter.moveBreaker), then refresh at once; a failed write is logged. */
  async moveBreaker(move: BreakerMove, enteredAt?: number): Promise<boolean> {
    try {
      const outcome = await this.writer.moveBreaker(move, this.ctx.instance, enteredAt);
      await this.refresh();
      return outcome.moved;
    } catch (err) {
      this.ctx.log.error({ event: 'breaker.write_failed', move: move.kind, err: String(err) }, `could not move the breaker (${move.kind})`);
      return false;
    }
  }

  private applyBreakerEvent(message: string): void {
    if (!this.current.known || !message.includes('"breaker"')) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      return;
    }
    const event = breakerEventSchema.safeParse(parsed);
    if (!event.success) return;
    const b = event.data.breaker;
    if (b.seq <= this.current.breaker.seq) return;
    const prev = this.current;
    this.breakerEvents++;
    this.current = { ...prev, breaker: { state: breakerStateOf(b.state), cause: b.cause, at: Number(b.at) || 0, halfOpenOrders: 0, seq: b.seq } };
    for (const l of this.listeners) l(this.current, prev);
  }

  /** Re-read now; concurrent calls coalesce into at most one extra read. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.pending = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.pending = false;
        try {
          const applied = this.breakerEvents;
          let next = await readControl(this.ctx.redis, this.ctx.keys, this.ctx.clock.now(), this.ctx.settings.executionMode);
          const prev = this.current;
          // A read sent before a transition's message arrived must not undo it (the
          // message also queued another read, which will be current).
          if (applied !== this.breakerEvents && prev.known && next.breaker.seq < prev.breaker.seq) next = { ...next, breaker: prev.breaker };
          this.current = next;
          for (const l of this.listeners) l(next, prev);
        } catch (err) {
          this.ctx.log.warn({ event: 'control.read_failed', err: String(err) }, 'control state read failed; treating as closed');
        }
      } while (this.pending);
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }
}
