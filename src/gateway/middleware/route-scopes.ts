/**
 * The scope each API route needs, in one table (the scopes test walks it). First match wins;
 * a /v1 path no row names needs `admin`, so a route added later is closed until it is listed.
 * `audit` names the action written to the audit log for routes that change something.
 */
import type { Scope } from '../../tenants/scopes.ts';

export interface RouteScope {
  method: string | '*';
  pattern: RegExp;
  scope: Scope;
  /** Audit action for this route (every denied request is audited anyway). */
  audit?: string;
}

const NAME = '[^/]+';

export const ROUTE_SCOPES: readonly RouteScope[] = [
  { method: 'GET', pattern: /^\/v1\/functions\/?$/, scope: 'functions:read' },
  { method: 'POST', pattern: /^\/v1\/functions\/?$/, scope: 'functions:write', audit: 'function.deploy' },
  { method: 'POST', pattern: new RegExp(`^/v1/functions/${NAME}/invoke$`), scope: 'invoke' },
  {
    method: 'PUT',
    pattern: new RegExp(`^/v1/functions/${NAME}/module$`),
    scope: 'functions:write',
    audit: 'function.deploy',
  },
  // Approving a version under review is an operator's act (governance); reading its review is not.
  ...['POST', 'PUT', 'DELETE'].map((method) => ({
    method,
    pattern: new RegExp(`^/v1/functions/${NAME}/(review|approve|reject|versions/[^/]+/(approve|reject))(/.*)?$`),
    scope: 'admin' as const,
    audit: 'function.review',
  })),
  // A function's executions are execution records (like GET /v1/executions?function=), not its code.
  { method: 'GET', pattern: new RegExp(`^/v1/functions/${NAME}/executions/?$`), scope: 'executions:read' },
  { method: 'GET', pattern: new RegExp(`^/v1/functions/${NAME}(/.*)?$`), scope: 'functions:read' },
  {
    method: 'DELETE',
    pattern: new RegExp(`^/v1/functions/${NAME}$`),
    scope: 'functions:write',
    audit: 'function.delete',
  },
  {
    method: '*',
    pattern: new RegExp(`^/v1/functions/${NAME}/(aliases|rollback)(/.*)?$`),
    scope: 'functions:write',
    audit: 'function.alias',
  },
  { method: 'POST', pattern: new RegExp(`^/v1/executions/${NAME}/cancel$`), scope: 'invoke' },
  { method: 'GET', pattern: /^\/v1\/executions(\/.*)?$/, scope: 'executions:read' },
  { method: 'GET', pattern: /^\/v1\/events\/?$/, scope: 'executions:read' },
  // Alerts are the node's (plugins, tiers), not one tenant's: the operator's.
  { method: 'GET', pattern: /^\/v1\/alerts\/?$/, scope: 'admin' },
  { method: 'POST', pattern: /^\/v1\/keys\/?$/, scope: 'admin', audit: 'key.create' },
  { method: 'DELETE', pattern: new RegExp(`^/v1/keys/${NAME}$`), scope: 'admin', audit: 'key.revoke' },
  { method: 'PUT', pattern: new RegExp(`^/v1/tenants/${NAME}/quota$`), scope: 'admin', audit: 'quota.set' },
  { method: '*', pattern: /^\/v1\/secrets(\/.*)?$/, scope: 'admin', audit: 'secret.change' },
  { method: '*', pattern: /^\/v1\/plugins(\/.*)?$/, scope: 'admin', audit: 'plugin.change' },
];

const ADMIN: RouteScope = { method: '*', pattern: /^/, scope: 'admin' };

/** The row for a request: its scope, and the audit action when it changes something. */
export function routeScope(method: string, path: string): RouteScope {
  const m = method === 'HEAD' ? 'GET' : method;
  const row = ROUTE_SCOPES.find((r) => (r.method === '*' || r.method === m) && r.pattern.test(path)) ?? ADMIN;
  // Reads are never audited (GET under a '*' row: secrets listed, plugins shown).
  if (row.audit && m === 'GET') {
    const { audit: _audit, ...read } = row;
    return read;
  }
  return row;
}
