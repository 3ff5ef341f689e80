/**
 * Which cgroup hierarchy this host has: v2 (unified), v1 (legacy controllers) or hybrid (v1
 * controllers beside a v2 tree that holds no controllers). Read from the directory layout only,
 * so a fake cgroupfs laid out like a real one is detected the same way.
 */
import { join } from 'node:path';
import { exists, listDirs, readText } from './fs.ts';

export type CgroupVersion = 'v1' | 'v2' | 'hybrid' | 'none';

export const V1_CONTROLLERS = ['cpu', 'cpuacct', 'cpuset', 'memory', 'blkio', 'pids', 'freezer'] as const;
export type V1Controller = (typeof V1_CONTROLLERS)[number];

export interface CgroupDetection {
  version: CgroupVersion;
  root: string;
  /** The hierarchy Strata uses for limits: 'v1' on v1 and hybrid hosts, 'v2' on unified hosts. */
  mode: 'v1' | 'v2' | 'none';
  /** v1: controller -> mount directory (e.g. memory -> /sys/fs/cgroup/memory). */
  v1Mounts: Partial<Record<V1Controller, string>>;
  /** v2: the unified root (the cgroup root itself, or <root>/unified on hybrid hosts). */
  v2Root?: string;
  /** Controllers Strata can use, by their common names (cpu, cpuset, memory, io, pids, freezer). */
  controllers: string[];
  /** Whether a proportional I/O weight file exists (v1 blkio.weight / blkio.bfq.weight, v2 io.weight). */
  ioWeight: boolean;
  /** Whether the kernel reports peak memory (v1 always; v2 memory.peak since 5.19). */
  memoryPeak: boolean;
}

/** Detect the hierarchy under `root` (default /sys/fs/cgroup). */
export function detectCgroups(root: string): CgroupDetection {
  const v1Mounts: Partial<Record<V1Controller, string>> = {};
  for (const dir of listDirs(root)) {
    // A v1 mount may be combined ("cpu,cpuacct"); each name in it is a controller.
    for (const name of dir.split(',')) {
      if ((V1_CONTROLLERS as readonly string[]).includes(name) && exists(join(root, dir, 'cgroup.procs'))) {
        const controller = name as V1Controller;
        if (!v1Mounts[controller] || !dir.includes(',')) v1Mounts[controller] = join(root, dir);
      }
    }
  }
  const unifiedAtRoot = exists(join(root, 'cgroup.controllers'));
  const unifiedBeside = exists(join(root, 'unified', 'cgroup.controllers'));
  const hasV1 = Object.keys(v1Mounts).length > 0;

  if (unifiedAtRoot && !hasV1) {
    const available = (readText(join(root, 'cgroup.controllers')) ?? '').trim().split(/\s+/).filter(Boolean);
    // The freezer is built into every v2 group (cgroup.freeze), not a controller.
    const controllers = [...available.filter((c) => ['cpu', 'cpuset', 'memory', 'io', 'pids'].includes(c)), 'freezer'];
    return {
      version: 'v2',
      root,
      mode: 'v2',
      v1Mounts: {},
      v2Root: root,
      controllers,
      // io.weight appears in child groups only; the root has io.cost / io.bfq.weight when a weight-capable scheduler runs.
      ioWeight: available.includes('io') && (exists(join(root, 'io.cost.qos')) || exists(join(root, 'io.bfq.weight'))),
      memoryPeak: true,
    };
  }
  if (hasV1) {
    const blkio = v1Mounts.blkio;
    const controllers: string[] = [];
    if (v1Mounts.cpu) controllers.push('cpu');
    if (v1Mounts.cpuacct) controllers.push('cpuacct');
    if (v1Mounts.cpuset) controllers.push('cpuset');
    if (v1Mounts.memory) controllers.push('memory');
    if (blkio) controllers.push('io');
    if (v1Mounts.pids) controllers.push('pids');
    if (v1Mounts.freezer) controllers.push('freezer');
    return {
      version: unifiedBeside ? 'hybrid' : 'v1',
      root,
      mode: 'v1',
      v1Mounts,
      v2Root: unifiedBeside ? join(root, 'unified') : undefined,
      controllers,
      ioWeight: !!blkio && (exists(join(blkio, 'blkio.weight')) || exists(join(blkio, 'blkio.bfq.weight'))),
      memoryPeak: !!v1Mounts.memory,
    };
  }
  return { version: 'none', root, mode: 'none', v1Mounts: {}, controllers: [], ioWeight: false, memoryPeak: false };
}
