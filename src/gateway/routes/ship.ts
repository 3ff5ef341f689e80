/**
 * The "Ship and show" routes of the worker, mounted as one group (src/gateway/app.ts): executions
 * list, logs and events (execution-logs.ts), /openapi.json and /docs, and the /ui dashboard.
 */
import { Hono } from 'hono';
import type { Executor } from '../../executor/executor.ts';
import type { ExecutionStore } from '../../executor/records.ts';
import type { GatewayEnv } from '../env.ts';
import { LiveExecutions } from '../live-executions.ts';
import { WORKER_ROUTES } from '../openapi/worker-routes.ts';
import { executionLogRoutes } from './execution-logs.ts';
import { dashboardRoutes, referenceRoutes } from './reference.ts';

export interface ShipRoutesOptions {
  executor: Executor;
  records: ExecutionStore;
  version: string;
}

export function shipRoutes(options: ShipRoutesOptions): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  const live = new LiveExecutions(options.executor);
  app.route('/', executionLogRoutes({ executor: options.executor, records: options.records, live }));
  app.route(
    '/',
    referenceRoutes(WORKER_ROUTES, {
      title: 'Strata worker API',
      version: options.version,
      description:
        'Deploy and invoke sandboxed functions; executions, logs and usage. Errors are {"error": {code, message}}.',
    }),
  );
  app.route('/', dashboardRoutes('worker'));
  return app;
}
