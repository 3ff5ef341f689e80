/**
 * Prometheus metrics of the resources part, read at scrape time (collect callbacks), so nothing
 * polls: cgroup hierarchy, live groups, node totals, anomalies flagged, sampler counts.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Resources } from './service.ts';

export function registerResourceMetrics(registry: Registry, resources: Resources, prefix = 'strata_'): void {
  const registers = [registry];
  new Gauge({
    name: `${prefix}cgroup_info`,
    help: 'cgroup hierarchy in use (1), labelled with version (v1, v2, hybrid, none) and mode',
    labelNames: ['version', 'mode', 'io_weight'],
    registers,
    collect() {
      const h = resources.health();
      this.reset();
      this.set({ version: h.version, mode: h.mode, io_weight: String(h.ioWeight) }, h.available ? 1 : 0);
    },
  });
  new Gauge({
    name: `${prefix}cgroup_groups`,
    help: 'cgroups Strata holds now (sandboxes and host processes)',
    registers,
    collect() {
      this.set(resources.health().groups);
    },
  });
  new Gauge({
    name: `${prefix}node_cpu_usage_ratio`,
    help: 'share of all cores busy at the last sample (0..1)',
    registers,
    collect() {
      const v = resources.nodeTotals()?.cpuUsage;
      if (v !== undefined) this.set(v);
    },
  });
  new Gauge({
    name: `${prefix}node_memory_available_bytes`,
    help: 'MemAvailable at the last sample',
    registers,
    collect() {
      const v = resources.nodeTotals()?.memoryAvailableBytes;
      if (v !== undefined) this.set(v);
    },
  });
  let seen: Record<string, number> = {};
  new Counter({
    name: `${prefix}usage_anomalies_total`,
    help: 'invocations flagged far outside their function version baseline, by flag',
    labelNames: ['flag'],
    registers,
    collect() {
      for (const [flag, n] of Object.entries(resources.baselines.counts)) {
        const delta = n - (seen[flag] ?? 0);
        if (delta > 0) this.inc({ flag }, delta);
      }
      seen = { ...resources.baselines.counts };
    },
  });
  let samples = 0;
  new Counter({
    name: `${prefix}usage_samples_total`,
    help: 'cgroup usage samples taken by the sampler',
    registers,
    collect() {
      const delta = resources.sampler.samples - samples;
      if (delta > 0) this.inc(delta);
      samples = resources.sampler.samples;
    },
  });
}
