import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { StrataError } from '../../core/errors.ts';
import type { GatewayEnv } from '../env.ts';

/**
 * Bearer-token authentication for the API. With no tokens configured the gateway is open, which
 * is only sensible on loopback (the default bind address).
 */
export function bearerAuth(options: { tokens: readonly string[] }): MiddlewareHandler<GatewayEnv> {
  const tokens = options.tokens.map((t) => Buffer.from(t));
  return async (c, next) => {
    if (tokens.length === 0) return next();
    const header = c.req.header('authorization');
    if (!header)
      throw new StrataError('unauthorized', 'send "Authorization: Bearer <token>" (see apiTokens / STRATA_API_TOKENS)');
    const match = /^Bearer\s+(.+)$/i.exec(header);
    const given = Buffer.from(match?.[1]?.trim() ?? '');
    const ok = tokens.some((t) => t.length === given.length && timingSafeEqual(t, given));
    if (!ok) throw new StrataError('forbidden', 'the bearer token is not accepted by this worker');
    return next();
  };
}
