/** The issue targets and ratios, computed from one run's rows. */
import type { DeployJsResult } from '../deploy-js.ts';
import { type HttpBenchResult, serverCpu, spread, totalRssMb } from '../http-invoke.ts';
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
  deployJs: DeployJsResult = { rows: [], skips: [] },
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
  checks.push(...peerChecks(http));
  if (http.cpuPerInvocation) {
    const cpu = serverCpu(http.cpuPerInvocation);
    checks.push({
      what: 'CPU per invocation, worker main + hosts (32 conn.)',
      value: `${fmt(cpu, 3)} ms`,
      target: '<= 0.25 ms',
      met: cpu <= 0.25,
    });
  }
  if (http.workerdCpuPerInvocation)
    checks.push({
      what: 'CPU per invocation, workerd (32 conn.)',
      value: `${fmt(serverCpu(http.workerdCpuPerInvocation), 3)} ms`,
      target: 'informative',
    });
  if (http.memory) {
    const rss = totalRssMb(http.memory);
    checks.push({
      what: `idle worker RSS, main + ${http.memory.length - 1} descendants`,
      value: `${Math.round(rss)} MB`,
      target: '<= 250 MB',
      met: rss <= 250,
    });
  }
  for (const r of deployJs.rows) {
    if (r.key === 'deploy-js-engines') continue;
    const restart = r.key === 'deploy-js-restart';
    checks.push({
      what: restart ? 'deploy standard JS again after a restart' : 'deploy standard JS, first (compile)',
      value: `${Math.round(r.ms)} ms${restart ? (r.compile?.cached ? ', cached' : ', NOT cached') : ''}`,
      target: restart ? '<= 2 s, from the cache' : '<= 2 s',
      met: r.ms <= 2000 && (!restart || r.compile?.cached === true),
    });
  }
  if (fresh)
    checks.push({
      what: 'isolate fresh p50 over HTTP',
      value: `${fmt(fresh.p50Ms)} ms`,
      target: '<= 3 ms',
      met: fresh.p50Ms <= 3,
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
      target: '<= 2 ms',
      met: docker.p50Ms <= 2,
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

/** Strata / workerd in the same run: per run when paired (spread quoted), on the medians. */
function peerChecks(http: HttpBenchResult): TargetCheck[] {
  const row = (key: string) => http.rows.find((r) => r.key === key);
  const [warm, load, peerWarm, peerLoad] = ['isolate-warm', 'isolate-load', 'workerd-warm', 'workerd-load'].map(row);
  const checks: TargetCheck[] = [];
  const perRun = (a: number[] | undefined, b: number[] | undefined) =>
    a && b && a.length === b.length && a.length > 1
      ? ` (${spread(
          a.map((x, i) => x / (b[i] as number)),
          2,
        )} over ${a.length} runs)`
      : '';
  if (warm && peerWarm) {
    const r = warm.p50Ms / peerWarm.p50Ms;
    checks.push({
      what: 'Strata / workerd p50, 1 connection',
      value: `${fmt(r)}x${perRun(warm.runs?.p50Ms, peerWarm.runs?.p50Ms)}`,
      target: '<= 2x',
      met: r <= 2,
    });
  }
  if (load?.rps !== undefined && peerLoad?.rps !== undefined) {
    const r = load.rps / peerLoad.rps;
    checks.push({
      what: 'Strata / workerd invocations/s, 32 connections',
      value: `${fmt(r)}x${perRun(load.runs?.rps, peerLoad.runs?.rps)}`,
      target: '>= 0.5x',
      met: r >= 0.5,
    });
  }
  if (warm && !peerWarm) {
    checks.push({ what: 'Strata / workerd p50, 1 connection', value: 'skipped (no workerd row)', target: '<= 2x' });
    checks.push({ what: 'Strata / workerd invocations/s, 32 connections', value: 'skipped', target: '>= 0.5x' });
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
