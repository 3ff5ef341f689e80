/** GET /v1/executions/:id/usage: the sampled usage series of one execution (resources issue). */
import { Hono } from 'hono';
import { StrataError } from '../../core/errors.ts';
import type { UsageSample } from '../../resources/history.ts';

export interface UsageRoutesOptions {
  history: { samples(executionId: string): UsageSample[] };
  /** Whether an execution with this id exists (so a known one without samples answers 200 []). */
  executionExists?: (executionId: string) => boolean;
}

export function usageRoutes(options: UsageRoutesOptions): Hono {
  const app = new Hono();
  app.get('/v1/executions/:id/usage', (c) => {
    const id = c.req.param('id');
    const samples = options.history.samples(id);
    if (samples.length === 0 && !(options.executionExists?.(id) ?? false))
      throw new StrataError('not_found', `no execution ${id}; ids come from invoke (executionId / id)`);
    return c.json({ executionId: id, samples });
  });
  return app;
}
