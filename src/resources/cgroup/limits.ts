/**
 * Translates resolved limits into control-file writes, for v1 and v2. Pure: the group code
 * applies the writes in order, so the translation is unit-tested without a cgroupfs.
 */
import type { Limits } from '../../core/limits.ts';

const MiB = 1024 * 1024;
export const CPU_PERIOD_US = 100_000;

export interface ControlWrite {
  /** v1 controller directory (cpu, memory, ...); '' on v2 (one directory per group). */
  controller: string;
  file: string;
  value: string;
  /** Skip silently when the file does not exist (kernel without the feature). */
  optional?: boolean;
}

/** The limits a cgroup enforces (the subset of ResolvedLimits that map to control files). */
export type GroupLimits = Pick<
  Limits,
  'memoryMb' | 'memorySoftMb' | 'cpu' | 'cpuWeight' | 'cpuset' | 'pids' | 'ioReadBps' | 'ioWriteBps' | 'ioWeight'
>;

export interface LimitContext {
  /** Block devices ("major:minor") the bandwidth limits apply to. */
  devices: readonly string[];
  /** v1: the parent's cpuset.cpus / cpuset.mems, which a new v1 cpuset group must be given. */
  parentCpus?: string;
  parentMems?: string;
}

/** CPU quota in microseconds per period for a fractional core count (at least 1 ms). */
export const cpuQuotaUs = (cores: number, periodUs = CPU_PERIOD_US): number =>
  Math.max(1000, Math.round(cores * periodUs));

/** v2 cpu.weight (1..10000, default 100) -> v1 cpu.shares (2..262144, default 1024). */
export const weightToShares = (weight: number): number =>
  Math.min(262_144, Math.max(2, Math.round((weight * 1024) / 100)));

/** 1..10000 -> v1 blkio weight 10..1000 (default 100 maps to 100). */
export const ioWeightV1 = (weight: number): number => Math.min(1000, Math.max(10, Math.round(weight)));

export function v1Writes(limits: GroupLimits, ctx: LimitContext): ControlWrite[] {
  const w: ControlWrite[] = [];
  // cpuset first: a v1 cpuset group takes no tasks until cpus and mems are set.
  const cpus = limits.cpuset ?? ctx.parentCpus;
  if (cpus !== undefined) w.push({ controller: 'cpuset', file: 'cpuset.cpus', value: cpus });
  if (ctx.parentMems !== undefined) w.push({ controller: 'cpuset', file: 'cpuset.mems', value: ctx.parentMems });
  if (limits.cpu !== undefined) {
    w.push({ controller: 'cpu', file: 'cpu.cfs_period_us', value: String(CPU_PERIOD_US) });
    w.push({ controller: 'cpu', file: 'cpu.cfs_quota_us', value: String(cpuQuotaUs(limits.cpu)) });
  }
  if (limits.cpuWeight !== undefined)
    w.push({ controller: 'cpu', file: 'cpu.shares', value: String(weightToShares(limits.cpuWeight)) });
  if (limits.memoryMb !== undefined) {
    const bytes = String(limits.memoryMb * MiB);
    w.push({ controller: 'memory', file: 'memory.limit_in_bytes', value: bytes });
    // memory+swap equal to memory: no extra swap on top of the hard limit.
    w.push({ controller: 'memory', file: 'memory.memsw.limit_in_bytes', value: bytes, optional: true });
    w.push({ controller: 'memory', file: 'memory.swappiness', value: '0', optional: true });
  }
  if (limits.memorySoftMb !== undefined)
    w.push({ controller: 'memory', file: 'memory.soft_limit_in_bytes', value: String(limits.memorySoftMb * MiB) });
  if (limits.pids !== undefined) w.push({ controller: 'pids', file: 'pids.max', value: String(limits.pids) });
  for (const dev of ctx.devices) {
    if (limits.ioReadBps !== undefined)
      w.push({ controller: 'blkio', file: 'blkio.throttle.read_bps_device', value: `${dev} ${limits.ioReadBps}` });
    if (limits.ioWriteBps !== undefined)
      w.push({ controller: 'blkio', file: 'blkio.throttle.write_bps_device', value: `${dev} ${limits.ioWriteBps}` });
  }
  if (limits.ioWeight !== undefined) {
    const v = String(ioWeightV1(limits.ioWeight));
    w.push({ controller: 'blkio', file: 'blkio.weight', value: v, optional: true });
    w.push({ controller: 'blkio', file: 'blkio.bfq.weight', value: v, optional: true });
  }
  return w;
}

export function v2Writes(limits: GroupLimits, ctx: LimitContext): ControlWrite[] {
  const w: ControlWrite[] = [];
  if (limits.cpuset !== undefined) w.push({ controller: '', file: 'cpuset.cpus', value: limits.cpuset });
  if (limits.cpu !== undefined)
    w.push({ controller: '', file: 'cpu.max', value: `${cpuQuotaUs(limits.cpu)} ${CPU_PERIOD_US}` });
  if (limits.cpuWeight !== undefined) w.push({ controller: '', file: 'cpu.weight', value: String(limits.cpuWeight) });
  if (limits.memoryMb !== undefined) {
    w.push({ controller: '', file: 'memory.max', value: String(limits.memoryMb * MiB) });
    w.push({ controller: '', file: 'memory.swap.max', value: '0', optional: true });
    // An OOM kills the whole group, not one process of it.
    w.push({ controller: '', file: 'memory.oom.group', value: '1', optional: true });
  }
  if (limits.memorySoftMb !== undefined)
    w.push({ controller: '', file: 'memory.high', value: String(limits.memorySoftMb * MiB) });
  if (limits.pids !== undefined) w.push({ controller: '', file: 'pids.max', value: String(limits.pids) });
  if (limits.ioReadBps !== undefined || limits.ioWriteBps !== undefined) {
    for (const dev of ctx.devices) {
      const parts = [dev];
      if (limits.ioReadBps !== undefined) parts.push(`rbps=${limits.ioReadBps}`);
      if (limits.ioWriteBps !== undefined) parts.push(`wbps=${limits.ioWriteBps}`);
      w.push({ controller: '', file: 'io.max', value: parts.join(' ') });
    }
  }
  if (limits.ioWeight !== undefined)
    w.push({ controller: '', file: 'io.weight', value: `default ${limits.ioWeight}`, optional: true });
  return w;
}
