/** The one place an error becomes an HTTP answer: `{"error": {"code", "message"}}` with a status by code. */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { type ErrorCode, isStrataError, StrataError } from '../core/errors.ts';
import type { GatewayEnv } from './env.ts';

const STATUS: Partial<Record<ErrorCode, ContentfulStatusCode>> = {
  invalid_request: 400,
  invalid_manifest: 400,
  invalid_code: 400,
  unsupported_runtime: 400,
  not_found: 404,
  payload_too_large: 413,
  unauthorized: 401,
  forbidden: 403,
  permission_denied: 403,
  destination_forbidden: 403,
  conflict: 409,
  method_not_allowed: 405,
  rate_limited: 429,
  capacity_exhausted: 503,
  shutting_down: 503,
  tier_unavailable: 503,
};

export const statusOf = (code: ErrorCode): ContentfulStatusCode => STATUS[code] ?? 500;

export function errorResponse(err: Error, c: Context<GatewayEnv>): Response {
  let error: StrataError;
  if (isStrataError(err)) error = err;
  else if (err instanceof HTTPException && err.status === 413)
    error = new StrataError('payload_too_large', 'the request body is too large');
  else if (err instanceof HTTPException)
    error = new StrataError(err.status === 401 ? 'unauthorized' : 'invalid_request', err.message);
  else {
    c.var.log?.error({ err }, 'unhandled error in the gateway');
    error = new StrataError('internal', `internal error: ${err.message}`);
  }
  const status = statusOf(error.code);
  if (status === 503) {
    const retryMs = Number(error.details?.retryAfterMs ?? 1000);
    c.header('Retry-After', String(Math.max(1, Math.ceil(retryMs / 1000))));
  }
  return c.json({ error: error.toJSON() }, status);
}

export const notFound = (c: Context<GatewayEnv>): Response =>
  errorResponse(new StrataError('not_found', `no route ${c.req.method} ${c.req.path}; see GET /openapi.json`), c);
