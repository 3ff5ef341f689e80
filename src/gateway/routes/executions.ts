/** Execution records: GET one (live or stored), cancel a live one. */
import { Hono } from 'hono';
import { StrataError } from '../../core/errors.ts';
import type { Executor } from '../../executor/executor.ts';
import type { ExecutionStore } from '../../executor/records.ts';
import type { GatewayEnv } from '../env.ts';

export interface ExecutionRoutesOptions {
  executor: Executor;
  records: ExecutionStore;
}

export function executionRoutes(options: ExecutionRoutesOptions): Hono<GatewayEnv> {
  const { executor, records } = options;
  const app = new Hono<GatewayEnv>();
  const find = (id: string) => {
    const record = executor.liveRecord(id) ?? records.get(id);
    if (!record) throw new StrataError('not_found', `no execution ${id}; ids come from invoke (executionId / id)`);
    return record;
  };
  app.get('/v1/executions/:id', (c) => c.json(find(c.req.param('id'))));
  app.post('/v1/executions/:id/cancel', async (c) => {
    const id = c.req.param('id');
    const record = find(id);
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
    return c.json(find(id));
  });
  return app;
}
