/**
 * Review reports and manual approval: `GET /v1/functions/:name/review[?version=N]`,
 * `POST /v1/functions/:name/versions/:v/approve` and `/reject` (admin decisions; with API tokens
 * configured they need one, like every /v1 route).
 */
import { Hono } from 'hono';
import type { Governance } from '../../governance/governance.ts';
import type { Registry } from '../../registry/registry.ts';
import { qualify, unqualify } from '../../tenants/namespace.ts';
import { type GatewayEnv, tenantOfContext } from '../env.ts';
import { parseVersion, resolveFunction } from './resolve.ts';

export function reviewRoutes(options: { registry: Registry; governance: Governance }): Hono<GatewayEnv> {
  const { registry, governance } = options;
  const app = new Hono<GatewayEnv>();
  app.get('/v1/functions/:name/review', (c) => {
    const tenant = tenantOfContext(c);
    const fn = resolveFunction(registry, qualify(tenant, c.req.param('name')), c.req.query('version'));
    return c.json({ name: unqualify(tenant, fn.name), version: fn.version, ...governance.reviewAnswer(fn) });
  });
  for (const decision of ['approve', 'reject'] as const) {
    app.post(`/v1/functions/:name/versions/:v/${decision}`, (c) => {
      const tenant = tenantOfContext(c);
      const fn = registry.get(qualify(tenant, c.req.param('name')), parseVersion(c.req.param('v')));
      const answer = governance.decide(fn, decision, 'admin');
      c.var.log.info({ function: fn.name, version: fn.version, decision }, 'review decision');
      return c.json({ name: unqualify(tenant, fn.name), version: fn.version, ...answer });
    });
  }
  return app;
}
