/**
 * The proving node's own errors (ZkonnxError subclasses, so `code`, `message` and `hint` read as everywhere
 * else), and the HTTP status each error answers with. The reply is always `{ error: { code, message, hint? } }`.
 */
import { ZkonnxError } from '../errors.ts';
import { QueueFullError } from './types.ts';

/** An unknown model or job id. */
export class NotFoundError extends ZkonnxError {
  override name = 'NotFoundError';
  override readonly code = 'NOT_FOUND';
}

/** The request conflicts with the node's state: a model id that exists (upload), a model that is not ready. */
export class ConflictError extends ZkonnxError {
  override name = 'ConflictError';
  override readonly code: string = 'CONFLICT';
  constructor(message: string, opts: { hint?: string; code?: string } = {}) {
    super(message, { hint: opts.hint });
    if (opts.code) this.code = opts.code;
  }
}

/** A write without the right bearer token. */
export class UnauthorizedError extends ZkonnxError {
  override name = 'UnauthorizedError';
  override readonly code = 'UNAUTHORIZED';
}

/** Writes are off: the node was started without a token. */
export class ForbiddenError extends ZkonnxError {
  override name = 'ForbiddenError';
  override readonly code = 'UPLOADS_DISABLED';
}

/** The node is shutting down (or its queue is closed): no new jobs. */
export class ShuttingDownError extends ZkonnxError {
  override name = 'ShuttingDownError';
  override readonly code = 'SHUTTING_DOWN';
}

/** What a failed job's error code answers with (GET /v1/jobs shows it as data; infer answers with it). */
export function statusOfJobError(code: string): number {
  switch (code) {
    case 'TIMEOUT': return 504;
    case 'SHUTDOWN': return 503;
    // The server's own files or processes failed (a model's artifacts, the file system): not the client's fault.
    case 'INTERNAL': case 'WORKER_DIED': case 'WITNESS_MISMATCH': case 'ARTIFACT': case 'FILESYSTEM': case 'STALLED': return 500;
    // The client's input (BAD_INPUT and the like).
    default: return 400;
  }
}

/** The HTTP status of a thrown error. */
export function statusOf(e: unknown): number {
  if (e instanceof QueueFullError) return 429;
  if (e instanceof NotFoundError) return 404;
  if (e instanceof ConflictError) return 409;
  if (e instanceof UnauthorizedError) return 401;
  if (e instanceof ForbiddenError) return 403;
  if (e instanceof ShuttingDownError) return 503;
  if (e instanceof ZkonnxError) return e.exitCode === 3 ? 500 : 400;
  return 500;
}

/** A thrown value as the reply's error object (a ZkonnxError's short message and hint; anything else: INTERNAL). */
export function errorBody(e: unknown): { code: string; message: string; hint?: string } {
  if (e instanceof ZkonnxError) {
    const message = [e.shortMessage, ...e.details.map((d) => `  - ${d}`)].join('\n');
    return { code: e.code, message, ...(e.hint ? { hint: e.hint } : {}) };
  }
  return { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) };
}
