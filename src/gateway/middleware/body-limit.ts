import type { MiddlewareHandler } from 'hono';
import { bodyLimit as honoBodyLimit } from 'hono/body-limit';
import { formatBytes } from '../../config/units.ts';
import { StrataError } from '../../core/errors.ts';
import type { GatewayEnv } from '../env.ts';

/** 413 for bodies over the limit: refused on Content-Length up front, or cut off while streaming, never buffered whole. */
export function bodyLimit(options: { maxBytes: number }): MiddlewareHandler<GatewayEnv> {
  return honoBodyLimit({
    maxSize: options.maxBytes,
    onError: () => {
      throw bodyTooLarge(options.maxBytes);
    },
  });
}

/** The 413 of a body over `maxBytes` (the invoke fast path raises the same one). */
export function bodyTooLarge(maxBytes: number): StrataError {
  return new StrataError(
    'payload_too_large',
    `the request body is larger than ${formatBytes(maxBytes)} (bodyLimit / STRATA_BODY_LIMIT)`,
  );
}
