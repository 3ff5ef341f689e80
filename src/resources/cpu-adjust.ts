/**
 * Dynamic CPU: raise running groups' quotas while the node is idle, bring them back down under
 * contention, always within [requested, max]. A pure policy plus a small applier.
 */
import type { CgroupGroup } from './cgroup/group.ts';

export interface CpuGroupState {
  id: string;
  /** What the function asked for (never gone below). */
  baseCpu: number;
  /** The most it may get (node policy / the function's bounds). */
  maxCpu: number;
  /** Quota in force now. */
  currentCpu: number;
}

export interface CpuAdjustSettings {
  idleBelow: number;
  busyAbove: number;
  /** Allocatable cores of the node. */
  allocatableCpu: number;
  /** Growth per step while idle (1.5 = +50%). */
  step?: number;
}

/** New quotas for the groups that change; node CPU use is 0..1. */
export function adjustCpu(
  groups: readonly CpuGroupState[],
  nodeCpuUsage: number,
  s: CpuAdjustSettings,
): { id: string; cpu: number }[] {
  const changes: { id: string; cpu: number }[] = [];
  const round = (x: number) => Math.round(x * 100) / 100;
  if (nodeCpuUsage > s.busyAbove) {
    for (const g of groups) if (g.currentCpu > g.baseCpu) changes.push({ id: g.id, cpu: g.baseCpu });
    return changes;
  }
  if (nodeCpuUsage < s.idleBelow) {
    // Hand out at most the idle share of the node, split evenly between the groups that can grow.
    const growable = groups.filter((g) => g.currentCpu < g.maxCpu);
    if (growable.length === 0) return changes;
    const spare = (s.allocatableCpu * (1 - nodeCpuUsage)) / growable.length;
    for (const g of growable) {
      const target = round(Math.min(g.maxCpu, g.currentCpu * (s.step ?? 1.5), g.currentCpu + spare));
      if (target > g.currentCpu) changes.push({ id: g.id, cpu: target });
    }
  }
  return changes;
}

export interface AdjustableGroup {
  id: string;
  group: CgroupGroup;
  baseCpu: number;
  maxCpu: number;
}

/** Applies adjustCpu() to live groups; remembers each group's current quota. */
export class CpuAdjuster {
  readonly #current = new Map<string, number>();
  readonly #settings: CpuAdjustSettings;

  constructor(settings: CpuAdjustSettings) {
    this.#settings = settings;
  }

  tick(groups: readonly AdjustableGroup[], nodeCpuUsage: number): { id: string; cpu: number }[] {
    const live = new Set(groups.map((g) => g.id));
    for (const id of this.#current.keys()) if (!live.has(id)) this.#current.delete(id);
    const states = groups.map((g) => ({
      id: g.id,
      baseCpu: g.baseCpu,
      maxCpu: g.maxCpu,
      currentCpu: this.#current.get(g.id) ?? g.baseCpu,
    }));
    const changes = adjustCpu(states, nodeCpuUsage, this.#settings);
    for (const c of changes) {
      const g = groups.find((x) => x.id === c.id);
      try {
        g?.group.setCpu(c.cpu);
        this.#current.set(c.id, c.cpu);
      } catch {
        // The group ended between the read and the write.
      }
    }
    return changes;
  }
}
