/** GET /metrics: Prometheus text. */
import { Hono } from 'hono';
import type { Registry } from 'prom-client';
import type { GatewayEnv } from '../env.ts';

export function metricsRoutes(options: { registry: Registry }): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  app.get('/metrics', async (c) => {
    c.header('Content-Type', options.registry.contentType);
    return c.body(await options.registry.metrics());
  });
  return app;
}
