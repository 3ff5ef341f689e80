/**
 * Tenants (admin):
 *   GET /v1/tenants                 -> {tenants: [{id, quota}]} (tenants with keys or quotas)
 *   GET /v1/tenants/:id/quota       -> the quota in force
 *   PUT /v1/tenants/:id/quota {concurrency, queued, rate, burst, functions, artifactBytes, maxLimits}
 *                                   -> {tenant, quota} (replaces the whole quota; {} removes every limit)
 *   GET /v1/tenants/:id/usage       -> {tenant, days: [{day, invocations, cpuMs, memoryMbSeconds}]}
 */
import { Hono } from 'hono';
import { checkTenantId } from '../../tenants/namespace.ts';
import { parseQuota } from '../../tenants/quota.ts';
import type { GatewayEnv } from '../env.ts';
import { readJson } from '../read-body.ts';

export interface TenantRoutesOptions {
  usage?: (tenant: string) => unknown[];
}

export function tenantRoutes(options: TenantRoutesOptions = {}): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  app.get('/v1/tenants', (c) => {
    const tenants = c.var.tenants;
    const ids = new Set([...tenants.quotas.tenants(), ...tenants.keys.list().map((k) => k.tenant)]);
    return c.json({ tenants: [...ids].sort().map((id) => ({ id, quota: tenants.quota(id) })) });
  });
  app.get('/v1/tenants/:id/quota', (c) => {
    const tenant = checkTenantId(c.req.param('id'));
    return c.json({ tenant, quota: c.var.tenants.quota(tenant) });
  });
  app.put('/v1/tenants/:id/quota', async (c) => {
    const tenant = checkTenantId(c.req.param('id'));
    const quota = parseQuota(await readJson(c));
    c.var.tenants.quotas.set(tenant, quota, c.var.tenants.now());
    c.var.log.info({ tenant, quota }, 'tenant quota set');
    return c.json({ tenant, quota });
  });
  app.get('/v1/tenants/:id/usage', (c) => {
    const tenant = checkTenantId(c.req.param('id'));
    return c.json({ tenant, days: options.usage?.(tenant) ?? [] });
  });
  return app;
}
