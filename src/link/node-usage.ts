/** Node resources for the heartbeat when the caller gives none: what node:os and statfs can tell. */
import { statfsSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';

export interface NodeUsage {
  cpuUsage?: number;
  cpuCores?: number;
  memoryTotalBytes?: number;
  memoryUsedBytes?: number;
  diskTotalBytes?: number;
  diskFreeBytes?: number;
  load1?: number;
}

let previous: { idle: number; total: number } | undefined;

function cpuTimes(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const c of cpus()) {
    idle += c.times.idle;
    total += c.times.user + c.times.nice + c.times.sys + c.times.irq + c.times.idle;
  }
  return { idle, total };
}

export function osNodeUsage(diskPath: string): NodeUsage {
  const now = cpuTimes();
  let cpuUsage: number | undefined;
  if (previous && now.total > previous.total) cpuUsage = 1 - (now.idle - previous.idle) / (now.total - previous.total);
  previous = now;
  const usage: NodeUsage = {
    cpuCores: cpus().length,
    memoryTotalBytes: totalmem(),
    memoryUsedBytes: totalmem() - freemem(),
    load1: loadavg()[0] ?? 0,
  };
  if (cpuUsage !== undefined) usage.cpuUsage = Math.max(0, Math.min(1, cpuUsage));
  try {
    const fs = statfsSync(diskPath);
    usage.diskTotalBytes = fs.blocks * fs.bsize;
    usage.diskFreeBytes = fs.bavail * fs.bsize;
  } catch {
    // The data dir may not exist yet; disk figures are left out rather than reported as 0.
  }
  return usage;
}

/** src/resources' NodeTotals (resources.nodeTotals()) as heartbeat figures; unknown ones left out. */
export function nodeUsageFromTotals(
  t:
    | {
        cpuCores: number;
        cpuUsage?: number;
        memoryTotalBytes?: number;
        memoryAvailableBytes?: number;
        load1: number;
        diskTotalBytes?: number;
        diskFreeBytes?: number;
      }
    | undefined,
): NodeUsage {
  if (!t) return {};
  const usage: NodeUsage = { cpuCores: t.cpuCores, load1: t.load1 };
  if (t.cpuUsage !== undefined) usage.cpuUsage = t.cpuUsage;
  if (t.memoryTotalBytes !== undefined) usage.memoryTotalBytes = t.memoryTotalBytes;
  if (t.memoryTotalBytes !== undefined && t.memoryAvailableBytes !== undefined)
    usage.memoryUsedBytes = t.memoryTotalBytes - t.memoryAvailableBytes;
  if (t.diskTotalBytes !== undefined) usage.diskTotalBytes = t.diskTotalBytes;
  if (t.diskFreeBytes !== undefined) usage.diskFreeBytes = t.diskFreeBytes;
  return usage;
}
