/**
 * Everything of src/resources wired together for the worker: cgroups, sampler + history,
 * baselines, the capacity model, dynamic CPU and reclamation planning. The executor calls
 * `admission()`/`reclaim()`; drivers take `cgroups`; the gateway mounts `usageRoutes({history})`.
 */
import { availableParallelism, totalmem } from 'node:os';
import type { z } from 'zod';
import type { resourcesSection } from '../config/sections/resources.ts';
import type { Database } from '../store/database.ts';
import { BaselineStore } from './baseline-store.ts';
import {
  type AdmissionDecision,
  type Allocatable,
  allocatable,
  decideAdmission,
  type ResourceRequest,
} from './capacity.ts';
import { type CgroupHealth, CgroupManager } from './cgroup/manager.ts';
import { CpuAdjuster } from './cpu-adjust.ts';
import { UsageHistory } from './history.ts';
import { createNodeStats, type NodeStats, type NodeTotals } from './node-stats.ts';
import { chooseVictims, memoryShortfall, type RunningUse } from './reclaim.ts';
import { Sampler } from './sampler.ts';

export type ResourcesSettings = z.output<typeof resourcesSection>;

export interface ResourcesOptions {
  settings: ResourcesSettings;
  db: Database;
  dataDir?: string;
  /** The node's cap on a function's CPU (config limits.max.cpu): dynamic CPU never goes past it. */
  maxCpuPerFunction?: number;
  /** Called after each sample with the node totals (heartbeat, metrics). */
  onNode?: (totals: NodeTotals) => void;
}

export class Resources {
  readonly settings: ResourcesSettings;
  readonly cgroups: CgroupManager;
  readonly history: UsageHistory;
  readonly baselines: BaselineStore;
  readonly node: NodeStats;
  readonly sampler: Sampler;
  readonly #cpu: CpuAdjuster;
  readonly #maxCpu: number;
  /** The node's size does not change while the worker runs: computed once. */
  #allocatable: Allocatable | undefined;

  constructor(o: ResourcesOptions) {
    const s = o.settings;
    this.settings = s;
    this.cgroups = new CgroupManager({ root: s.cgroupRoot, parent: s.cgroupParent, ioDevices: s.ioDevices });
    this.history = new UsageHistory(o.db, {
      retentionMs: s.sampleRetention,
      samplesPerExecution: s.samplesPerExecution,
    });
    this.baselines = new BaselineStore(o.db, {
      alpha: s.anomalyAlpha,
      threshold: s.anomalyThreshold,
      minSamples: s.anomalyMinSamples,
    });
    this.node = createNodeStats({ dataDir: o.dataDir });
    this.#maxCpu = o.maxCpuPerFunction ?? Number.POSITIVE_INFINITY;
    this.#cpu = new CpuAdjuster({
      idleBelow: s.idleBelow,
      busyAbove: s.busyAbove,
      allocatableCpu: this.allocatable().cpu,
    });
    this.sampler = new Sampler({
      intervalMs: s.sampleInterval,
      groups: () => this.cgroups.sandboxGroups(),
      history: this.history,
      node: this.node,
      onNode: (t) => {
        this.baselines.flush();
        if (s.dynamicCpu && t.cpuUsage !== undefined) this.adjustCpu(t.cpuUsage);
        o.onNode?.(t);
      },
    });
  }

  /** Make the parent cgroup, reap leftovers, start sampling. Returns the groups reaped. */
  async start(): Promise<number> {
    const reaped = await this.cgroups.start();
    this.sampler.start();
    return reaped;
  }

  async stop(): Promise<void> {
    this.sampler.stop();
    this.baselines.flush();
    await this.cgroups.dispose();
  }

  /** cgroup facts for /healthz and metrics. */
  health(): CgroupHealth {
    return this.cgroups.health();
  }

  allocatable(): Allocatable {
    this.#allocatable ??= allocatable(
      { cpuCores: availableParallelism(), memoryBytes: totalmem() },
      {
        reserveCpu: this.settings.reserveCpu,
        reserveMemory: this.settings.reserveMemory,
        overcommitCpu: this.settings.overcommitCpu,
        overcommitMemory: this.settings.overcommitMemory,
      },
    );
    return this.#allocatable;
  }

  /** Whether a request fits beside what runs now (see capacity.ts for the policy). */
  admission(request: ResourceRequest, running: readonly ResourceRequest[]): AdmissionDecision {
    return decideAdmission(request, running, this.allocatable());
  }

  /** Invocations to stop (lowest priority first) when available memory is under the threshold. */
  reclaim(running: readonly RunningUse[]): { victims: string[]; needBytes: number } {
    const available = this.node.latest()?.memoryAvailableBytes;
    if (available === undefined) return { victims: [], needBytes: 0 };
    const needBytes = memoryShortfall(available, this.settings.reclaimBelow);
    return { victims: chooseVictims(running, needBytes), needBytes };
  }

  /** One dynamic-CPU step over the running sandbox groups that asked for a CPU limit. */
  adjustCpu(nodeCpuUsage: number): { id: string; cpu: number }[] {
    const maxCpu = Math.min(this.#maxCpu, this.allocatable().cpu);
    const groups = this.cgroups
      .sandboxGroups()
      .filter((g) => g.limits.cpu !== undefined)
      .map((g) => ({
        id: g.invocationId,
        group: g.group,
        baseCpu: g.limits.cpu as number,
        maxCpu: Math.max(g.limits.cpu as number, maxCpu),
      }));
    return this.#cpu.tick(groups, nodeCpuUsage);
  }

  nodeTotals(): NodeTotals | undefined {
    return this.node.latest();
  }
}

export const createResources = (options: ResourcesOptions): Resources => new Resources(options);
