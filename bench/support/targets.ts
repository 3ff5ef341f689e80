/** The issue targets and ratios, computed from one run's rows. */
import type { HttpBenchResult } from '../http-invoke.ts';
import type { BaselineRow } from '../isolate-baselines.ts';
import { formatTable } from './stats.ts';
import type { TierSection } from './tier-modules.ts';

export interface TargetCheck {
  what: string;
  value: string;
  target: string;
  /** undefined: the figure is informative only, or a row it needs is missing. */
  met?: boolean;
}

const fmt = (x: number, digits = 2) => x.toFixed(digits);

export function evaluateTargets(
  http: HttpBenchResult,
  baselines: BaselineRow[],
  tiers: TierSection[] = [],
): TargetCheck[] {
  const row = (key: string) => http.rows.find((r) => r.key === key);
  const checks: TargetCheck[] = [];
  const warm = row('isolate-warm');
  const fresh = row('isolate-fresh');
  const load = row('isolate-load');
  const child = baselines.find((b) => b.name.startsWith('child process'));
  const thread = baselines.find((b) => b.name.startsWith('worker_thread'));
  if (warm)
    checks.push({
      what: 'isolate warm p50 over HTTP',
      value: `${fmt(warm.p50Ms)} ms`,
      target: '<= 1 ms',
      met: warm.p50Ms <= 1,
    });
  if (load?.rps !== undefined) {
    checks.push({
      what: 'isolate warm throughput, 32 connections',
      value: `${Math.round(load.rps)}/s`,
      target: '>= 3000/s',
      met: load.rps >= 3000,
    });
  }
  if (fresh)
    checks.push({
      what: 'isolate fresh p50 over HTTP',
      value: `${fmt(fresh.p50Ms)} ms`,
      target: '<= 5 ms',
      met: fresh.p50Ms <= 5,
    });
  if (warm && fresh)
    checks.push({ what: 'fresh / warm (p50)', value: `${fmt(fresh.p50Ms / warm.p50Ms, 1)}x`, target: 'informative' });
  if (warm && child) {
    const r = child.p50Ms / warm.p50Ms;
    checks.push({
      what: 'child process per call / warm (p50)',
      value: `${fmt(r, 1)}x`,
      target: '>= 20x',
      met: r >= 20,
    });
  }
  if (fresh && child) {
    checks.push({
      what: 'child process per call / fresh (p50)',
      value: `${fmt(child.p50Ms / fresh.p50Ms, 1)}x`,
      target: 'informative',
    });
  }
  if (warm && thread) {
    checks.push({
      what: 'worker_thread per call / warm (p50)',
      value: `${fmt(thread.p50Ms / warm.p50Ms, 1)}x`,
      target: 'informative',
    });
  }
  const core = row('wasm-core');
  if (core)
    checks.push({
      what: 'wasm core module p50 over HTTP',
      value: `${fmt(core.p50Ms)} ms`,
      target: '<= 1 ms',
      met: core.p50Ms <= 1,
    });
  const docker = row('docker-warm');
  if (docker) {
    checks.push({
      what: 'docker warm pool p50 over HTTP',
      value: `${fmt(docker.p50Ms)} ms`,
      target: '<= 10 ms',
      met: docker.p50Ms <= 10,
    });
  }
  const dockerRows = tiers.find((t) => t.id === 'docker')?.rows as { name: string; p50Ms: number }[] | undefined;
  const dockerRun = dockerRows?.find((r) => r.name.startsWith('docker run'));
  const dockerWarmDriver = dockerRows?.find((r) => r.name.startsWith('warm pool'));
  if (dockerRun && dockerWarmDriver) {
    const r = dockerRun.p50Ms / dockerWarmDriver.p50Ms;
    checks.push({
      what: 'docker run / warm pool (driver, p50)',
      value: `${fmt(r, 1)}x`,
      target: '>= 30x',
      met: r >= 30,
    });
  }
  if (dockerRun && docker) {
    const r = dockerRun.p50Ms / docker.p50Ms;
    checks.push({
      what: 'docker run / warm pool over HTTP (p50)',
      value: `${fmt(r, 1)}x`,
      target: '>= 30x',
      met: r >= 30,
    });
  }
  return checks;
}

export function formatTargets(checks: TargetCheck[]): string {
  return formatTable(
    ['figure', 'value', 'target', 'met'],
    checks.map((c) => [c.what, c.value, c.target, c.met === undefined ? '' : c.met ? 'yes' : 'NO']),
    [0, 2],
  );
}
