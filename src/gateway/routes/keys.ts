/**
 * API keys (admin):
 *   POST   /v1/keys {tenant, scopes, expires?} -> 201 {id, key, tenant, scopes, createdAt, expiresAt}
 *          (the key is shown this once; `expires` is a duration like "30d" or an ISO time)
 *   GET    /v1/keys[?tenant=]                   -> {keys: [{id, tenant, scopes, createdAt, expiresAt, lastUsedAt, revokedAt}]}
 *   DELETE /v1/keys/:id                         -> the key, revoked (it stops working at once)
 */
import { Hono } from 'hono';
import { parseDuration } from '../../config/units.ts';
import { StrataError } from '../../core/errors.ts';
import { checkTenantId } from '../../tenants/namespace.ts';
import type { GatewayEnv } from '../env.ts';
import { readJson } from '../read-body.ts';

const asObject = (body: unknown): Record<string, unknown> => {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new StrataError('invalid_request', 'send a JSON object {tenant, scopes, expires?}');
  return body as Record<string, unknown>;
};

/** `expires`: a duration from now ("30d", "12h") or an absolute ISO time. */
export function expiryOf(value: unknown, now: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') {
    const ms = parseDuration(value);
    if (ms !== undefined && /[a-z]$/i.test(value.trim())) return now + ms;
    const at = Date.parse(value);
    if (/^\d{4}-\d{2}-\d{2}/.test(value) && Number.isFinite(at)) return at;
  }
  throw new StrataError(
    'invalid_request',
    `expires must be a duration like "30d" or an ISO time, got ${JSON.stringify(value)}`,
  );
}

export function keyRoutes(): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  app.post('/v1/keys', async (c) => {
    const tenants = c.var.tenants;
    const body = asObject(await readJson(c));
    const tenant = checkTenantId(body.tenant);
    const scopes = typeof body.scopes === 'string' ? body.scopes.split(',').map((s) => s.trim()) : body.scopes;
    if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string'))
      throw new StrataError('invalid_request', 'scopes must be a list such as ["invoke", "functions:read"]');
    const expiresAt = expiryOf(body.expires, tenants.now());
    const made = tenants.keys.create({ tenant, scopes, ...(expiresAt !== undefined ? { expiresAt } : {}) });
    c.var.log.info({ keyId: made.id, tenant, scopes: made.scopes }, 'API key created');
    const { lastUsedAt: _l, revokedAt: _r, ...shown } = made;
    return c.json(shown, 201);
  });
  app.get('/v1/keys', (c) => {
    const tenant = c.req.query('tenant');
    return c.json({ keys: c.var.tenants.keys.list(tenant === undefined ? undefined : checkTenantId(tenant)) });
  });
  app.delete('/v1/keys/:id', (c) => {
    const revoked = c.var.tenants.keys.revoke(c.req.param('id'));
    c.var.log.info({ keyId: revoked.id, tenant: revoked.tenant }, 'API key revoked');
    return c.json(revoked);
  });
  return app;
}
