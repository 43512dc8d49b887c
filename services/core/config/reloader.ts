/**
 * Hot reload on `PUBLISH param.reload {...}`: validate the whole file, run the
 * component's safety checks, then swap one frozen reference. Handlers read
 * `holder.current` per message, so the swap lands between two batches.
 * Every outcome (applied or rejected, with reason and version) is recorded
 * in Redis by every instance that handled it.
 */
import type { ParseResult } from './parse.ts';
import { DEFAULT_CONFIG_PATHS, MAX_RELOAD_PAYLOAD_BYTES, reloadRequestSchema, type ReloadRequest } from './schemas.ts';
import { shown } from './load.ts';
import type { ConfigComponent } from '../redis/keys.ts';
import type { ServiceContext } from '../service.ts';
import { Histogram } from '../metrics.ts';

export class ConfigHolder<T> {
  private value: { config: T; version: string; path: string; loadedAt: number };
  constructor(config: T, version: string, path: string, loadedAt: number) {
    this.value = { config, version, path, loadedAt };
  }
  get current(): T {
    return this.value.config;
  }
  get version(): string {
    return this.value.version;
  }
  get path(): string {
    return this.value.path;
  }
  get loadedAt(): number {
    return this.value.loadedAt;
  }
  swap(config: T, version: string, path: string, loadedAt: number): void {
    this.value = { config, version, path, loadedAt };
  }
}

export type ReloadOutcome = { status: 'applied'; version: string; previous_version: string } | { status: 'unchanged'; version: string } | { status: 'rejected'; reason: string };

export interface ReloadTarget<T> {
  component: ConfigComponent;
  holder: ConfigHolder<T>;
  load(path: string): Promise<ParseResult<T>>;
  /** Reason to refuse an otherwise valid config (safety rules), or undefined. */
  check?(next: T, current: T, request: ReloadRequest): Promise<string | undefined> | string | undefined;
  /** Called after the swap (e.g. to clear an operator override "until reload"). */
  afterApply?(next: T): Promise<void> | void;
}

/** Decide and apply one reload request. Pure of Redis; recording is the caller's. */
export async function handleReload<T>(target: ReloadTarget<T>, request: ReloadRequest, now: number): Promise<ReloadOutcome> {
  const path = request.config_path ?? DEFAULT_CONFIG_PATHS[target.component];
  const loaded = await target.load(path);
  if (!loaded.ok) return { status: 'rejected', reason: loaded.reason };
  const refused = await target.check?.(loaded.config, target.holder.current, request);
  if (refused) return { status: 'rejected', reason: refused };
  const previous = target.holder.version;
  target.holder.swap(loaded.config, loaded.version, path, now);
  await target.afterApply?.(loaded.config);
  if (previous === loaded.version) return { status: 'unchanged', version: loaded.version };
  return { status: 'applied', version: loaded.version, previous_version: previous };
}

export function parseReloadPayload(message: string): { ok: true; request: ReloadRequest } | { ok: false; reason: string } {
  const bytes = Buffer.byteLength(message);
  if (bytes > MAX_RELOAD_PAYLOAD_BYTES) return { ok: false, reason: `payload is ${bytes} bytes, over the ${MAX_RELOAD_PAYLOAD_BYTES}-byte limit (not read)` };
  let json: unknown;
  try {
    json = JSON.parse(message);
  } catch {
    return { ok: false, reason: `payload is not JSON: ${JSON.stringify(message.slice(0, 200))}` };
  }
  const parsed = reloadRequestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `payload field ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`.slice(0, 500) };
  }
  return { ok: true, request: parsed.data };
}

export async function recordApplied(ctx: ServiceContext, component: ConfigComponent, version: string, path: string): Promise<void> {
  await ctx.redis.hset(ctx.keys.configApplied(component), ctx.instance, JSON.stringify({ service: ctx.service, version, config_path: path, at: ctx.clock.now() }));
}

/** Longest reason kept in a reload outcome. */
export const MAX_STORED_REASON = 1_000;

export async function recordOutcome(ctx: ServiceContext, component: string, outcome: ReloadOutcome, configPath: string | undefined): Promise<void> {
  const fields: string[] = ['component', component, 'status', outcome.status, 'instance', ctx.instance, 'service', ctx.service, 'at', String(ctx.clock.now())];
  // What is stored (and shown by /api/status) is bounded, whatever the payload held.
  if (configPath) fields.push('config_path', shown(configPath));
  if (outcome.status === 'rejected') fields.push('reason', outcome.reason.length > MAX_STORED_REASON ? `${outcome.reason.slice(0, MAX_STORED_REASON)}…` : outcome.reason);
  else fields.push('version', outcome.version);
  // Kept far longer than the runbook's 60 s: capped by count, not time.
  await ctx.redis.xadd(ctx.keys.reloadOutcomes, 'MAXLEN', '~', 1000, '*', ...fields);
}

/**
 * Subscribe to param.reload for the given targets. Payloads for other
 * components are ignored; malformed payloads are recorded as rejected.
 */
export async function startReloader(
  ctx: ServiceContext,
  targets: readonly ReloadTarget<unknown>[],
  durationMetric = 'config_reload_duration_ms',
): Promise<{ stop(): Promise<void> }> {
  const durations = new Histogram({
    name: durationMetric,
    help: 'Time to validate and apply a config reload, ms',
    labelNames: ['component'],
    buckets: [1, 2, 5, 10, 25, 50, 100, 250],
    registers: [ctx.registry],
  });
  for (const t of targets) {
    // Each component's series exists from the start, so increase() sees the first reload.
    durations.zero({ component: t.component });
    await recordApplied(ctx, t.component, t.holder.version, t.holder.path);
  }
  const sub = ctx.connection('reload-subscriber');
  let chain = Promise.resolve();
  sub.on('message', (_channel: string, message: string) => {
    chain = chain
      .then(() => onMessage(message))
      .catch((err: unknown) => {
        ctx.log.error({ event: 'config.reload_failed', err: String(err) }, 'reload handling failed');
      });
  });
  // Re-subscribe after a reconnect is automatic in ioredis (autoResubscribe).
  await sub.subscribe(ctx.keys.paramReload);

  async function onMessage(message: string): Promise<void> {
    const payload = parseReloadPayload(message);
    if (!payload.ok) {
      ctx.log.warn({ event: 'config.reload_rejected', reason: payload.reason }, `Configuration reload rejected: ${payload.reason}`);
      await recordOutcome(ctx, 'unknown', { status: 'rejected', reason: payload.reason }, undefined);
      return;
    }
    const target = targets.find((t) => t.component === payload.request.component);
    if (!target) return;
    const started = performance.now();
    const outcome = await handleReload(target, payload.request, ctx.clock.now());
    const durationMs = performance.now() - started;
    const component = target.component;
    if (outcome.status === 'rejected') {
      ctx.log.warn({ event: 'config.reload_rejected', component, reason: outcome.reason }, `Configuration reload rejected: ${outcome.reason}`);
    } else {
      ctx.log.info(
        { event: 'config.reloaded', component, version: outcome.version, config_path: target.holder.path, duration_ms: durationMs },
        `Configuration reloaded: ${component} version ${outcome.version}`,
      );
      await recordApplied(ctx, component, outcome.version, target.holder.path);
    }
    await recordOutcome(ctx, component, outcome, payload.request.config_path);
    durations.observe({ component }, durationMs);
  }

  return {
    stop: async () => {
      await sub.unsubscribe().catch(() => undefined);
      await chain;
    },
  };
}
