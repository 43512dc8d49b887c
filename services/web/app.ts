/**
 * The operator HTTP API, assembled: security headers, body parsing (text,
 * 64 KiB, read as JSON whatever the content type), the failed-auth lockout,
 * authentication of every mutating request (auth.ts), the per-caller change
 * budget (rate-limits.ts), the route modules, then 405 for a known path
 * with the wrong method, 404, and one error body ({"error", "detail"}).
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { authenticate } from './auth.ts';
import { sendError } from './http.ts';
import type { RateLimits } from './rate-limits.ts';
import { breakerRoutes } from './routes/breaker.ts';
import { healthRoutes } from './routes/health.ts';
import { killSwitchRoutes } from './routes/kill-switch.ts';
import { riskRoutes } from './routes/risk.ts';
import { routerControlRoutes } from './routes/router-control.ts';
import { tradingRoutes } from './routes/trading.ts';
import type { StatusDeps } from './status-report.ts';

export interface WebDeps extends StatusDeps {
  /** Every address the API listens on is a loopback address (auth.ts). */
  loopback: boolean;
  limits: RateLimits;
}

/** Mutating routes that change nothing and need no token. */
const OPEN_MUTATIONS = new Set(['/api/risk/preview']);

export function createApp(d: WebDeps): express.Express {
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
  healthRoutes(router, d);
  tradingRoutes(router, d);
  routerControlRoutes(router, d);
  riskRoutes(router, d);
  breakerRoutes(router, d);
  killSwitchRoutes(router, d);
  app.use(router);

  const methods = routeMethods(router);
  app.use((req: Request, res: Response) => {
    const allowed = methods.get(req.path);
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
  return app;
}

/** path → methods served, from the router's own table. */
function routeMethods(router: express.Router): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const layer of router.stack as unknown as { route?: { path: string; methods: Record<string, boolean> } }[]) {
    if (!layer.route) continue;
    const set = out.get(layer.route.path) ?? new Set<string>();
    for (const [m, on] of Object.entries(layer.route.methods)) if (on) set.add(m.toUpperCase());
    out.set(layer.route.path, set);
  }
  return out;
}
