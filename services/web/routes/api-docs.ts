/** GET /api/openapi.json: the API described (api-spec.ts); /api/docs is its reference page (Swagger UI, served from node_modules). */
import type { Router } from 'express';
import { openApiDocument } from '../api-spec.ts';

export function apiDocsRoutes(router: Router): void {
  router.get('/api/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });
  router.get('/api/docs', (_req, res) => {
    res.redirect(302, '/api-docs.html');
  });
}
