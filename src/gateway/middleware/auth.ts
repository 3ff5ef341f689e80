/**
 * Authentication and scopes for /v1/*. A bearer token is an API key (`stk_...`, src/tenants),
 * the bootstrap admin token (STRATA_ADMIN_TOKEN) or one of the older shared tokens
 * (STRATA_API_TOKENS): those two are admin keys of the `default` tenant. No valid key: 401;
 * a key without the route's scope (route-scopes.ts): 403 naming it. Both are audited. With no
 * key at all configured the API is open (the worker only starts so on loopback, or --insecure).
 * A route that changes something is audited once it answered (who, what, target, result).
 */

import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import { StrataError } from '../../core/errors.ts';
import type { AuditInput } from '../../tenants/audit-log.ts';
import type { Principal } from '../../tenants/principal.ts';
import { allows } from '../../tenants/scopes.ts';
import { OPEN_PRINCIPAL, type Tenants } from '../../tenants/tenants.ts';
import type { GatewayEnv } from '../env.ts';
import { errorResponse } from '../error-handler.ts';
import { type RouteScope, routeScope } from './route-scopes.ts';

const REFUSED: Record<string, string> = {
  unknown: 'the bearer token is not accepted by this worker; ask an admin for a key (strata keys create)',
  expired: 'the API key has expired; ask an admin for a new one (strata keys create)',
  revoked: 'the API key was revoked; ask an admin for a new one (strata keys create)',
};

function clientOf(c: Context): string | null {
  try {
    return getConnInfo(c).remote.address ?? null;
  } catch {
    // app.request() in tests has no socket.
    return null;
  }
}

function bearerOf(c: Context): string | undefined {
  return bearerOfHeader(c.req.header('authorization'));
}

/** The token of an `Authorization: Bearer` header: undefined without one, '' when it is malformed. */
export function bearerOfHeader(header: string | undefined): string | undefined {
  if (!header) return undefined;
  return /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim() ?? '';
}

export function auditOf(
  c: Context<GatewayEnv>,
  principal: Principal | undefined,
  entry: Pick<AuditInput, 'action' | 'target' | 'result' | 'status'> & { details?: Record<string, unknown> },
): AuditInput {
  return auditEntry({ principal, client: clientOf(c), requestId: c.get('requestId') ?? null }, entry);
}

/** An audit entry from the request's facts (also used where no Hono context exists). */
export function auditEntry(
  who: { principal: Principal | undefined; client: string | null; requestId: string | null },
  entry: Pick<AuditInput, 'action' | 'target' | 'result' | 'status'> & { details?: Record<string, unknown> },
): AuditInput {
  return {
    keyId: who.principal?.keyId ?? null,
    tenant: who.principal?.tenant ?? null,
    client: who.client,
    requestId: who.requestId,
    ...entry,
  };
}

/** What the auth check decided: the principal, or the refusal (with the principal when one was known). */
export type Authorization =
  | { ok: true; principal: Principal; route: RouteScope }
  | { ok: false; error: StrataError; principal?: Principal; route: RouteScope };

/** The one auth decision for a request (key, then the route's scope); tenantAuth and the invoke fast path share it. */
export function authorize(
  tenants: Tenants,
  method: string,
  path: string,
  authorization: string | undefined,
): Authorization {
  const route = routeScope(method, path);
  let principal: Principal;
  const token = bearerOfHeader(authorization);
  if (!tenants.secured() && token === undefined) principal = OPEN_PRINCIPAL;
  else {
    if (token === undefined)
      return {
        ok: false,
        route,
        error: new StrataError(
          'unauthorized',
          'send "Authorization: Bearer <key>" (an API key from strata keys create)',
        ),
      };
    const found = tenants.authenticate(token);
    if (typeof found === 'string')
      return { ok: false, route, error: new StrataError('unauthorized', REFUSED[found] as string) };
    principal = found;
  }
  if (!allows(principal.scopes, route.scope)) {
    return {
      ok: false,
      route,
      principal,
      error: new StrataError('forbidden', `this key lacks the "${route.scope}" scope for ${method} ${path}`, {
        scope: route.scope,
      }),
    };
  }
  return { ok: true, principal, route };
}

export function tenantAuth(options: { tenants: Tenants }): MiddlewareHandler<GatewayEnv> {
  const { tenants } = options;
  return async (c, next) => {
    c.set('tenants', tenants);
    const decided = authorize(tenants, c.req.method, c.req.path, c.req.header('authorization'));
    const { route } = decided;
    if (!decided.ok) {
      const res = errorResponse(decided.error, c);
      tenants.audit.append(
        auditOf(c, decided.principal, {
          action: route.audit ?? 'request',
          target: `${c.req.method} ${c.req.path}`,
          result: 'denied',
          status: res.status,
          details: { code: decided.error.code },
        }),
      );
      return res;
    }
    const { principal } = decided;
    c.set('principal', principal);
    c.set('tenant', principal.tenant);
    await next();
    if (route.audit) {
      const status = c.res.status;
      tenants.audit.append(
        auditOf(c, principal, {
          action: route.audit,
          target: await targetOf(c),
          result: status < 400 ? 'ok' : 'failed',
          status,
        }),
      );
    }
  };
}

/** What an audited request acted on: the name or id the answer gives, else the path. */
async function targetOf(c: Context<GatewayEnv>): Promise<string> {
  if (c.res.status < 400 && (c.res.headers.get('content-type') ?? '').includes('json')) {
    try {
      const body = (await c.res.clone().json()) as Record<string, unknown>;
      if (typeof body.name === 'string')
        return typeof body.version === 'number' ? `${body.name}@${body.version}` : body.name;
      if (typeof body.id === 'string')
        return `key ${body.id}${typeof body.tenant === 'string' ? ` of ${body.tenant}` : ''}`;
      if (typeof body.tenant === 'string') return `tenant ${body.tenant}`;
    } catch {
      // not JSON after all: the path says enough
    }
  }
  return `${c.req.method} ${c.req.path}`;
}

/** /metrics: open without keys; with keys, any valid key or the metrics token. */
export function metricsAuth(options: { tenants: Tenants }): MiddlewareHandler<GatewayEnv> {
  const { tenants } = options;
  return async (c, next) => {
    if (!tenants.secured()) return next();
    const token = bearerOf(c);
    if (token === undefined)
      throw new StrataError('unauthorized', 'send "Authorization: Bearer <key>" to read /metrics');
    if (tenants.isMetricsToken(token) || typeof tenants.authenticate(token) !== 'string') return next();
    throw new StrataError('unauthorized', REFUSED.unknown as string);
  };
}
