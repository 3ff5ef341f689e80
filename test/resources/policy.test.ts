import { describe, expect, it } from 'vitest';
import { detectAnomalies, emptyBaseline, observe, updateBaseline, updateStat } from '../../src/resources/anomaly.ts';
import {
  allocatable,
  decideAdmission,
  planAdmission,
  type ResourceRequest,
  requestOf,
} from '../../src/resources/capacity.ts';
import { adjustCpu, CpuAdjuster } from '../../src/resources/cpu-adjust.ts';
import { chooseVictims, memoryShortfall } from '../../src/resources/reclaim.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const settings = { alpha: 0.2, threshold: 4, minSamples: 10 };

describe('anomaly baseline', () => {
  it('EWMA converges on a steady value with no variance', () => {
    let s = { count: 0, mean: 0, variance: 0 };
    for (let i = 0; i < 50; i++) s = updateStat(s, 100, 0.2);
    expect(s.mean).toBeCloseTo(100);
    expect(s.variance).toBeCloseTo(0);
    expect(s.count).toBe(50);
  });

  it('flags a run far above the baseline, not ordinary noise, and not before minSamples', () => {
    let b = emptyBaseline();
    for (let i = 0; i < 9; i++) b = updateBaseline(b, { cpuMs: 100 + (i % 3), memoryPeakBytes: 20 * MiB }, 0.2);
    expect(detectAnomalies(b, { cpuMs: 5000 }, settings)).toEqual([]); // 9 < minSamples
    b = updateBaseline(b, { cpuMs: 101, memoryPeakBytes: 20 * MiB }, 0.2);
    expect(detectAnomalies(b, { cpuMs: 110, memoryPeakBytes: 21 * MiB }, settings)).toEqual([]);
    expect(detectAnomalies(b, { cpuMs: 5000, memoryPeakBytes: 20 * MiB }, settings)).toEqual(['cpu_high']);
    expect(detectAnomalies(b, { memoryPeakBytes: 200 * MiB }, settings)).toEqual(['memory_high']);
    // Lower than usual is not an anomaly worth flagging.
    expect(detectAnomalies(b, { cpuMs: 1 }, settings)).toEqual([]);
  });

  it('judges against the old baseline, then learns; unmeasured figures are ignored', () => {
    let b = emptyBaseline();
    for (let i = 0; i < 10; i++) b = updateBaseline(b, { cpuMs: 10 }, 0.2);
    const r = observe(b, { cpuMs: 1000 }, settings);
    expect(r.flags).toEqual(['cpu_high']);
    expect(r.baseline.cpuMs.mean).toBeGreaterThan(10);
    expect(r.baseline.memoryPeakBytes.count).toBe(0);
  });
});

describe('capacity model', () => {
  const s = { reserveCpu: 0.5, reserveMemory: GiB, overcommitCpu: 2, overcommitMemory: 1 };
  const a = allocatable({ cpuCores: 2, memoryBytes: 5 * GiB }, s);
  const req = (id: string, priority: number, cpu: number, memMb: number, seq = 0): ResourceRequest =>
    requestOf({ id, priority, cpu, memoryMb: memMb, seq });

  it('subtracts the reserve and applies overcommit', () => {
    expect(a).toEqual({ cpu: 1.5, memoryBytes: 4 * GiB, cpuLimit: 3, memoryLimit: 4 * GiB });
    expect(requestOf({ id: 'x', priority: 0, memoryMb: 1 }).cpu).toBe(1);
  });

  it('admits within limits and says why not otherwise', () => {
    expect(decideAdmission(req('a', 0, 1, 1024), [], a)).toEqual({ admit: true });
    const running = [req('r1', 0, 1, 3072)];
    expect(decideAdmission(req('b', 0, 0.5, 2048), running, a)).toMatchObject({
      admit: false,
      resource: 'memory',
      never: false,
    });
    expect(decideAdmission(req('c', 0, 2.5, 10), running, a)).toMatchObject({
      admit: false,
      resource: 'cpu',
      never: false,
    });
    expect(decideAdmission(req('d', 0, 4, 10), [], a)).toMatchObject({ admit: false, resource: 'cpu', never: true });
  });

  it('plans admission by priority; a blocked high priority holds back lower ones', () => {
    const running = [req('r', 0, 1, 2048)];
    const queue = [
      req('low', 1, 0.1, 100, 1),
      req('big', 5, 0.5, 3000, 2),
      req('mid', 3, 0.1, 100, 3),
      req('huge', 9, 0.1, 8192, 4),
    ];
    expect(planAdmission(queue, running, a)).toEqual({
      start: [],
      reject: [{ id: 'huge', reason: expect.stringContaining('more memory') }],
    });
    const plan = planAdmission(
      [req('low', 1, 0.1, 100, 1), req('mid', 3, 0.1, 100, 2), req('mid2', 3, 0.1, 100, 0)],
      running,
      a,
    );
    expect(plan.start).toEqual(['mid2', 'mid', 'low']);
  });
});

describe('reclamation', () => {
  it('computes the shortfall and picks lowest priority, youngest first', () => {
    expect(memoryShortfall(300 * MiB, 256 * MiB)).toBe(0);
    expect(memoryShortfall(100 * MiB, 256 * MiB)).toBe(156 * MiB);
    const running = [
      { id: 'hi', priority: 9, memoryBytes: 500 * MiB, startedAt: 1 },
      { id: 'low-old', priority: 0, memoryBytes: 100 * MiB, startedAt: 1 },
      { id: 'low-young', priority: 0, memoryBytes: 100 * MiB, startedAt: 5 },
      { id: 'mid', priority: 5, memoryBytes: 100 * MiB, startedAt: 2 },
    ];
    expect(chooseVictims(running, 150 * MiB)).toEqual(['low-young', 'low-old']);
    expect(chooseVictims(running, 250 * MiB)).toEqual(['low-young', 'low-old', 'mid']);
    expect(chooseVictims(running, 10 * GiB, 5)).toEqual(['low-young', 'low-old']);
    expect(chooseVictims(running, 0)).toEqual([]);
  });
});

describe('dynamic CPU', () => {
  const s = { idleBelow: 0.5, busyAbove: 0.9, allocatableCpu: 2 };
  const g = { id: 'a', baseCpu: 0.5, maxCpu: 1, currentCpu: 0.5 };
  it('raises while idle within bounds, lowers to the request when busy, holds between', () => {
    expect(adjustCpu([g], 0.1, s)).toEqual([{ id: 'a', cpu: 0.75 }]);
    expect(adjustCpu([{ ...g, currentCpu: 0.9 }], 0.1, s)).toEqual([{ id: 'a', cpu: 1 }]);
    expect(adjustCpu([{ ...g, currentCpu: 1 }], 0.1, s)).toEqual([]);
    expect(adjustCpu([{ ...g, currentCpu: 1 }], 0.95, s)).toEqual([{ id: 'a', cpu: 0.5 }]);
    expect(adjustCpu([{ ...g, currentCpu: 0.5 }], 0.95, s)).toEqual([]);
    expect(adjustCpu([{ ...g, currentCpu: 0.75 }], 0.7, s)).toEqual([]);
  });
  it('the applier writes quotas and remembers them', () => {
    const writes: (number | undefined)[] = [];
    const group = {
      setCpu: (c: number | undefined) => writes.push(c),
    } as unknown as import('../../src/resources/cgroup/group.ts').CgroupGroup;
    const adj = new CpuAdjuster(s);
    adj.tick([{ id: 'a', group, baseCpu: 0.5, maxCpu: 1 }], 0.1);
    adj.tick([{ id: 'a', group, baseCpu: 0.5, maxCpu: 1 }], 0.1);
    adj.tick([{ id: 'a', group, baseCpu: 0.5, maxCpu: 1 }], 0.99);
    expect(writes).toEqual([0.75, 1, 0.5]);
  });
});
