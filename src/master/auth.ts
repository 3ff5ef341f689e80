/**
 * The Master's HTTP API under the worker's key and scope model (src/tenants): a bearer token is
 * an API key of the Master's own key store, the bootstrap admin token (STRATA_ADMIN_TOKEN) or
 * one of STRATA_API_TOKENS (admin keys of `default`). No valid key: 401; a key without the
 * route's scope: 403 naming it (both audited). With no key configured at all the API stays open
 * as before (everyone is the `default` tenant's admin). A task belongs to its function's tenant
 * (the catalogue keys a tenant's function `tenant/name`); another tenant's task answers 404
 * exactly like one that does not exist.
 */
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { StrataError } from '../core/errors.ts';
import { expiryOf } from '../gateway/routes/keys.ts';
import { checkTenantId, qualify, tenantOfKey, unqualify } from '../tenants/namespace.ts';
import type { Principal } from '../tenants/principal.ts';
import { allows, type Scope } from '../tenants/scopes.ts';
import { OPEN_PRINCIPAL, type Tenants } from '../tenants/tenants.ts';
import type { TaskView } from './types.ts';

export type MasterEnv = { Variables: { principal: Principal } };

interface MasterRouteScope {
  method: string | '*';
  pattern: RegExp;
  scope: Scope;
}

const ID = '[^/]+';

/** The scope of each Master route; a /v1 route not named here needs `admin`. */
export const MASTER_ROUTE_SCOPES: readonly MasterRouteScope[] = [
  { method: 'POST', pattern: /^\/v1\/functions\/?$/, scope: 'functions:write' },
  { method: 'POST', pattern: /^\/v1\/tasks\/?$/, scope: 'invoke' },
  { method: 'GET', pattern: new RegExp(`^/v1/tasks/${ID}(/logs)?$`), scope: 'executions:read' },
  { method: 'POST', pattern: new RegExp(`^/v1/tasks/${ID}/(cancel|pause|resume)$`), scope: 'invoke' },
  // Workers (list, drain, configure) and keys are the operator's.
];

/** Routes open to anyone: health, the API document and the dashboard's page. */
const OPEN = /^\/(healthz|openapi\.json|docs|ui)(\/.*)?$/;

export function masterRouteScope(method: string, path: string): Scope | undefined {
  if (OPEN.test(path)) return undefined;
  // /metrics: any valid key (like the worker's once keys exist).
  if (path === '/metrics') return 'executions:read';
  for (const r of MASTER_ROUTE_SCOPES)
    if ((r.method === '*' || r.method === method) && r.pattern.test(path)) return r.scope;
  return 'admin';
}

const REFUSED: Record<string, string> = {
  unknown: 'the bearer token is not accepted by this Master; ask an admin for a key (POST /v1/keys on the Master)',
  expired: 'the API key has expired; ask an admin for a new one',
  revoked: 'the API key was revoked; ask an admin for a new one',
};

const errorBody = (code: string, message: string, details?: Record<string, unknown>) => ({
  error: { code, message, ...(details ? { details } : {}) },
});

/** The middleware: who the request acts as, and whether its key has the route's scope. */
export function masterAuth(tenants: Tenants | undefined): MiddlewareHandler<MasterEnv> {
  return async (c, next) => {
    if (!tenants) {
      c.set('principal', OPEN_PRINCIPAL);
      return next();
    }
    const scope = masterRouteScope(c.req.method, c.req.path);
    const header = c.req.header('authorization');
    const token = header === undefined ? undefined : (/^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim() ?? '');
    const deny = (status: 401 | 403, code: string, message: string, principal?: Principal, details?: object) => {
      tenants.audit.append({
        keyId: principal?.keyId ?? null,
        tenant: principal?.tenant ?? null,
        action: 'master.request',
        target: `${c.req.method} ${c.req.path}`,
        result: 'denied',
        status,
        client: null,
        requestId: null,
        details: { code },
      });
      return c.json(errorBody(code, message, details as Record<string, unknown>), status);
    };
    let principal: Principal | undefined;
    if (token === undefined && !tenants.secured()) principal = OPEN_PRINCIPAL;
    else if (token !== undefined) {
      const found = tenants.authenticate(token);
      if (typeof found === 'string') return deny(401, 'unauthorized', REFUSED[found] as string);
      principal = found;
    }
    if (scope === undefined) {
      c.set('principal', principal ?? OPEN_PRINCIPAL);
      return next();
    }
    if (!principal) return deny(401, 'unauthorized', 'send "Authorization: Bearer <key>" (an API key of this Master)');
    if (!allows(principal.scopes, scope))
      return deny(
        403,
        'forbidden',
        `this key lacks the "${scope}" scope for ${c.req.method} ${c.req.path}`,
        principal,
        {
          scope,
        },
      );
    c.set('principal', principal);
    return next();
  };
}

/** The caller's tenant. */
export const tenantOfRequest = (c: Context<MasterEnv>): string => c.get('principal')?.tenant ?? OPEN_PRINCIPAL.tenant;

/** A function name as the caller's tenant means it: its catalogue key. */
export const catalogueName = (c: Context<MasterEnv>, name: string): string => qualify(tenantOfRequest(c), name);

/** The view of a task as its tenant sees it (bare function name), or undefined for another tenant's. */
export function ownTask(c: Context<MasterEnv>, view: TaskView | undefined): TaskView | undefined {
  if (!view) return undefined;
  const tenant = tenantOfRequest(c);
  if (tenantOfKey(view.function.name) !== tenant) return undefined;
  return { ...view, function: { ...view.function, name: unqualify(tenant, view.function.name) } };
}

/** POST/GET/DELETE /v1/keys on the Master (admin; the scope check is the middleware's). */
export function masterKeyRoutes(tenants: Tenants | undefined): Hono<MasterEnv> {
  const app = new Hono<MasterEnv>();
  if (!tenants) return app;
  app.post('/v1/keys', async (c) => {
    let body: Record<string, unknown>;
    try {
      body = (await c.req.json()) as Record<string, unknown>;
    } catch {
      throw new StrataError('invalid_request', 'send a JSON object {tenant, scopes, expires?}');
    }
    const tenant = checkTenantId(body?.tenant);
    const scopes = typeof body.scopes === 'string' ? body.scopes.split(',').map((s) => s.trim()) : body.scopes;
    if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string'))
      throw new StrataError('invalid_request', 'scopes must be a list such as ["invoke", "functions:read"]');
    const expiresAt = expiryOf(body.expires, tenants.now());
    const made = tenants.keys.create({ tenant, scopes, ...(expiresAt !== undefined ? { expiresAt } : {}) });
    const { lastUsedAt: _l, revokedAt: _r, ...shown } = made;
    return c.json(shown, 201);
  });
  app.get('/v1/keys', (c) => {
    const tenant = c.req.query('tenant');
    return c.json({ keys: tenants.keys.list(tenant === undefined ? undefined : checkTenantId(tenant)) });
  });
  app.delete('/v1/keys/:id', (c) => c.json(tenants.keys.revoke(c.req.param('id'))));
  return app;
}
