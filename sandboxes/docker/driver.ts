/**
 * The docker tier (R4): `container` functions (a custom image + command, cold path) and `js` /
 * `script` functions (untrusted code, by policy) through runner images and a warm pool of
 * resident-runner containers. Every container is hardened (hardening.ts), labelled with this
 * worker's id, and reaped when nothing owns it.
 */
import { spawnSync } from 'node:child_process';
import { rmdirSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { DockerSettings } from '../../src/config/sections/docker.ts';
import type {
  Artifact,
  DriverCapabilities,
  Invocation,
  RunOptions,
  SandboxDriver,
  TierHealth,
} from '../../src/core/driver.ts';
import { StrataError } from '../../src/core/errors.ts';
import type { RunOutcome } from '../../src/core/execution.ts';
import type { NetworkGrant } from '../../src/net/allow-list.ts';
import { DestinationGuard, type Resolver } from '../../src/net/destination-guard.ts';
import type { Connect } from '../../src/net/egress-proxy.ts';
import { enforcedSandboxLimits, ioLimitSupport, type Support } from '../../src/resources/io-support.ts';
import { ScratchDisks } from '../../src/resources/scratch-disk.ts';
import { checkManifest, type TierFacts } from '../process/permissions.ts';
import { describeEndpoint, lazyDockerClient, pingDaemon } from './client.ts';
import { errorText, nameFactory, type TierContext } from './context.ts';
import { ContainerEgress, EGRESS_PORT, proxyEnv } from './egress.ts';
import type { HostFacts } from './hardening.ts';
import { hostFacts } from './host-facts.ts';
import { buildRunnerImages, imageExists } from './images.ts';
import { expectedRunnerImagesAsync } from './plan-thread.ts';
import { WarmPool } from './pool.ts';
import type { DockerPrepared } from './prepared.ts';
import { Reaper } from './reaper.ts';
import type { RunnerKind } from './rootfs-plan.ts';
import { runCold } from './run-cold.ts';
import { runWarm } from './run-warm.ts';
import { backingOf, cgroupIoFacts } from './scratch.ts';

export interface DockerDriverOptions {
  /** `config.docker`. */
  settings: DockerSettings;
  /** Overrides settings.workerId (the link's worker id, when there is one). */
  workerId?: string;
  /** An injected client (tests); otherwise one from settings.socketPath / DOCKER_HOST. */
  docker?: Docker;
  /** Operational messages (pino-compatible). */
  log?: { warn: (obj: object, msg: string) => void; info: (obj: object, msg: string) => void };
  /** Network egress: the operator allow-list (`http.allow`) and what is never reachable. */
  egress?: {
    allow?: readonly string[];
    /** The worker's own listeners (never admitted). */
    protected?: () => readonly { host: string; port: number }[];
    /** Tests: a fake resolver / a counting connect. */
    resolve?: Resolver;
    connect?: Connect;
  };
}

export interface DockerDriver extends SandboxDriver<DockerPrepared> {
  /** Remove orphans now (also runs at start, periodically and at dispose). */
  reap(): Promise<number>;
  /** Pool and daemon figures (also in health().details). */
  stats(): Record<string, unknown>;
  /** Resolves once the runner images are present (or their build failed). */
  imagesReady(): Promise<void>;
  /** The names of the runner images in use. */
  runnerImages(): Partial<Record<RunnerKind, string>>;
  /** The scratch disks behind the containers' /tmp (tests count and reap them). */
  readonly scratchDisks: ScratchDisks;
}

/** Is nsenter there (the egress listener's way into a container's namespace)? */
function probeNsenter(nsenter: string): Support {
  const v = spawnSync(nsenter, ['--version'], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
  if (v.error || v.status !== 0)
    return { ok: false, reason: `${nsenter} not installed (Debian package util-linux): no egress proxy` };
  return { ok: true };
}

const PING_TIMEOUT_MS = 3000;
const MAX_FRAME_SLACK = 1024 * 1024;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export function createDockerDriver(options: DockerDriverOptions): DockerDriver {
  const settings = options.settings;
  const workerId = options.workerId || settings.workerId || hostname();
  const endpoint = { socketPath: settings.socketPath };
  // dockerode is loaded when the daemon first answers (the ping below goes without it).
  const docker = options.docker ?? lazyDockerClient(endpoint);
  const log = options.log;
  let facts: HostFacts = { cpuCount: 1, ioWeight: false };
  const notStarted = { ok: false, reason: 'the docker tier has not started' };
  /** What this node can enforce for a manifest (egress, I/O limits); judged when the daemon is first seen. */
  let tierFacts: TierFacts = { egress: notStarted, io: { bandwidth: notStarted, weight: notStarted } };
  let scratchState: Support & { backingDisk?: string } = notStarted;
  let scratchReaped = false;
  const guard = new DestinationGuard({
    operatorAllow: options.egress?.allow ?? [],
    ...(options.egress?.protected ? { protected: options.egress.protected } : {}),
    ...(options.egress?.resolve ? { resolve: options.egress.resolve } : {}),
  });
  const scratchDisks = new ScratchDisks({
    // One directory per worker id: a worker reaps only its own (and dead workers') disks.
    dir: settings.scratchDir || join(tmpdir(), 'strata-docker-scratch', workerId.replace(/[^A-Za-z0-9_.-]/g, '_')),
    uid: 0,
    gid: 0,
    noexec: true,
    rootMode: 0o1777,
  });
  let daemon: { up: boolean; reason?: string; version?: string; cgroupVersion?: string; checkedAt?: number } = {
    up: false,
    reason: 'the docker tier has not started',
  };
  let disposed = false;
  let started = false;
  const timers: NodeJS.Timeout[] = [];
  const prepared = new Map<string, DockerPrepared>();
  const images: Partial<Record<RunnerKind, string>> = {};
  let imageState: { state: 'unknown' | 'checking' | 'building' | 'ready' | 'missing' | 'failed'; reason?: string } = {
    state: 'unknown',
  };
  let imagesPromise: Promise<void> | undefined;

  const newName = nameFactory(workerId);
  const pool = new WarmPool(
    docker,
    {
      poolMin: settings.poolMin,
      poolMaxPerKey: settings.poolMaxPerKey,
      poolMax: settings.poolMax,
      idleTimeoutMs: settings.idleTimeout,
      keyTtlMs: settings.keyTtl,
      startTimeoutMs: settings.startTimeout,
    },
    () => newName('warm'),
    // Frames carry a result of at most limits.resultBytes (checked again on arrival) plus logs.
    64 * 1024 * 1024 + MAX_FRAME_SLACK,
    { onError: (msg, error) => log?.warn({ err: errorText(error) }, msg) },
  );
  const ctx: TierContext = {
    docker,
    workerId,
    get facts() {
      return facts;
    },
    defaults: {
      cpu: settings.defaultCpu,
      nofile: settings.ulimitNofile,
      nproc: settings.ulimitNproc,
    },
    pool,
    coldNames: new Set(),
    running: new Map(),
    newName,
    startTimeoutMs: settings.startTimeout,
    scratch: undefined,
    newEgress: (grant: NetworkGrant) =>
      new ContainerEgress({
        grant,
        guard,
        maxConnections: settings.egressMaxConnections,
        nsenter: settings.nsenter,
        ...(options.egress?.connect ? { connect: options.egress.connect } : {}),
      }),
  };
  const reaper = new Reaper(docker, workerId, () => new Set([...pool.names(), ...ctx.coldNames]));

  async function checkDaemon(): Promise<boolean> {
    const wasUp = daemon.up;
    try {
      await withTimeout(options.docker ? docker.ping() : pingDaemon(endpoint), PING_TIMEOUT_MS, 'the Docker daemon');
      if (!wasUp) {
        const info = (await withTimeout(docker.info(), PING_TIMEOUT_MS, 'docker info')) as {
          ServerVersion?: string;
          CgroupVersion?: string;
          DockerRootDir?: string;
        };
        const local = !process.env.DOCKER_HOST || process.env.DOCKER_HOST.startsWith('unix://');
        facts = hostFacts(info.DockerRootDir, local);
        daemon = { up: true, version: info.ServerVersion, cgroupVersion: info.CgroupVersion, checkedAt: Date.now() };
        log?.info({ version: info.ServerVersion }, 'docker daemon reachable');
        await reaper.sweep().catch((error: unknown) => log?.warn({ err: errorText(error) }, 'reaping orphans failed'));
        await judgeHost(local);
        ensureImages();
        pool.replenishAll();
      } else daemon.checkedAt = Date.now();
      return true;
    } catch (error) {
      daemon = {
        up: false,
        reason: `docker daemon not reachable at ${describeEndpoint(endpoint)}: ${errorText(error)}`,
        checkedAt: Date.now(),
      };
      if (wasUp) log?.warn({ reason: daemon.reason }, 'docker daemon lost');
      return false;
    }
  }

  function ensureImages(): void {
    if (imagesPromise && imageState.state !== 'failed') return;
    imagesPromise = (async () => {
      imageState = { state: 'checking' };
      try {
        const expected: Partial<Record<RunnerKind, string>> = {};
        if (settings.runnerImageJs) expected.js = settings.runnerImageJs;
        if (settings.runnerImageScript) expected.script = settings.runnerImageScript;
        if (!expected.js || !expected.script)
          Object.assign(expected, { ...(await expectedRunnerImagesAsync()), ...expected });
        const missing: RunnerKind[] = [];
        for (const [kind, image] of Object.entries(expected) as [RunnerKind, string][]) {
          if (!(await imageExists(docker, image))) missing.push(kind);
        }
        const buildable = missing.filter((k) => !(k === 'js' ? settings.runnerImageJs : settings.runnerImageScript));
        if (missing.length > 0 && (!settings.autoBuildImages || buildable.length < missing.length)) {
          Object.assign(
            images,
            Object.fromEntries(Object.entries(expected).filter(([k]) => !missing.includes(k as RunnerKind))),
          );
          imageState = {
            state: 'missing',
            reason: `runner image(s) ${missing.map((k) => expected[k]).join(', ')} not on the daemon; run \`strata images build\``,
          };
          return;
        }
        if (missing.length > 0) {
          imageState = { state: 'building' };
          log?.info({ kinds: missing }, 'building runner images');
          await buildRunnerImages(docker, { kinds: missing });
        }
        Object.assign(images, expected);
        imageState = { state: 'ready' };
      } catch (error) {
        imageState = { state: 'failed', reason: `building the runner images failed: ${errorText(error)}` };
        log?.warn({ err: errorText(error) }, 'runner images unavailable');
      }
    })();
  }

  /**
   * What this node can enforce: egress needs a local daemon (its PIDs are ours to nsenter), root
   * and nsenter; a disk-backed /tmp needs a local daemon (it binds our mounts) and the scratch
   * module's probe; the I/O limits follow (io-support). Disks left by a crashed worker are reaped
   * once, before the first container (orphan containers are gone by then).
   */
  async function judgeHost(local: boolean): Promise<void> {
    const root = process.getuid?.() === 0;
    const egress: Support = !local
      ? { ok: false, reason: "the Docker daemon is remote: the worker cannot enter its containers' network namespaces" }
      : !root
        ? { ok: false, reason: "the worker is not root: it cannot enter a container's network namespace (nsenter)" }
        : probeNsenter(settings.nsenter);
    if (root && local && !scratchReaped) {
      scratchReaped = true;
      await scratchDisks
        .reap()
        .catch((error: unknown) => log?.warn({ err: errorText(error) }, 'reaping scratch disks failed'));
    }
    const scratch: Support =
      settings.scratch === 'tmpfs'
        ? { ok: false, reason: 'docker.scratch is tmpfs' }
        : !local
          ? { ok: false, reason: "the Docker daemon is remote: it cannot bind this host's scratch disks" }
          : await scratchDisks.probe();
    const backing = backingOf(scratchDisks.dir);
    scratchState = scratch.ok
      ? { ok: true, ...(backing.backingDisk ? { backingDisk: backing.backingDisk } : {}) }
      : scratch;
    ctx.scratch = scratch.ok ? scratchDisks : undefined;
    const io = ioLimitSupport({
      ...(local ? cgroupIoFacts() : { mode: 'none', controllers: [], weightFile: false }),
      scratch,
      ...backing,
    });
    tierFacts = { egress, io };
    facts = { ...facts, ioWeight: io.weight.ok };
  }

  async function maintain(): Promise<void> {
    if (disposed) return;
    if (await checkDaemon()) await pool.maintain();
  }

  /** What placement may count on: the I/O limits and network depend on what the host offers. */
  const capabilities = (): DriverCapabilities => {
    const { io, egress } = tierFacts;
    return {
      runtimes: ['container', 'js', 'script'],
      measures: [
        'wallMs',
        'cpuMs',
        'memoryPeakBytes',
        'ioReadBytes',
        'ioWriteBytes',
        ...(egress.ok ? (['netRxBytes', 'netTxBytes'] as const) : []),
      ],
      pause: true,
      enforces: ['timeoutMs', ...enforcedSandboxLimits(io), 'logBytes'],
      // The guard enforces host:port / CIDR lists; without a way into the containers' namespaces, none.
      network: egress.ok ? 'allowlist' : 'none',
      ownProcesses: true,
    };
  };

  async function runnerImage(kind: RunnerKind): Promise<string> {
    if (imagesPromise) await imagesPromise;
    const image = images[kind];
    if (!image) {
      throw new StrataError(
        'tier_unavailable',
        imageState.reason ?? `the ${kind} runner image is not available; run \`strata images build\``,
      );
    }
    return image;
  }

  return {
    tier: 'docker',
    get capabilities() {
      return capabilities();
    },

    async start() {
      if (started || disposed) return;
      started = true;
      if (!settings.enabled) {
        daemon = { up: false, reason: 'the docker tier is disabled (STRATA_DOCKER_ENABLED=false)' };
        return;
      }
      await checkDaemon();
      const every = (ms: number, fn: () => Promise<unknown>) => {
        const timer = setInterval(() => {
          fn().catch((error: unknown) => log?.warn({ err: errorText(error) }, 'docker tier maintenance failed'));
        }, ms);
        timer.unref();
        timers.push(timer);
      };
      every(settings.healthInterval, maintain);
      every(settings.reapInterval, async () => {
        if (daemon.up) await reaper.sweep();
      });
    },

    health(): TierHealth {
      const details = {
        endpoint: describeEndpoint(endpoint),
        workerId,
        daemonVersion: daemon.version,
        cgroupVersion: daemon.cgroupVersion,
        images: { ...images, state: imageState.state, ...(imageState.reason ? { reason: imageState.reason } : {}) },
        pool: pool.stats(),
        reaped: reaper.reaped,
        blockDevice: facts.blockDevice ?? null,
        ioWeight: facts.ioWeight,
        scratch: scratchState.ok
          ? {
              kind: 'disk',
              dir: scratchDisks.dir,
              backingDisk: scratchState.backingDisk ?? null,
              live: scratchDisks.live(),
            }
          : { kind: 'tmpfs', reason: scratchState.reason },
        egress: tierFacts.egress.ok ? { proxy: `127.0.0.1:${EGRESS_PORT}` } : { unavailable: tierFacts.egress.reason },
        // Each limit this node cannot enforce, once, with the reason (a deploy asking for it is refused).
        missingLimits: [tierFacts.io.bandwidth, tierFacts.io.weight].filter((x) => !x.ok).map((x) => x.reason),
      };
      if (disposed) return { available: false, reason: 'the docker tier was disposed', details };
      if (!daemon.up) return { available: false, reason: daemon.reason, details };
      if (settings.scratch === 'disk' && !scratchState.ok)
        return { available: false, reason: `docker.scratch is disk, but ${scratchState.reason}`, details };
      return { available: true, ...(imageState.reason ? { reason: imageState.reason } : {}), details };
    },

    async prepare(artifact: Artifact): Promise<DockerPrepared> {
      const cached = prepared.get(artifact.digest);
      if (cached) return cached;
      if (!daemon.up) throw new StrataError('tier_unavailable', daemon.reason ?? 'the Docker daemon is not reachable');
      const m = artifact.manifest;
      const checked = checkManifest(m, tierFacts);
      if ('refusal' in checked)
        throw new StrataError(
          'permission_denied',
          `function "${m.name}" cannot run on the docker tier: ${checked.refusal}`,
        );
      const grant = checked.grant;
      // Last: a function's own env cannot point the proxy elsewhere.
      const env = { ...m.permissions.env, ...(grant.kind === 'none' ? {} : proxyEnv()) };
      let result: DockerPrepared;
      if (m.runtime === 'container') {
        const image = m.image as string;
        let present: boolean;
        try {
          present = await imageExists(docker, image);
        } catch (error) {
          throw new StrataError(
            'tier_unavailable',
            `the Docker daemon could not be asked about image "${image}": ${errorText(error)}`,
          );
        }
        if (!present) {
          throw new StrataError(
            'invalid_manifest',
            `image "${image}" is not on the Docker daemon, and Strata never pulls: load it (docker load / docker build) on this node, then deploy again`,
            { image },
          );
        }
        result = {
          path: 'cold',
          image,
          ...(m.command ? { command: m.command } : {}),
          digest: artifact.digest,
          functionName: m.name,
          env,
          grant,
        };
      } else if (m.runtime === 'js' || m.runtime === 'script') {
        const source = Buffer.from(artifact.code).toString('utf8') || (m.source ?? '');
        if (m.runtime === 'script' && !['bash', 'sh', 'python3', 'node'].includes(m.interpreter ?? '')) {
          throw new StrataError(
            'invalid_manifest',
            `interpreter ${JSON.stringify(m.interpreter)} is not in the script runner image`,
          );
        }
        const image = await runnerImage(m.runtime);
        result = {
          path: 'warm',
          kind: m.runtime,
          image,
          digest: artifact.digest,
          functionName: m.name,
          functionVersion: artifact.version,
          source,
          ...(m.interpreter ? { interpreter: m.interpreter } : {}),
          env,
          grant,
        };
      } else {
        throw new StrataError('unsupported_runtime', `the docker tier does not run "${m.runtime}" functions`);
      }
      prepared.set(artifact.digest, result);
      return result;
    },

    run(p: DockerPrepared, invocation: Invocation, runOptions: RunOptions): Promise<RunOutcome> {
      return p.path === 'warm' ? runWarm(ctx, p, invocation, runOptions) : runCold(ctx, p, invocation, runOptions);
    },

    async pause(invocationId: string) {
      const id = ctx.running.get(invocationId);
      if (!id) throw new StrataError('not_found', `invocation ${invocationId} is not running in the docker tier`);
      await docker.getContainer(id).pause();
    },

    async resume(invocationId: string) {
      const id = ctx.running.get(invocationId);
      if (!id) throw new StrataError('not_found', `invocation ${invocationId} is not running in the docker tier`);
      await docker.getContainer(id).unpause();
    },

    forget(digest: string) {
      prepared.delete(digest);
    },

    async dispose() {
      if (disposed) return;
      disposed = true;
      for (const t of timers) clearInterval(t);
      await pool.close();
      await scratchDisks.dispose();
      try {
        // Only when empty (never recursive): a disk still mounted stays for the next start's reap.
        rmdirSync(scratchDisks.dir);
      } catch {
        // absent, or not empty
      }
      if (daemon.up) {
        // Everything left with our label is an orphan now, cold runs included.
        ctx.coldNames.clear();
        await reaper
          .sweep()
          .catch((error: unknown) => log?.warn({ err: errorText(error) }, 'reaping at shutdown failed'));
      }
    },

    reap: () => reaper.sweep(),
    scratchDisks,
    stats: () => ({ daemonUp: daemon.up, ...pool.stats(), reaped: reaper.reaped }),
    imagesReady: async () => {
      if (imagesPromise) await imagesPromise;
    },
    runnerImages: () => ({ ...images }),
  };
}
