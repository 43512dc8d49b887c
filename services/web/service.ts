/**
 * The web service: the operator API on WEB_HOST:WEB_PORT (127.0.0.1:8080).
 * On loopback, mutations need no token (the runbook's plain curl works);
 * on any other address WEB_TOKEN is required and every mutation must carry
 * `Authorization: Bearer <token>`.
 */
import type { Server } from 'node:http';
import { loadRiskParams } from '../core/config/load.ts';
import { ConfigHolder, startReloader } from '../core/config/reloader.ts';
import { riskReloadTarget } from '../core/config/risk-reload.ts';
import { DEFAULT_CONFIG_PATHS, type RiskHarmoniserConfig } from '../core/config/schemas.ts';
import { SERVICE_NAMES } from '../core/redis/keys.ts';
import { HEARTBEAT_INTERVAL_MS, type RunningService, type ServiceContext } from '../core/service.ts';
import { createApp } from './app.ts';
import { registerControlMetrics } from './control-metrics.ts';

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

export interface WebOptions {
  host: string;
  port: number;
  token: string | undefined;
  requiredServices: readonly string[];
}

export function webOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): WebOptions {
  return {
    host: env['WEB_HOST'] ?? '127.0.0.1',
    port: Number(env['WEB_PORT'] ?? 8080),
    token: env['WEB_TOKEN'] || undefined,
    requiredServices: env['REQUIRED_SERVICES'] ? env['REQUIRED_SERVICES'].split(',').map((s) => s.trim()).filter(Boolean) : SERVICE_NAMES,
  };
}

export async function startWeb(ctx: ServiceContext, options: WebOptions = webOptionsFromEnv()): Promise<RunningService & { port: number }> {
  const loopback = isLoopback(options.host);
  if (!loopback && !options.token) throw new Error(`WEB_HOST=${options.host} is not loopback: set WEB_TOKEN so mutating requests can be authenticated`);
  const path = process.env['RISK_PARAMS'] ?? DEFAULT_CONFIG_PATHS.risk_harmoniser;
  const loaded = await loadRiskParams(path, ctx.root);
  if (!loaded.ok) throw new Error(`cannot start: ${loaded.reason}`);
  const risk = new ConfigHolder<RiskHarmoniserConfig>(loaded.config, loaded.version, path, ctx.clock.now());
  const reloader = await startReloader(ctx, [riskReloadTarget(ctx, risk)]);
  registerControlMetrics(ctx, options.requiredServices);
  const app = createApp(ctx, {
    token: loopback ? undefined : options.token,
    requiredServices: options.requiredServices,
    heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
    risk,
    versions: () => ({ risk_harmoniser: risk.version }),
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(options.port, options.host, () => resolve(s));
    s.once('error', reject);
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : options.port;
  ctx.log.info({ event: 'web.listening', host: options.host, port, auth: !loopback }, `web listening on http://${options.host}:${port}`);
  return {
    port,
    status: () => ({ port, config_version: { risk_harmoniser: risk.version } }),
    stop: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await reloader.stop();
    },
  };
}
