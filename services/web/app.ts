/**
 * The operator HTTP API, assembled: security headers, body parsing (text,
 * 64 KiB, read as JSON whatever the content type), the failed-auth lockout,
 * authentication of every mutating request (auth.ts), the per-caller change
 * budget (rate-limits.ts), the route modules, then 405 for a known path
 * with the wrong method, 404, and one error body ({"error", "detail"}).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { authenticate } from './auth.ts';
import { sendError } from './http.ts';
import type { RateLimits } from './rate-limits.ts';
import type { Replays } from '../replay/replay-queue.ts';
import { apiDocsRoutes } from './routes/api-docs.ts';
import { bookRoutes } from './routes/book.ts';
import { breakerRoutes } from './routes/breaker.ts';
import { healthRoutes } from './routes/health.ts';
import { killSwitchRoutes } from './routes/kill-switch.ts';
import { riskRoutes } from './routes/risk.ts';
import { replayRoutes } from './routes/replay.ts';
import { routerControlRoutes } from './routes/router-control.ts';
import { streamRoutes } from './routes/stream.ts';
import { tradingRoutes } from './routes/trading.ts';
import type { StatusDeps } from './status-report.ts';

export interface WebDeps extends StatusDeps {
  replays: Replays;
  /** Every address the API listens on is a loopback address (auth.ts). */
  loopback: boolean;
  limits: RateLimits;
}

/** Mutating routes that change nothing and need no token. */
const OPEN_MUTATIONS = new Set(['/api/risk/preview']);

/** The dashboard's files (public/) and the charting library's build, served as they are: no build step. */
const PUBLIC_DIR = join(import.meta.dirname, 'public');
const require = createRequire(import.meta.url);
const UPLOT_DIR = join(dirname(require.resolve('uplot/package.json')), 'dist');
const SWAGGER_UI_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));

export interface WebApp {
  app: express.Express;
  /** Ends the dashboard streams (before the server closes). */
  close: () => void;
}

export function createApp(d: WebDeps): WebApp {
  const app = express();
  app.disable('x-powered-by');
  app.use(helmet());
  app.use(express.text({ type: () => true, limit: '64kb' }));
  app.use(d.limits.authFailures);
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (req.method === 'GET' || req.method === 'HEAD' || OPEN_MUTATIONS.has(req.path)) return next();
    const auth = authenticate(req.headers.authorization, d.ctx.settings, d.loopback);
    if (!auth.ok) return sendError(res, auth.status, auth.error);
    res.locals['caller'] = auth.caller;
    next();
  });
  app.use(d.limits.mutations);

  const router = express.Router();
  const streams = registerRoutes(router, d);
  app.use(router);
  app.use('/vendor/uplot', express.static(UPLOT_DIR, { index: false, maxAge: '1h' }));
  app.use('/vendor/swagger-ui', express.static(SWAGGER_UI_DIR, { index: false, maxAge: '1h' }));
  app.use(express.static(PUBLIC_DIR, { index: 'index.html' }));

  const methods = routeMethods(router);
  app.use((req: Request, res: Response) => {
    const allowed = methods(req.path);
    if (allowed) {
      res.set('allow', [...allowed].join(', '));
      return sendError(res, 405, `${req.method} is not allowed on ${req.path}`, { allow: [...allowed] });
    }
    sendError(res, 404, 'not found', { path: req.path });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: number }).status ?? 500;
    if (status >= 500) d.ctx.log.error({ event: 'http.error', err: String(err) }, 'request failed');
    sendError(res, status, status >= 500 ? 'internal error' : String((err as Error).message));
  });
  return { app, close: () => streams.stop() };
}

/** Every route of the API on `router` (api-spec.ts describes each); the dashboard stream's handle. */
export function registerRoutes(router: express.Router, d: StatusDeps & { replays: Replays }): { stop(): void } {
  healthRoutes(router, d);
  bookRoutes(router, d);
  const streams = streamRoutes(router, d);
  tradingRoutes(router, d);
  routerControlRoutes(router, d);
  riskRoutes(router, d);
  breakerRoutes(router, d);
  killSwitchRoutes(router, d);
  replayRoutes(router, d, d.replays);
  apiDocsRoutes(router);
  return streams;
}

/** `METHOD path` of every route on the router, from its own table. */
export function routeTable(router: express.Router): string[] {
  const out: string[] = [];
  for (const layer of router.stack as unknown as { route?: { path: string; methods: Record<string, boolean> } }[]) {
    if (!layer.route) continue;
    for (const [m, on] of Object.entries(layer.route.methods)) if (on && m !== '_all') out.push(`${m.toUpperCase()} ${layer.route.path}`);
  }
  return out;
}

/** The methods the router serves on a path (its routes' own matchers, so /api/orders/:id counts); undefined when none. */
function routeMethods(router: express.Router): (path: string) => Set<string> | undefined {
  const layers = router.stack as unknown as { route?: { methods: Record<string, boolean> }; match(path: string): boolean }[];
  return (path) => {
    let out: Set<string> | undefined;
    for (const layer of layers) {
      if (!layer.route || !layer.match(path)) continue;
      out ??= new Set<string>();
      for (const [m, on] of Object.entries(layer.route.methods)) if (on) out.add(m.toUpperCase());
    }
    if (out?.has('GET')) out.add('HEAD'); // express answers HEAD with the GET route
    return out;
  };
}
