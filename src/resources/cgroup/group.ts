/** One cgroup Strata made (a sandbox's or a host process'), whatever the hierarchy version. */
import type { UsageField } from '../../core/execution.ts';

export interface GroupUsage {
  cpuMs?: number;
  /** Memory in use now. */
  memoryBytes?: number;
  memoryPeakBytes?: number;
  ioReadBytes?: number;
  ioWriteBytes?: number;
  /** Processes/threads in the group now. */
  pids?: number;
  /** The Usage fields among the above that were really read (never cpuMs: 0 for "unknown"). */
  measured: UsageField[];
}

export interface CgroupGroup {
  readonly name: string;
  /** Directories of the group (one per v1 controller, one on v2). */
  readonly dirs: readonly string[];
  /** The cgroup.procs files a process writes its own pid to, to join the group (wrappers). */
  readonly procsFiles: readonly string[];
  addPid(pid: number): void;
  /** PIDs in the group now. */
  pids(): number[];
  usage(): GroupUsage;
  /** Whether the kernel OOM-killed a process of this group (its own counters, not exit 137). */
  oomKilled(): boolean;
  /** Whether a fork was refused because the pids limit was reached. */
  pidsLimitHit(): boolean;
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  /** Change the CPU quota of a running group (dynamic adjustment); undefined removes it. */
  setCpu(cores: number | undefined): void;
  /** Freeze, SIGKILL every process, verify the group is empty. Resolves true when it is. */
  kill(): Promise<boolean>;
  /** Kill what is left and remove the group. Idempotent. */
  destroy(): Promise<void>;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wait until `done()` or the time is up; returns the last `done()`. */
export async function waitFor(done: () => boolean, timeoutMs: number, stepMs = 5): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  let step = 1;
  while (!done()) {
    if (Date.now() >= until) return done();
    await sleep(step);
    step = Math.min(stepMs * 4, step * 2);
  }
  return true;
}

export interface KillOps {
  pids(): number[];
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  /** v2 cgroup.kill where the kernel has it: kills everything atomically. */
  killAll?(): boolean;
}

/**
 * Kill every process of a group and verify it is empty. Freezing first stops a fork bomb from
 * outrunning the kill loop; SIGKILL is delivered to frozen tasks when they thaw.
 */
export async function killGroup(ops: KillOps, timeoutMs = 5000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const pids = ops.pids();
    if (pids.length === 0) return true;
    if (!ops.killAll?.()) {
      await ops.freeze();
      for (const pid of ops.pids()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      await ops.thaw();
    }
    if (await waitFor(() => ops.pids().length === 0, Math.min(500, Math.max(0, until - Date.now())))) return true;
  }
  return ops.pids().length === 0;
}
