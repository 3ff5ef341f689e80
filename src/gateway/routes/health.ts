/** GET /healthz: 200 {"status":"ok"} while the process serves, with details on tiers and resources. */
import { Hono } from 'hono';
import type { Executor } from '../../executor/executor.ts';
import type { GatewayEnv } from '../env.ts';

export interface HealthRoutesOptions {
  executor: Executor;
  version: string;
  /** More facts to show (cgroups, link state). */
  details?: () => Record<string, unknown>;
}

export function healthRoutes(options: HealthRoutesOptions): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  const startedAt = Date.now();
  app.get('/healthz', (c) =>
    c.json({
      status: 'ok',
      version: options.version,
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      executor: options.executor.stats(),
      tiers: options.executor.tierHealth(),
      ...(options.details?.() ?? {}),
    }),
  );
  return app;
}
