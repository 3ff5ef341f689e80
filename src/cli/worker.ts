/**
 * The worker's composition root: builds the store, registry, resources, sandbox tiers, executor
 * and gateway from one Config, serves HTTP, and shuts everything down in order. `strata serve`
 * and `strata dev` start it; tests start it in-process.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import pino, { type Logger } from 'pino';
import { collectDefaultMetrics, Registry as MetricsRegistry } from 'prom-client';
import { createDockerDriver } from '../../sandboxes/docker/driver.ts';
import { IsolateDriver } from '../../sandboxes/isolate/driver.ts';
import { createProcessDriver } from '../../sandboxes/process/index.ts';
import { createWasmDriver } from '../../sandboxes/wasm/driver.ts';
import type { Config } from '../config/schema.ts';
import type { SandboxDriver } from '../core/driver.ts';
import { StrataError } from '../core/errors.ts';
import { Executor } from '../executor/executor.ts';
import { ExecutorMetrics } from '../executor/metrics.ts';
import { ExecutionStore } from '../executor/records.ts';
import { createGateway } from '../gateway/app.ts';
import type { GatewayEnv } from '../gateway/env.ts';
import { registerEventLoopDelay } from '../gateway/event-loop-delay.ts';
import { describeFunction } from '../gateway/routes/functions.ts';
import { usageRoutes } from '../gateway/routes/usage.ts';
import { wasmUploadRoutes } from '../gateway/routes/wasm-upload.ts';
import { attachMasterLink } from '../link/attach.ts';
import type { MasterLink } from '../link/master-link.ts';
import { deployFunction } from '../registry/deploy.ts';
import { Registry } from '../registry/registry.ts';
import { registerResourceMetrics } from '../resources/metrics.ts';
import { createResources, type Resources } from '../resources/service.ts';
import { Database } from '../store/database.ts';
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
  drivers: SandboxDriver[];
  metrics: MetricsRegistry;
  /** The link to the Master, when STRATA_MASTERS names one. */
  link: MasterLink | undefined;
  /** The Hono app (tests call app.request()). */
  app: Hono<GatewayEnv>;
  /** Stop taking requests, let in-flight invocations finish (bounded), free every sandbox. */
  close(): Promise<void>;
}

export interface StartWorkerOptions {
  logger?: Logger;
  /** Skip the HTTP listener (in-process tests use app.request()). */
  listen?: boolean;
}

export async function startWorker(config: Config, options: StartWorkerOptions = {}): Promise<Worker> {
  const logger = options.logger ?? pino({ level: config.logLevel, base: { service: 'strata-worker' } });
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, 'strata.db'));
  const registry = new Registry({ db, dataDir });
  const records = new ExecutionStore(db, config.executor.recordRetention);
  const interrupted = records.closeInterrupted();
  if (interrupted > 0) logger.warn({ interrupted }, 'closed execution records a previous run left unfinished');

  let executorReady = false;
  const metrics = new MetricsRegistry();
  collectDefaultMetrics({ register: metrics, prefix: 'strata_worker_' });
  const loopDelay = registerEventLoopDelay(metrics);

  const resources = createResources({
    settings: config.resources,
    db,
    dataDir,
    maxCpuPerFunction: config.limits.max.cpu,
    // Reclamation needs the executor, which is built once the tiers are up.
    onNode: () => {
      if (executorReady) reclaim();
    },
  });
  const reaped = await resources.start().catch((err: Error) => {
    logger.warn({ err: err.message }, 'cgroups unavailable; tiers that need them report so in /healthz');
    return 0;
  });
  if (reaped > 0) logger.info({ reaped }, 'removed cgroups a previous run left behind');
  const cgroupsUsable = resources.health().available;

  const drivers: SandboxDriver[] = [
    new IsolateDriver({
      hosts: config.isolate.hosts,
      maxWarm: config.isolate.maxWarm,
      logger: logger.child({ tier: 'isolate' }),
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
    createProcessDriver({ cgroups: resources.cgroups, settings: config.process }),
    createDockerDriver({
      settings: config.docker,
      limitDefaults: { pids: config.limits.default.pids, tmp: config.limits.default.tmp },
      log: logger.child({ tier: 'docker' }),
    }),
  ];
  await Promise.all(
    drivers.map((driver) =>
      driver.start().catch((err: Error) => logger.warn({ tier: driver.tier, err: err.message }, 'tier did not start')),
    ),
  );

  const executor: Executor = new Executor({
    config,
    drivers,
    records,
    logger,
    governor: {
      admission: (request, running) => resources.admission(request, running),
      observe: (key, usage) => resources.baselines.observe(key, usage),
    },
  });
  executorReady = true;
  const executorMetrics = new ExecutorMetrics(metrics, () => executor.stats());
  // The executor reports finished records to the metrics through this hook.
  executor.on('finish', (record) => executorMetrics.observe(record));
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

  // The Master link (R1-R3, R12-R16): only when Masters are configured.
  const link = attachMasterLink({
    config,
    db,
    executor,
    registry,
    logger,
    metrics,
    nodeTotals: () => resources.nodeTotals(),
    version: VERSION,
  });
  // Heartbeat at once when a tier's health changes (docker daemon gone or back, host crashes):
  // the executor hears it from the drivers (pushed, or polled for drivers that cannot push yet).
  executor.on('tier', (tier, health) => {
    logger.info({ tier, available: health.available, reason: health.reason }, 'tier health changed');
    link?.changed();
  });

  const app = createGateway({
    registry,
    executor,
    records,
    metrics,
    logger,
    bodyLimitBytes: config.bodyLimit,
    apiTokens: config.apiTokens,
    version: VERSION,
    healthDetails: () => ({ cgroups: resources.health(), ...(link ? { link: link.stats() } : {}) }),
    extraRoutes: [
      wasmUploadRoutes({
        maxBytes: config.wasm.maxUpload,
        deploy: async (manifest, module) => {
          const { created, fn } = await deployFunction(registry, manifest, module, (a) => executor.validate(a));
          return describeFunction(fn, executor, { created });
        },
      }),
      usageRoutes({
        history: resources.history,
        executionExists: (id) => executor.liveRecord(id) !== undefined || records.get(id) !== undefined,
      }),
    ],
  });

  let url = `http://${config.host}:${config.port}`;
  let server: ReturnType<typeof serve> | undefined;
  if (options.listen !== false) {
    server = await new Promise<ReturnType<typeof serve>>((resolveServer, reject) => {
      const s = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, (info) => {
        url = `http://${info.family === 'IPv6' ? `[${info.address}]` : info.address}:${info.port}`;
        resolveServer(s);
      });
      s.once('error', reject);
    });
    logger.info({ url, dataDir }, 'strata worker listening');
  }

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      logger.info('shutting down: finishing in-flight invocations');
      const stopped = server ? new Promise<void>((r) => server?.close(() => r())) : Promise.resolve();
      await executor.shutdown();
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
      (server as unknown as { closeAllConnections?: () => void })?.closeAllConnections?.();
      await stopped;
      db.close();
      logger.info('stopped');
    })();
    return closing;
  };

  return { url, config, logger, db, registry, records, executor, resources, drivers, metrics, link, app, close };
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
