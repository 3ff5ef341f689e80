/**
 * The scopes matrix: each route x each scope, from one table. A key without the route's scope
 * gets 403 naming it; a key with it gets past auth (whatever the route then answers); admin
 * passes everywhere. The table is also checked against the middleware's own (route-scopes.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeScope } from '../../src/gateway/middleware/route-scopes.ts';
import { SCOPES, type Scope } from '../../src/tenants/scopes.ts';
import { errorOf, js, startTenantWorker, type TenantWorker } from './support.ts';

const ROUTES: { method: string; path: string; body?: unknown; scope: Scope }[] = [
  { method: 'GET', path: '/v1/functions', scope: 'functions:read' },
  { method: 'GET', path: '/v1/functions/fixture', scope: 'functions:read' },
  { method: 'GET', path: '/v1/functions/fixture/aliases', scope: 'functions:read' },
  {
    method: 'POST',
    path: '/v1/functions',
    body: js('made-by-matrix', 'export default () => 1'),
    scope: 'functions:write',
  },
  { method: 'PUT', path: '/v1/functions/fixture/aliases/prod', body: { version: 1 }, scope: 'functions:write' },
  { method: 'POST', path: '/v1/functions/fixture/rollback', body: {}, scope: 'functions:write' },
  { method: 'DELETE', path: '/v1/functions/gone-anyway', scope: 'functions:write' },
  { method: 'PUT', path: '/v1/functions/fixture/module', body: '', scope: 'functions:write' },
  { method: 'POST', path: '/v1/functions/fixture/invoke', body: {}, scope: 'invoke' },
  { method: 'POST', path: '/v1/executions/00000000-0000-0000-0000-000000000000/cancel', scope: 'invoke' },
  { method: 'GET', path: '/v1/executions/00000000-0000-0000-0000-000000000000', scope: 'executions:read' },
  { method: 'GET', path: '/v1/executions/00000000-0000-0000-0000-000000000000/usage', scope: 'executions:read' },
  { method: 'GET', path: '/v1/executions/00000000-0000-0000-0000-000000000000/logs', scope: 'executions:read' },
  { method: 'GET', path: '/v1/executions', scope: 'executions:read' },
  { method: 'GET', path: '/v1/functions/fixture/executions', scope: 'executions:read' },
  { method: 'GET', path: '/v1/alerts', scope: 'admin' },
  { method: 'GET', path: '/v1/plugins/nope', scope: 'admin' },
  { method: 'POST', path: '/v1/plugins/nope/reload', scope: 'admin' },
  { method: 'POST', path: '/v1/keys', body: { tenant: 'matrix', scopes: ['invoke'] }, scope: 'admin' },
  { method: 'GET', path: '/v1/keys', scope: 'admin' },
  { method: 'DELETE', path: '/v1/keys/ffffffffffffffff', scope: 'admin' },
  { method: 'GET', path: '/v1/tenants', scope: 'admin' },
  { method: 'PUT', path: '/v1/tenants/matrix/quota', body: {}, scope: 'admin' },
  { method: 'GET', path: '/v1/tenants/matrix/usage', scope: 'admin' },
  { method: 'GET', path: '/v1/audit', scope: 'admin' },
  { method: 'GET', path: '/v1/plugins', scope: 'admin' },
  { method: 'GET', path: '/v1/functions/fixture/review', scope: 'functions:read' },
  { method: 'POST', path: '/v1/functions/fixture/approve', body: {}, scope: 'admin' },
  { method: 'GET', path: '/v1/a-route-nobody-listed', scope: 'admin' },
];

let t: TenantWorker;
const keys = new Map<Scope, string>();

beforeAll(async () => {
  t = await startTenantWorker();
  for (const scope of SCOPES) keys.set(scope, (await t.key('matrix', [scope])).key);
  const admin = keys.get('admin') as string;
  expect((await t.call(admin, 'POST', '/v1/functions', js('fixture', 'export default () => 1'))).status).toBe(201);
}, 120_000);
afterAll(async () => {
  await t?.close();
});

describe('scopes matrix', () => {
  it('the table matches the middleware', () => {
    for (const r of ROUTES) expect(routeScope(r.method, r.path).scope, `${r.method} ${r.path}`).toBe(r.scope);
    // A stream (not walked below: it stays open); test/tenants/isolation.test.ts follows it per tenant.
    expect(routeScope('GET', '/v1/events').scope).toBe('executions:read');
  });

  for (const route of ROUTES) {
    it(`${route.method} ${route.path} needs ${route.scope}`, async () => {
      for (const scope of SCOPES) {
        const res = await t.call(keys.get(scope), route.method, route.path, route.body);
        const allowed = scope === route.scope || scope === 'admin';
        if (allowed) {
          expect([401, 403], `${scope} on ${route.method} ${route.path}`).not.toContain(res.status);
        } else {
          expect(res.status, `${scope} on ${route.method} ${route.path}`).toBe(403);
          const error = await errorOf(res);
          expect(error.code).toBe('forbidden');
          expect(error.message).toContain(`"${route.scope}"`);
        }
      }
    });
  }
});
