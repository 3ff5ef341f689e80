/**
 * The worker's HTTP gateway (Hono). Routes are one group per file; this only assembles them with
 * the middleware: request id + logging, body limit, authentication, and the one error mapping.
 */
import type { RequestListener } from 'node:http';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { CallbackSender } from '../callbacks/sender.ts';
import { configSchema } from '../config/schema.ts';
import type { Executor } from '../executor/executor.ts';
import type { ExecutionStore } from '../executor/records.ts';
import type { Governance } from '../governance/governance.ts';
import type { Registry } from '../registry/registry.ts';
import { Database } from '../store/database.ts';
import { Tenants } from '../tenants/tenants.ts';
import type { GatewayEnv } from './env.ts';
import { errorResponse, notFound, type RouteTable, routeTable } from './error-handler.ts';
import { fastInvoke, gatewayListener } from './fast-invoke.ts';
import { metricsAuth, tenantAuth } from './middleware/auth.ts';
import { bodyLimit } from './middleware/body-limit.ts';
import { requestId } from './middleware/request-id.ts';
import { aliasRoutes } from './routes/aliases.ts';
import { auditRoutes } from './routes/audit.ts';
import { executionRoutes } from './routes/executions.ts';
import { functionRoutes } from './routes/functions.ts';
import { healthRoutes } from './routes/health.ts';
import { invokeRoutes } from './routes/invoke.ts';
import { keyRoutes } from './routes/keys.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { shipRoutes } from './routes/ship.ts';
import { tenantRoutes } from './routes/tenants.ts';

/** PUT /v1/functions/:name/module (routes/wasm-upload.ts). */
const RAW_UPLOAD = /^\/v1\/functions\/[^/]+\/module$/;

export interface GatewayOptions {
  registry: Registry;
  executor: Executor;
  records: ExecutionStore;
  metrics: MetricsRegistry;
  logger: Logger;
  bodyLimitBytes: number;
  /** Shared tokens (admin keys of the `default` tenant); only used when `tenants` is absent. */
  apiTokens: readonly string[];
  /** Keys, quotas, audit (src/tenants); an in-memory one over `apiTokens` when absent (tests). */
  tenants?: Tenants;
  /** Usage by day of one tenant (GET /v1/tenants/:id/usage). */
  tenantUsage?: (tenant: string) => unknown[];
  version: string;
  healthDetails?: () => Record<string, unknown>;
  /** Delivers async-invoke callbacks (`?callback=`); without it they are refused. */
  callbacks?: CallbackSender;
  /** Review, signatures and approval of deploys (src/governance). */
  governance?: Governance;
  /** Route groups other parts add (usage series, raw WASM upload); any env, since they set none of ours. */
  // biome-ignore lint/suspicious/noExplicitAny: sub-apps are mounted whatever their Env type
  extraRoutes?: readonly Hono<any, any, any>[];
}

export function createGateway(options: GatewayOptions): Hono<GatewayEnv> {
  return createGatewayServer(options).app;
}

/**
 * The Hono app and the node listener to serve it with: the raw invoke fast path (fast-invoke.ts)
 * in front of the app, sharing its tenants, registry and executor.
 */
export function createGatewayServer(options: GatewayOptions): { app: Hono<GatewayEnv>; listener: RequestListener } {
  const app = new Hono<GatewayEnv>();
  app.use('*', requestId({ logger: options.logger }));
  const tenants =
    options.tenants ??
    new Tenants({ db: new Database(':memory:'), config: configSchema.parse({ apiTokens: [...options.apiTokens] }) });
  app.use('/v1/*', tenantAuth({ tenants }));
  app.use('/metrics', metricsAuth({ tenants }));
  const limitBody = bodyLimit({ maxBytes: options.bodyLimitBytes });
  // A raw WASM upload has its own, larger cap (wasm.maxUpload), enforced while its route streams it.
  app.use('/v1/*', (c, next) => (c.req.method === 'PUT' && RAW_UPLOAD.test(c.req.path) ? next() : limitBody(c, next)));
  app.onError(errorResponse);
  // Built on the first miss, once every route group is mounted: 404, or 405 for a known path.
  let routes: RouteTable | undefined;
  app.notFound(notFound(() => (routes ??= routeTable(app.routes))));
  app.route(
    '/',
    healthRoutes({
      executor: options.executor,
      version: options.version,
      ...(options.healthDetails ? { details: options.healthDetails } : {}),
    }),
  );
  app.route('/', metricsRoutes({ registry: options.metrics }));
  app.route(
    '/',
    functionRoutes({
      registry: options.registry,
      executor: options.executor,
      ...(options.governance ? { governance: options.governance } : {}),
    }),
  );
  app.route(
    '/',
    invokeRoutes({
      registry: options.registry,
      executor: options.executor,
      ...(options.callbacks ? { callbacks: options.callbacks } : {}),
    }),
  );
  app.route('/', aliasRoutes({ registry: options.registry }));
  app.route('/', executionRoutes({ executor: options.executor, records: options.records }));
  app.route('/', keyRoutes());
  app.route('/', tenantRoutes(options.tenantUsage ? { usage: options.tenantUsage } : {}));
  app.route('/', auditRoutes());
  app.route('/', shipRoutes({ executor: options.executor, records: options.records, version: options.version }));
  for (const routes of options.extraRoutes ?? []) app.route('/', routes);
  const fast = fastInvoke({
    registry: options.registry,
    executor: options.executor,
    tenants,
    logger: options.logger,
    bodyLimitBytes: options.bodyLimitBytes,
  });
  return { app, listener: gatewayListener(app.fetch, fast) };
}
