import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createProcessDriver, type ProcessDriver } from '../../sandboxes/process/driver.ts';
import { loadConfig } from '../../src/config/index.ts';
import { registerResourceMetrics } from '../../src/resources/metrics.ts';
import { createResources, type Resources } from '../../src/resources/service.ts';
import { Database } from '../../src/store/database.ts';
import { processTierRequirement, runScript } from '../sandboxes/process/support.ts';
import { describeIf } from '../support/requirements.ts';
import { uniqueParent } from './cgroup-support.ts';

describeIf(processTierRequirement(), 'resources service with the process tier (cgroup v1)', () => {
  let db: Database;
  let resources: Resources;
  let driver: ProcessDriver;
  beforeAll(async () => {
    db = new Database(':memory:');
    const config = loadConfig({
      env: {},
      // dynamicCpu off: the test drives adjustCpu itself; the sampler's own ticks would race it.
      overrides: { resources: { cgroupParent: uniqueParent('svc'), sampleInterval: 100, dynamicCpu: false } },
    });
    resources = createResources({ settings: config.resources, db, dataDir: '/tmp', maxCpuPerFunction: 1 });
    await resources.start();
    driver = createProcessDriver({ cgroups: resources.cgroups });
    await driver.start();
  });
  afterAll(async () => {
    await driver.dispose();
    await resources.stop();
    db.close();
  });

  it('samples a running invocation into its usage series and feeds node totals', async () => {
    const r = await runScript(
      { cgroups: resources.cgroups, driver },
      { interpreter: 'bash', source: 'end=$((SECONDS+2)); while [ $SECONDS -lt $end ]; do :; done; echo ok' },
      null,
      { cpu: 0.5 },
    );
    expect(r.outcome.status).toBe('succeeded');
    const id = r.groupDirs[0]?.split('strata-sbx-')[1] as string;
    const series = resources.history.samples(id);
    expect(series.length).toBeGreaterThanOrEqual(2);
    expect(series.at(-1)?.cpuMs).toBeGreaterThan(series[0]?.cpuMs ?? 0);
    expect(resources.nodeTotals()?.memoryTotalBytes).toBeGreaterThan(0);
    expect(resources.health()).toMatchObject({ available: true, mode: 'v1' });
  });

  it('dynamic CPU raises a running group quota when idle and lowers it when busy', async () => {
    const ac = new AbortController();
    const run = runScript(
      { cgroups: resources.cgroups, driver },
      { interpreter: 'bash', source: 'sleep 30' },
      null,
      { cpu: 0.25, timeoutMs: 60_000 },
      ac,
    );
    // Wait for the sandbox's group to exist (the tier makes it when the script starts; no event).
    const until = Date.now() + 30_000;
    while (resources.cgroups.sandboxGroups().length === 0 && Date.now() < until)
      await new Promise((r) => setTimeout(r, 20));
    const [entry] = resources.cgroups.sandboxGroups();
    const cpuDir = entry?.group.dirs.find((d) => d.includes('/cpu/')) as string;
    const quota = () => Number(readFileSync(join(cpuDir, 'cpu.cfs_quota_us'), 'utf8'));
    expect(quota()).toBe(25_000);
    expect(resources.adjustCpu(0.05)).toEqual([{ id: entry?.invocationId, cpu: 0.38 }]);
    expect(quota()).toBe(38_000);
    resources.adjustCpu(0.99);
    expect(quota()).toBe(25_000);
    ac.abort(new Error('done'));
    await run;
  });

  it('exports metrics at scrape time', async () => {
    const registry = new Registry();
    registerResourceMetrics(registry, resources);
    resources.baselines.counts.cpu_high++;
    const text = await registry.metrics();
    expect(text).toMatch(/strata_cgroup_info\{version="(v1|hybrid)",mode="v1",io_weight="false"\} 1/);
    expect(text).toMatch(/strata_usage_anomalies_total\{flag="cpu_high"\} 1/);
    expect(text).toMatch(/strata_node_memory_available_bytes \d+/);
    resources.baselines.counts.cpu_high--;
  });

  it('plans reclamation from node memory and admission from capacity', () => {
    const a = resources.allocatable();
    expect(a.cpu).toBeGreaterThan(0);
    expect(resources.admission({ id: 'x', priority: 0, cpu: 0.5, memoryBytes: 1024 }, [])).toEqual({ admit: true });
    expect(resources.reclaim([{ id: 'a', priority: 0, memoryBytes: 1, startedAt: 0 }]).victims).toEqual([]);
  });
});
