/**
 * Reads a container's usage from its own cgroup, found through its main PID's /proc/<pid>/cgroup,
 * so both cgroupfs and systemd drivers and both cgroup v1 and v2 work. Counters are cumulative;
 * the caller diffs two readings. A figure that cannot be read is left undefined, never 0.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export interface CgroupCounters {
  cpuNs?: number;
  memoryPeakBytes?: number;
  ioReadBytes?: number;
  ioWriteBytes?: number;
  oomKills?: number;
  /** Times a fork failed at the pids limit (pids.events "max"). */
  pidsMaxHits?: number;
}

export interface ContainerCgroup {
  version: 1 | 2;
  /** v1: controller -> directory; v2: the one directory under key ''. */
  dirs: Record<string, string>;
  /**
   * Block devices ("major:minor") whose I/O is counted; every device when left out. With a
   * scratch disk: its loop device, not the disk behind the image (the same bytes a second time).
   */
  devices?: readonly string[];
}

const readText = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

const num = (text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  const n = Number(text.trim());
  return Number.isFinite(n) ? n : undefined;
};

/** Locate the cgroup directories of a process (`procRoot`/`cgroupRoot` are for fake trees in tests). */
export function containerCgroup(
  pid: number,
  cgroupRoot = '/sys/fs/cgroup',
  procRoot = '/proc',
): ContainerCgroup | undefined {
  const text = readText(`${procRoot}/${pid}/cgroup`);
  if (!text) return undefined;
  const v2 = existsSync(`${cgroupRoot}/cgroup.controllers`);
  const dirs: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (controllers === undefined || path === undefined) continue;
    if (v2) {
      if (controllers === '') dirs[''] = `${cgroupRoot}${path}`;
      continue;
    }
    for (const controller of controllers.split(',')) {
      if (!['memory', 'cpuacct', 'blkio', 'pids'].includes(controller)) continue;
      // Co-mounted hierarchies are named "cpu,cpuacct" (usually with a "cpuacct" symlink beside).
      const joint = `${cgroupRoot}/${controllers}${path}`;
      dirs[controller] = existsSync(joint) ? joint : `${cgroupRoot}/${controller}${path}`;
    }
  }
  return Object.keys(dirs).length > 0 ? { version: v2 ? 2 : 1, dirs } : undefined;
}

/** v1 blkio.throttle.io_service_bytes ("8:0 Read 4096" lines), summed over `devices` (all when undefined). */
export function sumBlkio(
  text: string | undefined,
  op: 'Read' | 'Write',
  devices?: readonly string[],
): number | undefined {
  if (text === undefined) return undefined;
  let total = 0;
  for (const line of text.split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 3 || parts[1] !== op) continue;
    if (devices && !devices.includes(parts[0] as string)) continue;
    total += Number(parts[2]) || 0;
  }
  return total;
}

/** v2 io.stat ("259:0 rbytes=1 wbytes=2 ..." lines), summed over `devices` (all when undefined). */
export function sumIoStat(
  text: string | undefined,
  key: 'rbytes' | 'wbytes',
  devices?: readonly string[],
): number | undefined {
  if (text === undefined) return undefined;
  let total = 0;
  for (const line of text.split('\n')) {
    const dev = line.trim().split(/\s+/)[0] ?? '';
    if (!/^\d+:\d+$/.test(dev) || (devices && !devices.includes(dev))) continue;
    const value = new RegExp(`\\b${key}=(\\d+)`).exec(line)?.[1];
    if (value !== undefined) total += Number(value);
  }
  return total;
}

export function readCounters(cg: ContainerCgroup): CgroupCounters {
  if (cg.version === 1) {
    const mem = cg.dirs.memory;
    const cpu = cg.dirs.cpuacct;
    const blkio = cg.dirs.blkio;
    const throttle = blkio ? readText(`${blkio}/blkio.throttle.io_service_bytes`) : undefined;
    const pids = cg.dirs.pids;
    return {
      cpuNs: cpu ? num(readText(`${cpu}/cpuacct.usage`)) : undefined,
      memoryPeakBytes: mem ? num(readText(`${mem}/memory.max_usage_in_bytes`)) : undefined,
      ioReadBytes: sumBlkio(throttle, 'Read', cg.devices),
      ioWriteBytes: sumBlkio(throttle, 'Write', cg.devices),
      oomKills: mem ? num(/oom_kill (\d+)/.exec(readText(`${mem}/memory.oom_control`) ?? '')?.[1]) : undefined,
      pidsMaxHits: pids ? num(/^max (\d+)/m.exec(readText(`${pids}/pids.events`) ?? '')?.[1]) : undefined,
    };
  }
  const dir = cg.dirs[''] as string;
  const usec = /usage_usec (\d+)/.exec(readText(`${dir}/cpu.stat`) ?? '')?.[1];
  const io = readText(`${dir}/io.stat`);
  return {
    cpuNs: usec !== undefined ? Number(usec) * 1000 : undefined,
    memoryPeakBytes: num(readText(`${dir}/memory.peak`)),
    ioReadBytes: sumIoStat(io, 'rbytes', cg.devices),
    ioWriteBytes: sumIoStat(io, 'wbytes', cg.devices),
    oomKills: num(/oom_kill (\d+)/.exec(readText(`${dir}/memory.events`) ?? '')?.[1]),
    pidsMaxHits: num(/^max (\d+)/m.exec(readText(`${dir}/pids.events`) ?? '')?.[1]),
  };
}

/**
 * Reset the memory high-water mark before a warm invocation (v1 `memory.max_usage_in_bytes`,
 * v2 `memory.peak` on kernels that allow it). Returns whether the peak now covers only what follows.
 */
export function resetPeak(cg: ContainerCgroup): boolean {
  const file = cg.version === 1 ? `${cg.dirs.memory}/memory.max_usage_in_bytes` : `${cg.dirs['']}/memory.peak`;
  try {
    writeFileSync(file, '0');
    return true;
  } catch {
    return false;
  }
}
