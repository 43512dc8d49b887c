/** How a control write's outcome (core/control/write.ts) is answered: moved or stayed → 200, refused → 409 with the reason. */
import type { Response } from 'express';
import type { WriteOutcome } from '../../core/control/write.ts';
import { sendError } from '../http.ts';

export function answer(res: Response, outcome: WriteOutcome, body: Record<string, unknown>): void {
  if (outcome.kind === 'refused') return sendError(res, 409, outcome.reason);
  res.json({
    ...body,
    ...(outcome.kind === 'stayed' ? { unchanged: true, why: outcome.why } : {}),
    ...(outcome.kind === 'moved' && outcome.auditFileError ? { audit_file_error: outcome.auditFileError } : {}),
  });
}
