/**
 * The web service: the operator API on WEB_HOST:WEB_PORT (127.0.0.1:8080).
 * Loopback (decided on resolved addresses, auth.ts): mutations need no
 * token, so the runbook's plain curl works. Any other address: WEB_TOKEN or
 * WEB_OPERATOR_TOKENS is required and every mutation must carry
 * `Authorization: Bearer <token>`. A port that cannot be bound, or a host
 * that cannot be resolved, stops the service with the reason.
 */
import { createServer, type Server } from 'node:http';
import { instrumentsReloadTarget, loadInstrumentsAtStart } from '../core/config/instruments.ts';
import { loadRiskParams } from '../core/config/load.ts';
import { ConfigHolder, startReloader } from '../core/config/reloader.ts';
import { riskReloadTarget } from '../core/config/risk-reload.ts';
import type { RiskHarmoniserConfig } from '../core/config/schemas.ts';
import { ConfigurationError } from '../core/errors.ts';
import type { RunningService, ServiceContext } from '../core/service.ts';
import { createApp } from './app.ts';
import { Replays } from '../replay/replay-queue.ts';
import { decideExposure, isLoopbackAddress } from './auth.ts';
import { registerControlMetrics } from './control-metrics.ts';
import { createRateLimits } from './rate-limits.ts';

export async function startWeb(ctx: ServiceContext): Promise<RunningService & { port: number }> {
  const { settings } = ctx;
  const exposure = await decideExposure(settings);
  if (!exposure.ok) throw new ConfigurationError(exposure.reason);
  const path = settings.configPaths.risk_harmoniser;
  const loaded = await loadRiskParams(path, ctx.root);
  if (!loaded.ok) throw new ConfigurationError(`cannot start: ${loaded.reason}`);
  const risk = new ConfigHolder<RiskHarmoniserConfig>(loaded.config, loaded.version, path, ctx.clock.now());
  const instruments = await loadInstrumentsAtStart(ctx);
  registerControlMetrics(ctx, settings.web.requiredServices);
  const limits = createRateLimits(ctx.redis, ctx.keys, settings, ctx.registry, () => ctx.clock.now());
  // Smoke replays: queued by any web, run by this one's worker (one at a time across the deployment).
  const replays = new Replays(ctx);
  replays.startWorker();
  const { app, close: closeStreams } = createApp({
    replays,
    ctx,
    risk,
    instruments,
    loopback: exposure.loopback,
    limits,
    versions: () => ({ risk_harmoniser: risk.version, instruments: instruments.version }),
    rateLimits: () => limits.report(),
  });
  const server: Server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void =>
      reject(
        new ConfigurationError(
          `web cannot listen on ${settings.web.host}:${settings.web.port}: ${err.code ?? err.message}${err.code === 'EADDRINUSE' ? ' (port in use: another web, or set WEB_PORT)' : ''}`,
        ),
      );
    server.once('error', onError);
    server.listen(settings.web.port, settings.web.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : settings.web.port;
  const bound = typeof addr === 'object' && addr ? addr.address : '';
  if (exposure.loopback && !isLoopbackAddress(bound)) {
    server.close();
    throw new ConfigurationError(`WEB_HOST=${settings.web.host} resolved to loopback but the API is bound to ${bound}; refusing to serve without authentication`);
  }
  // Reload subscriptions only once the port is ours: a web that cannot start records nothing.
  const reloader = await startReloader(ctx, [riskReloadTarget(ctx, risk), instrumentsReloadTarget(ctx, instruments)]);
  ctx.log.info(
    { event: 'web.listening', host: settings.web.host, address: bound, port, auth: !exposure.loopback },
    `web listening on http://${settings.web.host}:${port}${exposure.loopback ? ' (loopback: no token needed)' : ' (tokens required for changes)'}`,
  );
  return {
    port,
    status: () => ({ port, config_version: { risk_harmoniser: risk.version, instruments: instruments.version } }),
    stop: async () => {
      closeStreams();
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
      await reloader.stop();
      await replays.close();
    },
  };
}
