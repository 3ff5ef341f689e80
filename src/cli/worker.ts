/**
 * The worker's composition root: builds the store, registry, resources, sandbox tiers, executor
 * and gateway from one Config, serves HTTP, and shuts everything down in order. `strata serve`
 * and `strata dev` start it; tests start it in-process.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Hono } from 'hono';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Registry as MetricsRegistry } from 'prom-client';
import { createDockerDriver } from '../../sandboxes/docker/driver.ts';
import { HttpDriver } from '../../sandboxes/http/driver.ts';
import { IsolateDriver } from '../../sandboxes/isolate/driver.ts';
import { createProcessDriver } from '../../sandboxes/process/index.ts';
import { createWasmDriver } from '../../sandboxes/wasm/driver.ts';
import { CallbackSender } from '../callbacks/sender.ts';
import { signingKey } from '../callbacks/signature.ts';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import type { SandboxDriver } from '../core/driver.ts';
import { StrataError } from '../core/errors.ts';
import { DriverRegistry } from '../executor/driver-registry.ts';
import { Executor } from '../executor/executor.ts';
import { ExecutorMetrics } from '../executor/metrics.ts';
import { composeHooks, staticHooks } from '../executor/phases.ts';
import { ExecutionStore } from '../executor/records.ts';
import { createGatewayServer } from '../gateway/app.ts';
import type { GatewayEnv } from '../gateway/env.ts';
import { registerEventLoopDelay } from '../gateway/event-loop-delay.ts';
import { alertRoutes } from '../gateway/routes/alerts.ts';
import { compileOf, describeFunction } from '../gateway/routes/functions.ts';
import { pluginRoutes } from '../gateway/routes/plugins.ts';
import { reviewRoutes } from '../gateway/routes/review.ts';
import { secretRoutes } from '../gateway/routes/secrets.ts';
import { usageRoutes } from '../gateway/routes/usage.ts';
import { wasmUploadRoutes } from '../gateway/routes/wasm-upload.ts';
import { governedDeploy } from '../governance/deploy.ts';
import { Governance } from '../governance/governance.ts';
import { SecretStore, secretsKey } from '../governance/secrets.ts';
import type { MasterLink } from '../link/master-link.ts';
import { DestinationGuard, type Resolver } from '../net/destination-guard.ts';
import { AlertCenter } from '../plugins/alerts.ts';
import { PluginHost } from '../plugins/host.ts';
import { PluginMetrics } from '../plugins/metrics.ts';
import { PluginWatcher } from '../plugins/watcher.ts';
import { deployFunction } from '../registry/deploy.ts';
import { Registry } from '../registry/registry.ts';
import { registerResourceMetrics } from '../resources/metrics.ts';
import { createResources, type Resources } from '../resources/service.ts';
import { Database } from '../store/database.ts';
import { unqualify } from '../tenants/namespace.ts';
import { Tenants } from '../tenants/tenants.ts';
import { TenantUsage } from '../tenants/usage.ts';
import { claimPort, type Listener } from './listen.ts';
import { createLogger } from './logger.ts';
import { VERSION } from './version.ts';

export interface Worker {
  url: string;
  config: Config;
  logger: Logger;
  db: Database;
  registry: Registry;
  records: ExecutionStore;
  executor: Executor;
  resources: Resources;
  tenants: Tenants;
  drivers: SandboxDriver[];
  metrics: MetricsRegistry;
  /** The link to the Master, when STRATA_MASTERS names one. */
  link: MasterLink | undefined;
  /** The plugin host (src/plugins) and the alerts it and the tiers raise. */
  plugins: PluginHost;
  alerts: AlertCenter;
  /** The Hono app (tests call app.request()). */
  app: Hono<GatewayEnv>;
  /** Stop taking requests, let in-flight invocations finish (bounded), free every sandbox. */
  close(): Promise<void>;
}

export interface StartWorkerOptions {
  logger?: Logger;
  /** Skip the HTTP listener (in-process tests use app.request()). */
  listen?: boolean;
  /** Name resolution for the http tier's SSRF guard (tests pass a fake; default getaddrinfo). */
  resolve?: Resolver;
  /** The clock of key expiry, rate buckets and audit times (tests step it). */
  now?: () => number;
  /** The config file the worker was started with (default $STRATA_CONFIG): plugins.entries are re-read from it. */
  configFile?: string;
}

/** Things started so far, undone in reverse when a later start-up step fails. */
type Undo = (() => unknown)[];

/**
 * Start a worker. The HTTP port is claimed first (a busy port fails before any sandbox host
 * exists); a start-up step that fails undoes every step before it (hosts, containers, cgroups,
 * the database) and rethrows, so a failed start leaves no process behind.
 */
export async function startWorker(config: Config, options: StartWorkerOptions = {}): Promise<Worker> {
  const logger =
    options.logger ??
    createLogger({ level: config.logLevel, format: config.logFormat, base: { service: 'strata-worker' } });
  const listener = options.listen === false ? undefined : await claimPort(config.host, config.port);
  const undo: Undo = [];
  try {
    return await assemble(config, logger, listener, undo, options);
  } catch (err) {
    for (const step of undo.reverse()) await Promise.resolve(step()).catch(() => {});
    await listener?.abandon();
    throw err;
  }
}

const since = (started: number) => Math.round(performance.now() - started);

async function assemble(
  config: Config,
  logger: Logger,
  listener: Listener | undefined,
  undo: Undo,
  options: StartWorkerOptions,
): Promise<Worker> {
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, 'strata.db'));
  undo.push(() => db.close());
  const registry = new Registry({ db, dataDir });
  const records = new ExecutionStore(db, config.executor.recordRetention);
  const secrets = new SecretStore(db, secretsKey(config.secrets.key, dataDir));
  const interrupted = records.closeInterrupted();
  if (interrupted > 0) logger.warn({ interrupted }, 'closed execution records a previous run left unfinished');

  let executorReady = false;
  const metrics = new MetricsRegistry();
  collectDefaultMetrics({ register: metrics, prefix: 'strata_worker_' });
  const loopDelay = registerEventLoopDelay(metrics);
  undo.push(() => loopDelay.stop());

  const resources = createResources({
    settings: config.resources,
    db,
    dataDir,
    maxCpuPerFunction: config.limits.max.cpu,
    // Reclamation needs the executor, which is built once the tiers are up.
    onNode: (totals) => {
      if (!executorReady) return;
      reclaim();
      // Monitor plugins get each node sample (nothing is queued when none listens).
      executor.monitor({ type: 'sample', at: new Date().toISOString(), data: { node: totals } });
    },
  });
  undo.push(() => resources.stop());
  let started = performance.now();
  const reaped = await resources.start().catch((err: Error) => {
    logger.warn({ err: err.message }, 'cgroups unavailable; tiers that need them report so in /healthz');
    return 0;
  });
  if (reaped > 0) logger.info({ reaped }, 'removed cgroups a previous run left behind');
  logger.info({ ms: since(started), cgroups: resources.health().available }, 'resources ready');
  const cgroupsUsable = resources.health().available;

  /** Where the gateway listens (claimed before anything starts): the egress guard refuses it to every sandbox. */
  const address = listener?.server.address();
  const listening = address && typeof address === 'object' ? { host: address.address, port: address.port } : undefined;
  const drivers: SandboxDriver[] = [
    new IsolateDriver({
      hosts: config.isolate.hosts,
      maxWarm: config.isolate.maxWarm,
      syncCalls: config.isolate.syncCalls,
      logger: logger.child({ tier: 'isolate' }),
      // ctx.fetch: the http runtime's SSRF guard settings (docs/governance.md).
      net: {
        operatorAllow: config.http.allow,
        protected: () => (listening ? [listening] : []),
        maxResponseBytes: config.http.maxResponse,
      },
      ...(cgroupsUsable ? { placeHost: (pid: number, name: string) => placeHost(resources, config, pid, name) } : {}),
    }),
    createWasmDriver({
      config: config.wasm,
      dataDir,
      defaultMemoryBytes: config.limits.default.memory,
      maxMemoryBytes: config.limits.max.memory,
      defaultTmpBytes: config.limits.default.tmp,
      logger: logger.child({ tier: 'wasm' }),
      ...(cgroupsUsable ? { place: (pid: number, name: string) => placeHost(resources, config, pid, name) } : {}),
    }),
    // Scripts are written to the OS temp dir: the sandbox's unprivileged user must reach them,
    // and a data dir may be private (mode 0700).
    createProcessDriver({
      cgroups: resources.cgroups,
      settings: config.process,
      // Sandboxes reach out only through the egress proxy; never to this worker's own API.
      egress: { allow: config.http.allow, protected: () => (listening ? [listening] : []) },
    }),
    createDockerDriver({
      settings: config.docker,
      log: logger.child({ tier: 'docker' }),
      egress: { allow: config.http.allow, protected: () => (listening ? [listening] : []) },
    }),
    new HttpDriver({
      guard: new DestinationGuard({
        operatorAllow: config.http.allow,
        protected: () => (listening ? [listening] : []),
        ...(options.resolve ? { resolve: options.resolve } : {}),
      }),
      secret: (name) => secrets.reveal(name),
      maxResponseBytes: config.http.maxResponse,
      followRedirects: config.http.followRedirects,
      userAgent: `strata-worker/${VERSION}`,
    }),
  ];
  undo.push(() => Promise.all(drivers.map((d) => d.dispose())));
  started = performance.now();
  await Promise.all(
    drivers.map(async (driver, i) => {
      // Each tier's synchronous start (forking its hosts, probing the host) in a task of its own:
      // run back to back, they held the event loop past 100 ms (test/cli/startup-loop.test.ts).
      for (let k = 0; k < i; k++) await new Promise<void>((r) => setImmediate(r));
      const at = performance.now();
      return driver.start().then(
        () => logger.info({ tier: driver.tier, ms: since(at), available: driver.health().available }, 'tier started'),
        (err: Error) => logger.warn({ tier: driver.tier, err: err.message, ms: since(at) }, 'tier did not start'),
      );
    }),
  );
  logger.info({ ms: since(started) }, 'tiers ready');

  const governance = new Governance({
    db,
    config,
    registry,
    processDriver: () => drivers.find((d) => d.tier === 'process'),
  });
  const tenants = new Tenants({ db, config, ...(options.now ? { now: options.now } : {}) });
  if (listener) tenants.assertSafeBind(config.host, 'worker');
  const tenantUsage = new TenantUsage(db);
  const configFile = options.configFile ?? process.env.STRATA_CONFIG;
  // One registry for the built-in tiers and the ones executor plugins add at run time.
  const tiers = new DriverRegistry(drivers);
  const alerts = new AlertCenter({
    keep: config.alerts.keep,
    ...(config.alerts.webhook ? { webhook: config.alerts.webhook } : {}),
    webhookTimeoutMs: config.alerts.webhookTimeout,
    logger: logger.child({ component: 'alerts' }),
    userAgent: `strata-worker/${VERSION}`,
  });
  const plugins = new PluginHost({
    config,
    dataDir,
    hostVersion: VERSION,
    logger: logger.child({ component: 'plugins' }),
    drivers: tiers,
    alerts,
    metrics: new PluginMetrics(metrics),
    records,
    ...(configFile ? { readEntries: () => loadConfig({ file: configFile }).plugins.entries } : {}),
  });
  undo.push(() => plugins.close());
  const executor: Executor = new Executor({
    config,
    drivers: tiers,
    records,
    logger,
    // Governance gates every invocation first (pending review, rejected, unsigned from a Master),
    // then tenant ceilings on limits, then plugins; tenant concurrency and queue are checked at admission.
    hooks: composeHooks(staticHooks({ pre: [governance.preHook] }), tenants.hooks(), plugins),
    escalation: (artifact) => governance.escalationOf(artifact),
    tenantAdmission: (tenant) => tenants.admission(tenant),
    governor: {
      admission: (request, running) => resources.admission(request, running),
      observe: (key, usage) => resources.baselines.observe(key, usage),
    },
  });
  executorReady = true;
  undo.push(() => executor.shutdown(0));
  const executorMetrics = new ExecutorMetrics(metrics, () => executor.stats());
  // The executor reports finished records to the metrics through this hook.
  executor.on('finish', (record) => {
    executorMetrics.observe(record);
    tenantUsage.observe(record);
  });
  registerResourceMetrics(metrics, resources);

  function reclaim(): void {
    const { victims, needBytes } = resources.reclaim(executor.runningUse());
    for (const id of victims) {
      logger.warn({ executionId: id, needBytes }, 'reclaiming memory: stopping a low-priority invocation');
      void executor.cancel(
        id,
        new StrataError(
          'reclaimed',
          `stopped to reclaim memory for higher-priority work (node short by ${Math.ceil(needBytes / 1024 ** 2)} MiB); retry later`,
        ),
      );
    }
  }

  // The Master link (R1-R3, R12-R16): only when Masters are configured, and only then is its
  // module (gRPC, protobufs: ~12 MB of the serving process) loaded.
  const link =
    config.link.masters.length === 0
      ? undefined
      : (await import('../link/attach.ts')).attachMasterLink({
          config,
          db,
          executor,
          registry,
          signatures: governance,
          logger,
          metrics,
          nodeTotals: () => resources.nodeTotals(),
          version: VERSION,
        });
  undo.push(() => link?.stop());
  // Heartbeat at once when a tier's health changes (docker daemon gone or back, host crashes):
  // the executor hears it from the drivers (pushed, or polled for drivers that cannot push yet).
  executor.on('tier', (tier, health) => {
    logger.info({ tier, available: health.available, reason: health.reason }, 'tier health changed');
    link?.changed();
    if (health.available) alerts.raise('info', `tier:${tier}`, `the ${tier} tier is available again`, { tier });
    else
      alerts.raise(
        'critical',
        `tier:${tier}`,
        `the ${tier} tier is unavailable: ${health.reason ?? 'no reason given'}`,
        {
          tier,
          ...(health.reason ? { reason: health.reason } : {}),
        },
      );
  });
  executor.on('finish', (record) => {
    if (record.anomalies && record.anomalies.length > 0)
      alerts.raise(
        'warning',
        'anomaly',
        `execution ${record.id} of ${record.function.name} looks unusual: ${record.anomalies.join(', ')}`,
        {
          executionId: record.id,
          function: record.function,
          anomalies: record.anomalies,
        },
      );
  });
  // Plugins load before the first request is served; later changes arrive through the watcher.
  started = performance.now();
  await plugins.sync();
  logger.info(
    { ms: since(started), dir: plugins.dir, plugins: plugins.list().map((p) => `${p.name}:${p.state}`) },
    'plugins ready',
  );
  const watcher = new PluginWatcher(plugins, {
    intervalMs: config.plugins.watch,
    logger: logger.child({ component: 'plugins' }),
  });
  undo.push(() => watcher.stop());

  const key = signingKey(config.callbacks.signingKey, dataDir);
  const callbacks = new CallbackSender({
    key: key.key,
    attempts: config.callbacks.attempts,
    backoffMs: config.callbacks.backoff,
    backoffMaxMs: config.callbacks.backoffMax,
    timeoutMs: config.callbacks.timeout,
    logger: logger.child({ component: 'callbacks' }),
    userAgent: `strata-worker/${VERSION}`,
    // The same SSRF guard as the http runtime: http.allow admits, the worker's own API never.
    guard: new DestinationGuard({
      operatorAllow: config.http.allow,
      protected: () => (listening ? [listening] : []),
      ...(options.resolve ? { resolve: options.resolve } : {}),
    }),
  });
  undo.push(() => callbacks.close());

  const gateway = createGatewayServer({
    registry,
    executor,
    records,
    metrics,
    logger,
    bodyLimitBytes: config.bodyLimit,
    apiTokens: config.apiTokens,
    tenants,
    tenantUsage: (tenant) => tenantUsage.days(tenant),
    version: VERSION,
    healthDetails: () => ({ cgroups: resources.health(), ...(link ? { link: link.stats() } : {}) }),
    callbacks,
    governance,
    extraRoutes: [
      secretRoutes({ secrets }),
      reviewRoutes({ registry, governance }),
      wasmUploadRoutes({
        maxBytes: config.wasm.maxUpload,
        deploy: async (manifest, module, tenant) => {
          // The same review, signature and quota rules as POST /v1/functions (a raw upload carries no signature).
          const governed = await governedDeploy(
            { registry, executor, governance },
            { manifest, upload: module, tenant, check: (plan) => tenants.checkDeploy(registry, tenant, plan) },
          );
          if (governed.dryRun) return governed.answer;
          const { created, fn, sameAs, reviewed } = governed.result;
          return describeFunction(fn, executor, {
            name: unqualify(tenant, fn.name),
            created,
            ...(sameAs !== undefined ? { sameAs } : {}),
            ...compileOf(reviewed),
            ...(governed.review
              ? { review: { verdict: governed.review.verdict, findings: governed.review.findings } }
              : {}),
          });
        },
      }),
      pluginRoutes({ host: plugins }),
      alertRoutes({ alerts }),
      usageRoutes({
        history: resources.history,
        executionExists: (id) => executor.liveRecord(id) !== undefined || records.get(id) !== undefined,
      }),
    ],
  });

  const url = listener?.url ?? `http://${config.host}:${config.port}`;
  const server = listener?.server;
  if (listener) {
    listener.serve(gateway.listener);
    logger.info({ url, dataDir }, 'strata worker listening');
  }

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      logger.info('shutting down: finishing in-flight invocations');
      const stopped = server ? new Promise<void>((r) => server?.close(() => r())) : Promise.resolve();
      await executor.shutdown();
      watcher.stop();
      await plugins.close();
      await alerts.flushed();
      await callbacks.close();
      loopDelay.stop();
      // After the executor: results that finished during the drain are already in the outbox.
      await link?.stop();
      await Promise.all(
        drivers.map((d) =>
          d
            .dispose()
            .catch((err: Error) => logger.warn({ tier: d.tier, err: err.message }, 'tier did not stop cleanly')),
        ),
      );
      await resources.stop().catch(() => {});
      server?.closeAllConnections();
      await stopped;
      db.close();
      logger.info('stopped');
    })();
    return closing;
  };

  return {
    url,
    config,
    logger,
    db,
    registry,
    records,
    executor,
    resources,
    tenants,
    drivers,
    metrics,
    link,
    plugins,
    alerts,
    app: gateway.app,
    close,
  };
}

/**
 * Put a sandbox host process in its own memory-capped cgroup: a runaway host is OOM-killed in
 * its own group (and replaced) before it can starve the node. The cap is hostMemoryFactor times
 * the largest limit one function may ask for.
 */
async function placeHost(resources: Resources, config: Config, pid: number, name: string) {
  const capBytes = Math.max(512 * 1024 ** 2, config.isolate.hostMemoryFactor * config.limits.max.memory);
  const group = resources.cgroups.createHostGroup(name.replace(/\s+/g, '-'), capBytes);
  await group.addPid(pid);
  return { release: () => group.destroy() };
}
