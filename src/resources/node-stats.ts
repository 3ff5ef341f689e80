/**
 * Node totals for the heartbeat and the capacity model: CPU use (from /proc/stat deltas), memory
 * (/proc/meminfo), load averages, and the data directory's disk.
 */
import { readFileSync, statfsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';

export interface NodeTotals {
  at: number;
  cpuCores: number;
  /** Share of all cores busy since the previous read, 0..1 (undefined on the first read). */
  cpuUsage?: number;
  memoryTotalBytes?: number;
  memoryAvailableBytes?: number;
  load1: number;
  load5: number;
  load15: number;
  diskTotalBytes?: number;
  diskFreeBytes?: number;
}

export interface CpuTimes {
  total: number;
  idle: number;
}

/** The aggregate "cpu" line of /proc/stat: total and idle (idle + iowait) jiffies. */
export function parseProcStat(text: string): CpuTimes | undefined {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return undefined;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  const total = v.slice(0, 8).reduce((a, b) => a + (b || 0), 0);
  return { total, idle: (v[3] ?? 0) + (v[4] ?? 0) };
}

export const cpuUsageBetween = (a: CpuTimes, b: CpuTimes): number | undefined => {
  const dt = b.total - a.total;
  if (dt <= 0) return undefined;
  return Math.min(1, Math.max(0, 1 - (b.idle - a.idle) / dt));
};

/** MemTotal and MemAvailable in bytes. */
export function parseMeminfo(text: string): { totalBytes?: number; availableBytes?: number } {
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  return { totalBytes: kb('MemTotal'), availableBytes: kb('MemAvailable') };
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

export interface NodeStats {
  /** Read the totals now (CPU use is relative to the previous call). */
  read(): NodeTotals;
  /** The last totals read, for the heartbeat. */
  latest(): NodeTotals | undefined;
}

export function createNodeStats(options: { dataDir?: string; procRoot?: string } = {}): NodeStats {
  const proc = options.procRoot ?? '/proc';
  let prev: CpuTimes | undefined;
  let last: NodeTotals | undefined;
  return {
    read() {
      const cpu = parseProcStat(read(`${proc}/stat`) ?? '');
      const usage = prev && cpu ? cpuUsageBetween(prev, cpu) : undefined;
      if (cpu) prev = cpu;
      const mem = parseMeminfo(read(`${proc}/meminfo`) ?? '');
      const [load1, load5, load15] = loadavg() as [number, number, number];
      const totals: NodeTotals = {
        at: Date.now(),
        cpuCores: availableParallelism(),
        cpuUsage: usage,
        memoryTotalBytes: mem.totalBytes,
        memoryAvailableBytes: mem.availableBytes,
        load1,
        load5,
        load15,
      };
      if (options.dataDir) {
        try {
          const fs = statfsSync(options.dataDir);
          totals.diskTotalBytes = Number(fs.blocks) * Number(fs.bsize);
          totals.diskFreeBytes = Number(fs.bavail) * Number(fs.bsize);
        } catch {
          // The data dir may not exist yet; the disk figures are left out.
        }
      }
      last = totals;
      return totals;
    },
    latest: () => last,
  };
}
