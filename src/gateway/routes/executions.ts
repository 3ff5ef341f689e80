/** Execution records: GET one (live or stored), cancel a live one. */
import { Hono } from 'hono';
import { matchedRoutes } from 'hono/route';
import { StrataError } from '../../core/errors.ts';
import type { Executor } from '../../executor/executor.ts';
import type { ExecutionStore } from '../../executor/records.ts';
import { tenantOf } from '../../tenants/namespace.ts';
import { type GatewayEnv, tenantOfContext } from '../env.ts';

/** The one answer for an execution id that does not exist for the asking tenant (missing or another's). */
export const executionNotFound = (id: string) =>
  new StrataError('not_found', `no execution ${id}; ids come from invoke (executionId / id)`);

export interface ExecutionRoutesOptions {
  executor: Executor;
  records: ExecutionStore;
}

export function executionRoutes(options: ExecutionRoutesOptions): Hono<GatewayEnv> {
  const { executor, records } = options;
  const app = new Hono<GatewayEnv>();
  // Another tenant's execution answers exactly as a missing one, so its existence does not leak.
  const find = (id: string, tenant: string) => {
    const record = executor.liveRecord(id) ?? records.get(id);
    if (!record || tenantOf(record) !== tenant) throw executionNotFound(id);
    return record;
  };
  // Every route under /v1/executions/:id (usage, logs, ...) answers another tenant's id as missing.
  // A method no route serves answers 405 for every id (missing, another's) alike, so it passes.
  app.use('/v1/executions/:id/*', async (c, next) => {
    const method = c.req.method === 'HEAD' ? 'GET' : c.req.method;
    if (matchedRoutes(c).some((r) => r.method === method)) find(c.req.param('id'), tenantOfContext(c));
    await next();
  });
  app.get('/v1/executions/:id', (c) => c.json(find(c.req.param('id'), tenantOfContext(c))));
  app.post('/v1/executions/:id/cancel', async (c) => {
    const id = c.req.param('id');
    const tenant = tenantOfContext(c);
    const record = find(id, tenant);
    if (record.status !== 'queued' && record.status !== 'running') {
      throw new StrataError(
        'conflict',
        `execution ${id} already ended (${record.status}); there is nothing to cancel`,
        {
          status: record.status,
        },
      );
    }
    await executor.cancel(id);
    return c.json(find(id, tenant));
  });
  return app;
}
