/**
 * The node capacity model and priority-ordered admission (pure). Allocatable = physical minus
 * the worker's reserve; requests may exceed allocatable by an overcommit ratio per resource.
 */

export interface NodeCapacity {
  cpuCores: number;
  memoryBytes: number;
}

export interface CapacitySettings {
  reserveCpu: number;
  reserveMemory: number;
  overcommitCpu: number;
  overcommitMemory: number;
}

export interface ResourceRequest {
  id: string;
  priority: number;
  /** Requested CPU cores (its `cpu` limit; a function without one counts as one core). */
  cpu: number;
  /** Requested hard memory in bytes. */
  memoryBytes: number;
  /** Order of arrival (FIFO within a priority). */
  seq?: number;
}

export interface Allocatable {
  cpu: number;
  memoryBytes: number;
  /** What may be handed out, overcommit included. */
  cpuLimit: number;
  memoryLimit: number;
}

export function allocatable(node: NodeCapacity, s: CapacitySettings): Allocatable {
  const cpu = Math.max(0, node.cpuCores - s.reserveCpu);
  const memoryBytes = Math.max(0, node.memoryBytes - s.reserveMemory);
  return { cpu, memoryBytes, cpuLimit: cpu * s.overcommitCpu, memoryLimit: memoryBytes * s.overcommitMemory };
}

export const requestOf = (r: {
  id: string;
  priority: number;
  cpu?: number;
  memoryMb: number;
  seq?: number;
}): ResourceRequest => ({
  id: r.id,
  priority: r.priority,
  cpu: r.cpu ?? 1,
  memoryBytes: r.memoryMb * 1024 * 1024,
  seq: r.seq,
});

export interface Committed {
  cpu: number;
  memoryBytes: number;
}

export const committed = (running: readonly ResourceRequest[]): Committed =>
  running.reduce((a, r) => ({ cpu: a.cpu + r.cpu, memoryBytes: a.memoryBytes + r.memoryBytes }), {
    cpu: 0,
    memoryBytes: 0,
  });

export type AdmissionDecision =
  | { admit: true }
  | {
      admit: false;
      resource: 'cpu' | 'memory' /** The request can never fit on this node. */;
      never: boolean;
      reason: string;
    };

/** Whether one request fits beside what runs now. */
export function decideAdmission(
  req: ResourceRequest,
  running: readonly ResourceRequest[],
  a: Allocatable,
): AdmissionDecision {
  const used = committed(running);
  if (req.memoryBytes > a.memoryLimit)
    return {
      admit: false,
      resource: 'memory',
      never: true,
      reason: `asks for more memory than the node can allocate (${a.memoryLimit} bytes)`,
    };
  if (req.cpu > a.cpuLimit)
    return {
      admit: false,
      resource: 'cpu',
      never: true,
      reason: `asks for more CPU than the node can allocate (${a.cpuLimit} cores)`,
    };
  if (used.memoryBytes + req.memoryBytes > a.memoryLimit)
    return { admit: false, resource: 'memory', never: false, reason: 'the node memory is fully committed' };
  if (used.cpu + req.cpu > a.cpuLimit)
    return { admit: false, resource: 'cpu', never: false, reason: 'the node CPU is fully committed' };
  return { admit: true };
}

/** Highest priority first, then first come. */
export const byPriority = (x: ResourceRequest, y: ResourceRequest): number =>
  y.priority - x.priority || (x.seq ?? 0) - (y.seq ?? 0);

/**
 * Which queued requests start now. Highest priority first; a request that does not fit yet
 * blocks everything of lower priority (so big high-priority work is not starved by a stream of
 * small low-priority work); one that can never fit is reported to be rejected.
 */
export function planAdmission(
  queue: readonly ResourceRequest[],
  running: readonly ResourceRequest[],
  a: Allocatable,
): { start: string[]; reject: { id: string; reason: string }[] } {
  const start: string[] = [];
  const reject: { id: string; reason: string }[] = [];
  const now = [...running];
  let blockedAt: number | undefined;
  for (const req of [...queue].sort(byPriority)) {
    const d = decideAdmission(req, now, a);
    if (d.admit) {
      if (blockedAt !== undefined && req.priority < blockedAt) continue;
      start.push(req.id);
      now.push(req);
    } else if (d.never) reject.push({ id: req.id, reason: d.reason });
    else blockedAt ??= req.priority;
  }
  return { start, reject };
}
