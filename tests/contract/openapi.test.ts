/**
 * The API described: /api/openapi.json is OpenAPI 3.1, every route the app
 * serves is in it (method and path, from the router's own table) and
 * nothing else, every example passes the schema its handler validates
 * with, and the reference page loads.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { API_ROUTES, openApiPath } from '../../services/web/api-spec.ts';
import { parseBody, parseQuery } from '../../services/web/requests.ts';
import { makeProjectDir } from '../support/project-dir.ts';
import { type TestEnv, createTestEnv, startTestWeb } from '../support/system.ts';
import express from 'express';
import { registerRoutes, routeTable } from '../../services/web/app.ts';
import type { StatusDeps } from '../../services/web/status-report.ts';
import type { ServiceHandle } from '../../services/core/service.ts';

let env: TestEnv;
let base = '';
let doc: { openapi: string; paths: Record<string, Record<string, { requestBody?: unknown; parameters?: { name: string; in: string }[] }>> };

beforeAll(async () => {
  env = createTestEnv(inject('redisUrl'), 'openapi', { TP_ROOT: makeProjectDir('openapi') });
  const web: { base: string; handle: ServiceHandle } = await startTestWeb(env);
  base = web.base;
  doc = (await (await fetch(`${base}/api/openapi.json`)).json()) as typeof doc;
});
afterAll(async () => {
  await env.close();
});

/** Deps for registering routes only: registration reads the context's client and key names, nothing else. */
function webDeps(): StatusDeps & { replays: never } {
  const ctx = env.handles[0]!.ctx;
  return { ctx, risk: undefined as never, instruments: undefined as never, versions: () => ({}), rateLimits: async () => ({}), replays: undefined as never };
}

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 with one operation per route, path parameters in braces', () => {
    expect(doc.openapi).toBe('3.1.0');
    const ops = Object.entries(doc.paths).flatMap(([p, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${p}`));
    expect(ops.sort()).toEqual(API_ROUTES.map((r) => `${r.method.toUpperCase()} ${openApiPath(r.path)}`).sort());
    expect(doc.paths['/api/orders/{id}']!['get']!.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'id', in: 'path' })]));
    expect(doc.paths['/api/orders']!['get']!.parameters!.map((p) => p.name).sort()).toEqual(['before', 'limit', 'model', 'state', 'symbol']);
    expect(doc.paths['/api/stop-trading']!['post']!.requestBody).toBeDefined();
  });

  it('every route the app serves is documented, and every documented route is served', async () => {
    // The router's own table, built as the app builds it (handlers are registered, not called).
    const router = express.Router();
    registerRoutes(router, webDeps()).stop();
    expect(routeTable(router).sort()).toEqual(API_ROUTES.map((r) => `${r.method.toUpperCase()} ${r.path}`).sort());
    // And the running app answers each documented route (a GET route is not the 404 fallback; a change names its method in Allow).
    for (const r of API_ROUTES) {
      const path = r.path.replace(':id', 'T1-0').replace(':symbol', 'BTC-USD');
      if (r.method === 'get') {
        // A handler's own 404 ("no order T1-0") is served; the app's fallback says "not found". The stream is left at its headers.
        const ac = new AbortController();
        const res = await fetch(`${base}${path}`, { signal: ac.signal, redirect: 'manual' });
        const fallback = res.status === 404 && ((await res.json()) as { error: string }).error === 'not found';
        ac.abort();
        expect(fallback, `${r.method} ${r.path}`).toBe(false);
      } else expect((await fetch(`${base}${path}`, { method: 'PUT' })).headers.get('allow') ?? '', `${r.method} ${r.path}`).toContain(r.method.toUpperCase());
    }
  });

  it('every example passes the schema its handler validates with', () => {
    let checked = 0;
    for (const r of API_ROUTES) {
      if (r.body) {
        const parsed = parseBody(r.body.schema, JSON.stringify(r.body.example), r.body.required);
        expect(parsed, `${r.method} ${r.path}: ${JSON.stringify(r.body.example)}`).toMatchObject({ ok: true });
        checked++;
      }
      if (r.query && r.queryExample) {
        expect(parseQuery(r.query, r.queryExample), `${r.method} ${r.path} query`).toMatchObject({ ok: true });
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(15);
  });

  it('the reference page is served, with its script and the document it reads', async () => {
    const docs = await fetch(`${base}/api/docs`, { redirect: 'manual' });
    expect(docs.status).toBe(302);
    const page = await fetch(`${base}${docs.headers.get('location')}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/vendor/swagger-ui/swagger-ui-bundle.js');
    expect((await fetch(`${base}/vendor/swagger-ui/swagger-ui-bundle.js`)).status).toBe(200);
    expect((await fetch(`${base}/api-docs.js`)).status).toBe(200);
  });
});
