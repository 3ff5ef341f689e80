/**
 * The process tier: one bubblewrap'd process per invocation, in its own cgroup (R6). Scripts
 * (runtime "script": bash, sh, python3, node) get the input JSON on stdin; stdout is the result,
 * stderr goes to the log budget. See docs/process-tier.md.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  linkSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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
import { type ErrorInfo, type RunOutcome, usageOf } from '../../src/core/execution.ts';
import { SANDBOX_LIMITS } from '../../src/core/limits.ts';
import { parseNetDev } from '../../src/resources/cgroup/counters.ts';
import type { CgroupGroup } from '../../src/resources/cgroup/group.ts';
import type { CgroupManager } from '../../src/resources/cgroup/manager.ts';
import { type Interpreter, sandboxArgv, scriptNameFor } from './command.ts';
import { probeSandbox } from './health.ts';
import { processOutcome } from './outcome.ts';

export type ProcessSettings = z.output<typeof processSection>;

export interface ProcessDriverOptions {
  cgroups: CgroupManager;
  /** The `process` config section (defaults filled in when left out). */
  settings?: z.input<typeof processSection>;
  /** Where prepared scripts are written (default the OS temp dir). */
  workDir?: string;
}

export interface PreparedScript {
  digest: string;
  interpreter: Interpreter;
  interpreterPath: string;
  scriptPath: string;
  network: boolean;
  env: Record<string, string>;
}

const DEFAULT_PIDS = 256;
const DEFAULT_TMP_MB = 64;
const HOST_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';
const DIR_PREFIX = 'strata-proc-';

const CAPABILITIES: DriverCapabilities = {
  runtimes: ['script'],
  measures: ['wallMs', 'cpuMs', 'memoryPeakBytes', 'ioReadBytes', 'ioWriteBytes', 'netRxBytes', 'netTxBytes'],
  pause: true,
  // I/O weight needs a kernel scheduler with weights (BFQ, io.cost); health lists it when absent.
  enforces: ['timeoutMs', ...SANDBOX_LIMITS.filter((l) => l !== 'ioWeight'), 'logBytes'],
  // What it does today (shares the host's namespace when asked); the process branch narrows it.
  network: 'all',
  ownProcesses: true,
};

const ownNetNs = (() => {
  try {
    return readlinkSync('/proc/self/ns/net');
  } catch {
    return undefined;
  }
})();

/** rx/tx (loopback excluded) of the first process of `pids` that lives in another network namespace. */
function readSandboxNet(pids: number[]): { rx: number; tx: number } | undefined {
  if (!ownNetNs) return undefined;
  for (const pid of pids) {
    try {
      if (readlinkSync(`/proc/${pid}/ns/net`) === ownNetNs) continue; // the outer bwrap, on the host
      return parseNetDev(readFileSync(`/proc/${pid}/net/dev`, 'utf8'));
    } catch {
      // The process exited between the listing and the read.
    }
  }
  return undefined;
}

/** Whether a user with no rights of its own ("others") can reach and run `path`. */
function reachableByOthers(path: string): boolean {
  try {
    if ((statSync(path).mode & 0o005) !== 0o005) return false;
    for (let dir = dirname(path); ; dir = dirname(dir)) {
      if ((statSync(dir).mode & 0o001) === 0) return false;
      if (dir === dirname(dir)) return true;
    }
  } catch {
    return false;
  }
}

/**
 * The sandbox runs as an unprivileged uid, so the node binary must be reachable by it. Under a
 * private directory (a repo in a 0700 home or temp dir) it is hard-linked, or else copied, into
 * the tier's own script directory, which goes away with the tier.
 */
function sandboxReachableNode(nodePath: string, dir: string): string {
  if (reachableByOthers(nodePath)) return nodePath;
  const staged = join(dir, 'node');
  if (!existsSync(staged)) {
    try {
      linkSync(nodePath, staged);
    } catch {
      copyFileSync(nodePath, staged);
    }
  }
  // A hard link shares the mode of the original: make it readable and runnable by others.
  chmodSync(staged, 0o755);
  return staged;
}

/** Remove script dirs of workers that are gone (the pid in the name is dead). */
function reapScriptDirs(workDir: string): void {
  for (const name of readdirSync(workDir)) {
    const m = /^strata-proc-(\d+)-/.exec(name);
    if (!m) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      rmSync(join(workDir, name), { recursive: true, force: true });
    }
  }
}

export class ProcessDriver implements SandboxDriver<PreparedScript> {
  readonly tier = 'process' as const;
  readonly capabilities = CAPABILITIES;
  readonly settings: ProcessSettings;
  readonly #cgroups: CgroupManager;
  readonly #workDir: string;
  #dir: string | undefined;
  /** The node binary as the sandbox can reach it (see sandboxReachableNode). */
  #node: string | undefined;
  #health: TierHealth = { available: false, reason: 'process tier not started' };
  readonly #prepared = new Map<string, PreparedScript>();
  readonly #running = new Map<string, CgroupGroup>();

  constructor(options: ProcessDriverOptions) {
    this.#cgroups = options.cgroups;
    this.settings = processSection.parse(options.settings ?? {});
    this.#workDir = options.workDir ?? tmpdir();
  }

  interpreterPath(interpreter: Interpreter): string {
    if (interpreter === 'node') return this.#node ?? (this.settings.node || process.execPath);
    return this.settings[interpreter];
  }

  async start(): Promise<void> {
    reapScriptDirs(this.#workDir);
    this.#dir ??= mkdtempSync(join(this.#workDir, `${DIR_PREFIX}${process.pid}-`));
    // The sandbox runs as an unprivileged uid: it must be able to enter the script directory.
    chmodSync(this.#dir, 0o755);
    const node = this.settings.node || process.execPath;
    if (existsSync(node)) this.#node = sandboxReachableNode(node, this.#dir);
    const cg = this.#cgroups.health();
    const probe = probeSandbox(this.settings);
    const interpreters = Object.fromEntries(
      (['bash', 'sh', 'python3', 'node'] as const).map((i) => [i, existsSync(this.interpreterPath(i))]),
    );
    const absent = this.settings.requireControllers.filter((c) => !cg.controllers.includes(c));
    const reason = !probe.ok
      ? probe.reason
      : !cg.available
        ? (cg.reason ?? 'cgroups not writable')
        : absent.length > 0
          ? `cgroup controllers missing: ${absent.join(', ')} (their limits could not be enforced; set process.requireControllers to accept that)`
          : undefined;
    this.#health = {
      available: reason === undefined,
      ...(reason ? { reason } : {}),
      details: {
        bwrap: probe.version,
        cgroup: cg.version,
        cgroupMode: cg.mode,
        interpreters,
        missingLimits: cg.missing,
      },
    };
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
      network: m.permissions.network !== false,
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
    if (signal.aborted) return { status: 'killed', error: abortError(signal), usage: usageOf({ wallMs: 0 }) };
    if (!this.#health.available)
      throw new StrataError('tier_unavailable', `the process tier is unavailable: ${this.#health.reason}`);
    const group = this.#cgroups.createSandboxGroup(invocation.id, {
      memoryMb: limits.memoryMb,
      memorySoftMb: limits.memorySoftMb,
      cpu: limits.cpu,
      cpuWeight: limits.cpuWeight,
      cpuset: limits.cpuset,
      pids: limits.pids ?? DEFAULT_PIDS,
      ioReadBps: limits.ioReadBps,
      ioWriteBps: limits.ioWriteBps,
      ioWeight: limits.ioWeight,
    });
    this.#running.set(invocation.id, group);
    try {
      return await this.#runInGroup(prepared, invocation, options, group);
    } finally {
      this.#running.delete(invocation.id);
      await group.destroy();
    }
  }

  async #runInGroup(
    p: PreparedScript,
    invocation: Invocation,
    options: RunOptions,
    group: CgroupGroup,
  ): Promise<RunOutcome> {
    const { limits, signal, logs } = options;
    const s = this.settings;
    const argv = sandboxArgv({
      bwrap: s.bwrap,
      uid: s.uid,
      gid: s.gid,
      interpreter: p.interpreter,
      interpreterPath: p.interpreterPath,
      scriptPath: p.scriptPath,
      readOnlyPaths: s.readOnlyPaths,
      network: p.network,
      tmpBytes: (limits.tmpMb ?? DEFAULT_TMP_MB) * 1024 * 1024,
      nofile: s.nofile,
      maxFileSize: s.maxFileSize,
      env: p.env,
      cgroupBinds: this.#cgroupBinds(group),
    });
    const startedAt = performance.now();
    const child: ChildProcess = spawn(argv[0] as string, argv.slice(1), {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: HOST_PATH, STRATA_CGROUP_PROCS: group.procsFiles.join(' ') },
    });
    options.onStart?.();

    let aborted: ErrorInfo | undefined;
    let stoppedFor: (ErrorInfo & { status: 'killed' | 'timeout' }) | undefined;
    const stop = (why: ErrorInfo & { status: 'killed' | 'timeout' }) => {
      stoppedFor ??= why;
      void group.kill();
    };
    const onAbort = () => {
      aborted ??= abortError(signal);
      void group.kill();
    };
    signal.addEventListener('abort', onAbort, { once: true });

    const chunks: Buffer[] = [];
    let stdoutBytes = 0;
    child.stdout?.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > limits.resultBytes) {
        stop({
          status: 'killed',
          code: 'result_too_large',
          message: `the script wrote more than ${limits.resultBytes} bytes to stdout (its result); write logs to stderr`,
        });
        return;
      }
      chunks.push(chunk);
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => logs.write(text));
    // A script that never reads stdin closes the pipe; that is not an error.
    child.stdin?.on('error', () => {});
    child.stdin?.end(invocation.inputJson);

    const checkPids = () => {
      if (s.killOnPidsLimit && group.pidsLimitHit())
        stop({
          status: 'killed',
          code: 'limit_exceeded',
          message: `the script reached its limit of ${limits.pids ?? DEFAULT_PIDS} processes and was stopped; raise limits.pids`,
        });
    };
    // Network bytes of the sandbox's own network namespace (only with --unshare-net: a shared
    // namespace's counters are the host's, not the script's). Read while it runs.
    let net: { rx: number; tx: number } | undefined;
    const readNet = () => {
      if (p.network) return;
      net = readSandboxNet(group.pids()) ?? net;
    };
    const watch = setInterval(() => {
      checkPids();
      readNet();
      // The executor owns the deadline; this is a backstop should its signal never come.
      if (Date.now() > options.deadline + 2000)
        stop({
          status: 'timeout',
          code: 'timeout',
          message: `the script ran past its ${limits.timeoutMs} ms deadline`,
        });
    }, s.watchInterval);

    const exit = await new Promise<{ code: number | null; signal: string | null; error?: Error }>((resolve) => {
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
      child.once('exit', (code, sig) => resolve({ code, signal: sig }));
    });
    const wallMs = performance.now() - startedAt;
    clearInterval(watch);
    // A fork refused between two checks still counts, whatever the script did next.
    checkPids();
    signal.removeEventListener('abort', onAbort);
    // Whatever is left (a daemonized grandchild) goes with the group before we report.
    await group.kill();
    await new Promise<void>((resolve) => {
      if (child.stdout?.readableEnded !== false && child.stderr?.readableEnded !== false) return resolve();
      const t = setTimeout(resolve, 1000);
      child.once('close', () => {
        clearTimeout(t);
        resolve();
      });
    });
    if (exit.error) throw new StrataError('internal', `cannot start the sandbox: ${exit.error.message}`);
    const u = group.usage();
    return processOutcome({
      exitCode: exit.code,
      signal: exit.signal,
      aborted,
      stoppedFor,
      oomKilled: group.oomKilled(),
      stdout: Buffer.concat(chunks).toString('utf8'),
      usage: usageOf({
        wallMs: Math.round(wallMs * 100) / 100,
        cpuMs: u.measured.includes('cpuMs') ? u.cpuMs : undefined,
        memoryPeakBytes: u.measured.includes('memoryPeakBytes') ? u.memoryPeakBytes : undefined,
        ioReadBytes: u.measured.includes('ioReadBytes') ? u.ioReadBytes : undefined,
        ioWriteBytes: u.measured.includes('ioWriteBytes') ? u.ioWriteBytes : undefined,
        netRxBytes: net?.rx,
        netTxBytes: net?.tx,
      }),
    });
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
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = undefined;
    this.#prepared.clear();
    this.#health = { available: false, reason: 'process tier disposed' };
  }
}

export const createProcessDriver = (options: ProcessDriverOptions): ProcessDriver => new ProcessDriver(options);
