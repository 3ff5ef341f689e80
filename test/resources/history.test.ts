import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StrataError } from '../../src/core/errors.ts';
import { usageOf } from '../../src/core/execution.ts';
import { usageRoutes } from '../../src/gateway/routes/usage.ts';
import { BaselineStore, functionKey } from '../../src/resources/baseline-store.ts';
import type { CgroupGroup } from '../../src/resources/cgroup/group.ts';
import { UsageHistory } from '../../src/resources/history.ts';
import { cpuUsageBetween, createNodeStats, parseMeminfo, parseProcStat } from '../../src/resources/node-stats.ts';
import { createSampler } from '../../src/resources/sampler.ts';
import { Database } from '../../src/store/database.ts';

let db: Database;
beforeEach(() => {
  db = new Database(':memory:');
});
afterEach(() => db.close());

const fakeGroup = (cpu: () => number): CgroupGroup =>
  ({ usage: () => ({ cpuMs: cpu(), memoryBytes: 1000, pids: 2, measured: ['cpuMs'] }) }) as unknown as CgroupGroup;

describe('node totals', () => {
  it('parses /proc/stat and /proc/meminfo', () => {
    const a = parseProcStat('cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2 3\n');
    const b = parseProcStat('cpu  150 0 150 900 0 0 0 0 0 0\n');
    expect(a).toEqual({ total: 1000, idle: 800 });
    expect(cpuUsageBetween(a as never, b as never)).toBeCloseTo(0.5);
    expect(parseMeminfo('MemTotal:       1000 kB\nMemFree: 5 kB\nMemAvailable:    500 kB\n')).toEqual({
      totalBytes: 1024000,
      availableBytes: 512000,
    });
  });
  it('reads this host', () => {
    const n = createNodeStats({ dataDir: '/tmp' });
    n.read();
    const t = n.read();
    expect(t.cpuCores).toBeGreaterThan(0);
    expect(t.memoryTotalBytes).toBeGreaterThan(0);
    expect(t.diskFreeBytes).toBeGreaterThan(0);
    expect(n.latest()).toBe(t);
  });
});

describe('sampler, history and the usage route', () => {
  it('samples running groups and node totals, serves the series, prunes by age and cap', async () => {
    const history = new UsageHistory(db, { retentionMs: 10_000, samplesPerExecution: 3 });
    let cpu = 0;
    const nodes: number[] = [];
    const sampler = createSampler({
      intervalMs: 1000,
      groups: () => [{ invocationId: 'e1', group: fakeGroup(() => (cpu += 10)) }],
      history,
      node: createNodeStats(),
      onNode: (t) => nodes.push(t.at),
    });
    for (let i = 0; i < 5; i++) sampler.tick(1_000_000 + i * 1000);
    expect(sampler.samples).toBe(5);
    expect(nodes).toHaveLength(5);
    const series = history.samples('e1');
    expect(series.map((s) => s.cpuMs)).toEqual([10, 20, 30, 40, 50]);
    // Not measured: no memoryPeakBytes key at all, never 0.
    expect(series[0]).toEqual({ at: 1_000_000, cpuMs: 10, memoryBytes: 1000, pids: 2 });

    const app = usageRoutes({ history, executionExists: (id) => id === 'known' });
    const res = await app.request('/v1/executions/e1/usage');
    expect(res.status).toBe(200);
    expect(((await res.json()) as { samples: unknown[] }).samples).toHaveLength(5);
    expect(await (await app.request('/v1/executions/known/usage')).json()).toEqual({
      executionId: 'known',
      samples: [],
    });
    let thrown: unknown;
    app.onError((err, c) => {
      thrown = err;
      return c.json({ error: { code: (err as StrataError).code, message: err.message } }, 404);
    });
    expect((await app.request('/v1/executions/nope/usage')).status).toBe(404);
    expect(thrown).toBeInstanceOf(StrataError);

    history.prune(1_000_000 + 4000 + 10_000 - 2500); // keeps samples at or after +1500 -> 3 left, cap 3
    expect(history.samples('e1').map((s) => s.cpuMs)).toEqual([30, 40, 50]);
    for (let i = 5; i < 8; i++) sampler.tick(1_000_000 + i * 1000);
    history.prune(1_000_000 + 8000);
    expect(history.samples('e1').map((s) => s.cpuMs)).toEqual([60, 70, 80]);
  });

  it('start/stop runs on a timer without keeping the process alive', async () => {
    const history = new UsageHistory(db, { retentionMs: 10_000, samplesPerExecution: 100 });
    const sampler = createSampler({ intervalMs: 20, groups: () => [], history, node: createNodeStats() });
    sampler.start();
    await new Promise((r) => setTimeout(r, 90));
    sampler.stop();
    expect(history.nodeSamples().length).toBeGreaterThanOrEqual(2);
    expect(sampler.nodeTotals()?.cpuUsage).toBeTypeOf('number');
  });
});

describe('baseline store', () => {
  it('persists baselines per function version and counts anomalies', () => {
    const store = new BaselineStore(db, { alpha: 0.2, threshold: 4, minSamples: 5 });
    const key = functionKey('f', 1);
    for (let i = 0; i < 5; i++)
      expect(store.observe(key, usageOf({ wallMs: 1, cpuMs: 20, memoryPeakBytes: 1e7 }))).toEqual([]);
    expect(store.observe(key, usageOf({ wallMs: 1, cpuMs: 2000 }))).toEqual(['cpu_high']);
    // Another version has its own baseline.
    expect(store.observe(functionKey('f', 2), usageOf({ wallMs: 1, cpuMs: 2000 }))).toEqual([]);
    expect(store.counts.cpu_high).toBe(1);
    // Written behind: another store sees the baseline once it is flushed.
    expect(new BaselineStore(db, { alpha: 0.2, threshold: 4, minSamples: 5 }).get(key).cpuMs.count).toBe(0);
    store.flush();
    expect(new BaselineStore(db, { alpha: 0.2, threshold: 4, minSamples: 5 }).get(key).cpuMs.count).toBe(6);
  });
});
