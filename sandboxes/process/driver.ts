import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { z } from 'zod';
import { processSection } from '../../src/config/sections/process.ts';
import type {
  Artifact,
  DriverCapabilities,
  Invocation,
  RunOptions,
  SandboxDriver,
  TierHealth,
} from '../../src/core/driver.ts';
import { abortError } from '../../src/core/driver.ts';
import { StrataError } from '../../src/core/errors.ts';
import { type RunOutcome, type Usage, usageOf } from '../../src/core/execution.ts';
import type { NetworkGrant } from '../../src/net/allow-list.ts';
import { DestinationGuard, type Resolver } from '../../src/net/destination-guard.ts';
import type { Connect } from '../../src/net/egress-proxy.ts';
import type { CgroupGroup } from '../../src/resources/cgroup/group.ts';
import type { CgroupManager } from '../../src/resources/cgroup/manager.ts';
import { enforcedSandboxLimits, ioLimitSupport } from '../../src/resources/io-support.ts';
import {
  devString,
  type ScratchDisk,
  ScratchDisks,
  schedulerOf,
  wholeDiskOf,
} from '../../src/resources/scratch-disk.ts';
import { type Interpreter, sandboxArgv, scriptNameFor } from './command.ts';
import { EGRESS_PORT, SandboxEgress } from './egress.ts';
import { DIR_PREFIX, reapScriptDirs, sandboxReachableNode } from './files.ts';
import { probeEgressAsync, probeSandboxAsync } from './health.ts';
import { checkManifest, type TierFacts } from './permissions.ts';
import { MEASURES, runSandbox } from './sandbox-run.ts';

export type ProcessSettings = z.output<typeof processSection>;

export interface ProcessDriverOptions {
  cgroups: CgroupManager;
  /** The `process` config section (defaults filled in when left out). */
  settings?: z.input<typeof processSection>;
  /** Where prepared scripts are written (default the OS temp dir). */
  workDir?: string;
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

export interface PreparedScript {
  digest: string;
  interpreter: Interpreter;
  interpreterPath: string;
  scriptPath: string;
  grant: NetworkGrant;
  env: Record<string, string>;
}

const MiB = 1024 * 1024;
export class ProcessDriver implements SandboxDriver<PreparedScript> {
  readonly tier = 'process' as const;
  readonly settings: ProcessSettings;
  readonly #cgroups: CgroupManager;
  readonly #workDir: string;
  readonly #guard: DestinationGuard;
  readonly #connect: Connect | undefined;
  readonly #scratch: ScratchDisks;
  #dir: string | undefined;
  /** The node binary as the sandbox can reach it (see sandboxReachableNode). */
  #node: string | undefined;
  #health: TierHealth = { available: false, reason: 'process tier not started' };
  #facts: TierFacts = {
    egress: { ok: false, reason: 'process tier not started' },
    io: { bandwidth: { ok: false, reason: 'not started' }, weight: { ok: false, reason: 'not started' } },
  };
  #useDisk = false;
  readonly #prepared = new Map<string, PreparedScript>();
  readonly #running = new Map<string, CgroupGroup>();

  constructor(options: ProcessDriverOptions) {
    this.#cgroups = options.cgroups;
    this.settings = processSection.parse(options.settings ?? {});
    this.#workDir = options.workDir ?? tmpdir();
    this.#guard = new DestinationGuard({
      operatorAllow: options.egress?.allow ?? [],
      ...(options.egress?.protected ? { protected: options.egress.protected } : {}),
      ...(options.egress?.resolve ? { resolve: options.egress.resolve } : {}),
    });
    this.#connect = options.egress?.connect;
    this.#scratch = new ScratchDisks({
      dir: this.settings.scratchDir || join(this.#workDir, 'strata-scratch'),
      uid: this.settings.uid,
      gid: this.settings.gid,
    });
  }

  /** What placement may count on; the I/O limits depend on what start() found. */
  get capabilities(): DriverCapabilities {
    const io = this.#facts.io;
    return {
      runtimes: ['script'],
      measures: MEASURES,
      pause: true,
      enforces: ['timeoutMs', ...enforcedSandboxLimits(io), 'logBytes'],
      // The guard enforces host:port / CIDR lists; without a way into the sandbox's namespace, none.
      network: this.#facts.egress.ok ? 'allowlist' : 'none',
      ownProcesses: true,
    };
  }

  interpreterPath(interpreter: Interpreter): string {
    if (interpreter === 'node') return this.#node ?? (this.settings.node || process.execPath);
    return this.settings[interpreter];
  }

  /** The scratch disks (tests count and reap them). */
  get scratchDisks(): ScratchDisks {
    return this.#scratch;
  }

  async start(): Promise<void> {
    reapScriptDirs(this.#workDir);
    this.#dir ??= mkdtempSync(join(this.#workDir, `${DIR_PREFIX}${process.pid}-`));
    // The sandbox runs as an unprivileged uid: it must be able to enter the script directory.
    chmodSync(this.#dir, 0o755);
    const node = this.settings.node || process.execPath;
    if (existsSync(node)) this.#node = sandboxReachableNode(node, this.#dir);
    const s = this.settings;
    const cg = this.#cgroups.health();
    const probe = await probeSandboxAsync(s);
    if (process.getuid?.() === 0) await this.#scratch.reap();
    const scratch =
      s.scratch === 'tmpfs' ? { ok: false, reason: 'process.scratch is tmpfs' } : await this.#scratch.probe();
    this.#useDisk = scratch.ok;
    const backingDisk = this.#backingDisk();
    this.#facts = {
      egress: probe.ok ? await probeEgressAsync(s) : { ok: false, reason: probe.reason },
      io: ioLimitSupport({
        mode: cg.mode,
        controllers: cg.controllers,
        weightFile: cg.ioWeight,
        scratch,
        ...(backingDisk ? { backingDisk, backingScheduler: schedulerOf(backingDisk) } : {}),
        ioCost: existsSync(join(this.#cgroups.detection.v2Root ?? '/nonexistent', 'io.cost.qos')),
      }),
    };
    const interpreters = Object.fromEntries(
      (['bash', 'sh', 'python3', 'node'] as const).map((i) => [i, existsSync(this.interpreterPath(i))]),
    );
    const absent = s.requireControllers.filter((c) => !cg.controllers.includes(c));
    const reason = !probe.ok
      ? probe.reason
      : !cg.available
        ? (cg.reason ?? 'cgroups not writable')
        : absent.length > 0
          ? `cgroup controllers missing: ${absent.join(', ')} (their limits could not be enforced; set process.requireControllers to accept that)`
          : s.scratch === 'disk' && !scratch.ok
            ? `process.scratch is disk, but ${scratch.reason}`
            : undefined;
    const io = this.#facts.io;
    this.#health = {
      available: reason === undefined,
      ...(reason ? { reason } : {}),
      details: {
        bwrap: probe.version,
        cgroup: cg.version,
        cgroupMode: cg.mode,
        interpreters,
        missingLimits: [
          // The I/O limits are judged below with the scratch space in mind (one line each).
          ...cg.missing.filter((m) => !/^(ioWeight|disk bandwidth)\b/.test(m)),
          ...(io.bandwidth.ok ? [] : [io.bandwidth.reason]),
          ...(io.weight.ok ? [] : [io.weight.reason]),
        ],
        scratch: scratch.ok
          ? { kind: 'disk', dir: this.#scratch.dir, backingDisk }
          : { kind: 'tmpfs', reason: scratch.reason },
        egress: this.#facts.egress.ok
          ? { proxy: `127.0.0.1:${EGRESS_PORT}` }
          : { unavailable: this.#facts.egress.reason },
      },
    };
  }

  #backingDisk(): string | undefined {
    try {
      return wholeDiskOf(devString(statSync(this.#scratch.dir).dev));
    } catch {
      return undefined;
    }
  }

  health(): TierHealth {
    return this.#health;
  }

  async prepare(artifact: Artifact): Promise<PreparedScript> {
    const cached = this.#prepared.get(artifact.digest);
    if (cached) return cached;
    const m = artifact.manifest;
    if (m.runtime !== 'script' || !m.interpreter)
      throw new StrataError(
        'invalid_code',
        `the process tier runs runtime "script" with an interpreter, not "${m.runtime}"`,
      );
    const interpreterPath = this.interpreterPath(m.interpreter);
    if (!existsSync(interpreterPath))
      throw new StrataError('tier_unavailable', `interpreter ${m.interpreter} is not installed at ${interpreterPath}`);
    if (!this.#dir) throw new StrataError('tier_unavailable', 'the process tier is not started');
    const checked = checkManifest(m, this.#facts);
    if ('refusal' in checked)
      throw new StrataError(
        'permission_denied',
        `function "${m.name}" cannot run on the process tier: ${checked.refusal}`,
      );
    const scriptPath = join(
      this.#dir,
      `${artifact.digest.replace(/[^A-Za-z0-9]/g, '')}-${scriptNameFor(m.interpreter)}`,
    );
    writeFileSync(scriptPath, artifact.code, { mode: 0o644 });
    const prepared: PreparedScript = {
      digest: artifact.digest,
      interpreter: m.interpreter,
      interpreterPath,
      scriptPath,
      grant: checked.grant,
      env: m.permissions.env,
    };
    this.#prepared.set(artifact.digest, prepared);
    return prepared;
  }

  forget(digest: string): void {
    const p = this.#prepared.get(digest);
    if (p) rmSync(p.scriptPath, { force: true });
    this.#prepared.delete(digest);
  }

  /** Where a group's directories appear inside the sandbox (read-only, so code sees its limits). */
  #cgroupBinds(group: CgroupGroup): [string, string][] {
    const root = this.#cgroups.detection.root;
    return group.dirs.map((dir) => {
      const rel = dir.slice(root.length).split('/').filter(Boolean);
      const at = this.#cgroups.detection.mode === 'v1' ? `/sys/fs/cgroup/${rel[0]}` : '/sys/fs/cgroup';
      return [dir, at];
    });
  }

  async run(prepared: PreparedScript, invocation: Invocation, options: RunOptions): Promise<RunOutcome> {
    const { limits, signal } = options;
    const began = performance.now();
    if (signal.aborted) return aborted(signal, usageOf({ wallMs: 0 }));
    if (!this.#health.available)
      throw new StrataError('tier_unavailable', `the process tier is unavailable: ${this.#health.reason}`);
    const tmpBytes = limits.tmpMb * MiB;
    let scratch: ScratchDisk | undefined;
    let group: CgroupGroup | undefined;
    try {
      if (this.#useDisk) scratch = await this.#scratch.create(invocation.id, tmpBytes);
      group = this.#cgroups.createSandboxGroup(
        invocation.id,
        {
          memoryMb: limits.memoryMb,
          memorySoftMb: limits.memorySoftMb,
          cpu: limits.cpu,
          cpuWeight: limits.cpuWeight,
          cpuset: limits.cpuset,
          pids: limits.pids,
          ioReadBps: limits.ioReadBps,
          ioWriteBps: limits.ioWriteBps,
          ioWeight: limits.ioWeight,
        },
        scratch ? { devices: this.#scratchDevices(scratch), count: this.#scratchDevices(scratch) } : {},
      );
      this.#running.set(invocation.id, group);
      if (signal.aborted) return aborted(signal, usageOf({ wallMs: performance.now() - began }));
      return await this.#runInGroup(prepared, invocation, options, { group, scratch, tmpBytes, began });
    } finally {
      this.#running.delete(invocation.id);
      await group?.destroy();
      await scratch?.destroy();
    }
  }

  /**
   * Throttled and counted: the scratch disk's loop device and the node's disks, except the disk
   * behind the scratch image (the loop device's traffic shows there a second time).
   */
  #scratchDevices(scratch: ScratchDisk): string[] {
    return [scratch.device, ...this.#cgroups.ioDevices.filter((d) => d !== scratch.backingDisk)];
  }

  async #runInGroup(
    p: PreparedScript,
    invocation: Invocation,
    options: RunOptions,
    ctx: { group: CgroupGroup; scratch: ScratchDisk | undefined; tmpBytes: number; began: number },
  ): Promise<RunOutcome> {
    const s = this.settings;
    const egress =
      p.grant.kind === 'none'
        ? undefined
        : await SandboxEgress.open({
            grant: p.grant,
            guard: this.#guard,
            socketPath: join(
              this.#dir as string,
              'egress',
              `${invocation.id.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 80)}.sock`,
            ),
            maxConnections: s.egressMaxConnections,
            nsenter: s.nsenter,
            ...(this.#connect ? { connect: this.#connect } : {}),
            onRefusal: (r) => options.logs.write(`strata: egress refused ${r.host}:${r.port}: ${r.message}\n`),
          });
    try {
      return await this.#spawn(p, invocation, options, ctx, egress);
    } finally {
      await egress?.close();
    }
  }

  async #spawn(
    p: PreparedScript,
    invocation: Invocation,
    options: RunOptions,
    ctx: { group: CgroupGroup; scratch: ScratchDisk | undefined; tmpBytes: number; began: number },
    egress: SandboxEgress | undefined,
  ): Promise<RunOutcome> {
    const { group, scratch, tmpBytes } = ctx;
    const s = this.settings;
    const argv = sandboxArgv({
      bwrap: s.bwrap,
      shell: s.bash,
      uid: s.uid,
      gid: s.gid,
      interpreter: p.interpreter,
      interpreterPath: p.interpreterPath,
      scriptPath: p.scriptPath,
      readOnlyPaths: s.readOnlyPaths,
      scratch: scratch ? { kind: 'disk', path: scratch.mountPoint } : { kind: 'tmpfs', bytes: tmpBytes },
      ...(egress ? { egress: { port: EGRESS_PORT, socketPath: egress.socketPath } } : {}),
      nofile: s.nofile,
      maxFileSize: s.maxFileSize,
      env: p.env,
      cgroupBinds: this.#cgroupBinds(group),
    });
    return runSandbox({ argv, invocation, options, group, scratch, tmpBytes, began: ctx.began, egress, settings: s });
  }

  /** Invocations running now and their groups (the sampler reads these). */
  running(): ReadonlyMap<string, CgroupGroup> {
    return this.#running;
  }

  async pause(invocationId: string): Promise<void> {
    const g = this.#running.get(invocationId);
    if (!g) throw new StrataError('not_found', `no running process-tier invocation ${invocationId}`);
    await g.freeze();
  }

  async resume(invocationId: string): Promise<void> {
    const g = this.#running.get(invocationId);
    if (!g) throw new StrataError('not_found', `no running process-tier invocation ${invocationId}`);
    await g.thaw();
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.#running.values()].map((g) => g.kill()));
    await this.#scratch.dispose();
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = undefined;
    this.#prepared.clear();
    this.#health = { available: false, reason: 'process tier disposed' };
  }
}

function aborted(signal: AbortSignal, usage: Usage): RunOutcome {
  const error = abortError(signal);
  const timedOut = error.code === 'timeout';
  return {
    status: timedOut ? 'timeout' : 'killed',
    error,
    usage,
    death: { cause: timedOut ? 'time' : 'cancel', usage },
  };
}

export const createProcessDriver = (options: ProcessDriverOptions): ProcessDriver => new ProcessDriver(options);
