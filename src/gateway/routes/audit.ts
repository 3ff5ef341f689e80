/** GET /v1/audit?tenant=&since=&limit=&cursor= (admin) -> {items, nextCursor}: oldest first. */
import { Hono } from 'hono';
import { StrataError } from '../../core/errors.ts';
import { MAX_AUDIT_PAGE } from '../../tenants/audit-log.ts';
import { checkTenantId } from '../../tenants/namespace.ts';
import type { GatewayEnv } from '../env.ts';

export function auditRoutes(): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  app.get('/v1/audit', (c) => {
    const { tenant, since, limit, cursor } = c.req.query();
    let sinceMs: number | undefined;
    if (since !== undefined) {
      sinceMs = /^\d+$/.test(since) ? Number(since) : Date.parse(since);
      if (!Number.isFinite(sinceMs))
        throw new StrataError('invalid_request', 'since must be an ISO time or epoch milliseconds');
    }
    const size = limit === undefined ? 100 : Number(limit);
    if (!Number.isInteger(size) || size < 1 || size > MAX_AUDIT_PAGE)
      throw new StrataError('invalid_request', `limit must be a whole number from 1 to ${MAX_AUDIT_PAGE}`);
    return c.json(
      c.var.tenants.audit.query({
        limit: size,
        ...(tenant !== undefined ? { tenant: checkTenantId(tenant) } : {}),
        ...(sinceMs !== undefined ? { since: sinceMs } : {}),
        ...(cursor !== undefined ? { cursor } : {}),
      }),
    );
  });
  return app;
}
