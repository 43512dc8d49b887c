/**
 * What every route shares: one error body ({"error", "detail"}), the raw
 * request body (read as text whatever the content type, so the runbook's
 * plain `curl -d '{...}'` works), and who is asking (auth.ts).
 */
import type { NextFunction, Request, Response } from 'express';
import type { z } from 'zod';
import { identify, type Caller } from './auth.ts';
import { parseBody } from './requests.ts';

/** The one error shape of the API: a message naming what was wrong, and detail when there is more to say. */
export function sendError(res: Response, status: number, error: string, detail: unknown = null): void {
  res.status(status).json({ error, detail });
}

export function bodyText(req: Request): string | undefined {
  return typeof req.body === 'string' ? req.body : undefined;
}

/** The authenticated caller, set by the auth middleware on mutating routes. */
export function callerOf(res: Response): Caller {
  return (res.locals['caller'] as Caller | undefined) ?? { kind: 'anonymous' };
}

/**
 * Parse and validate the body, then resolve who is asking. Answers 400 (bad
 * body) or 403 (claimed operator differs from the token's) itself and
 * returns undefined.
 */
export function readRequest<T extends { operator?: string | undefined }>(
  schema: z.ZodType<T>,
  req: Request,
  res: Response,
  required: boolean,
): { body: T; by: string; authenticated: boolean } | undefined {
  const b = parseBody(schema, bodyText(req), required);
  if (!b.ok) {
    sendError(res, 400, b.error);
    return undefined;
  }
  const claimed = b.value.operator ?? headerOperator(req);
  const id = identify(callerOf(res), claimed, req.ip);
  if (!id.ok) {
    sendError(res, 403, id.error);
    return undefined;
  }
  return { body: b.value, by: id.by, authenticated: id.authenticated };
}

function headerOperator(req: Request): string | undefined {
  const h = req.headers['x-operator'];
  const v = Array.isArray(h) ? h[0] : h;
  return v && v.trim() !== '' ? v.trim().slice(0, 100) : undefined;
}

/** Express 5 passes a rejected promise to the error handler; this keeps handlers typed as async. */
export type Handler = (req: Request, res: Response, next: NextFunction) => Promise<void> | void;
