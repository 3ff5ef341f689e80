/**
 * `npm run bench` (= `node bench/run.ts`): every benchmark side by side in one run.
 *
 *   1. over HTTP through one real worker (bench/http-invoke.ts): isolate warm / fresh /
 *      32-connection throughput, wasm core module, C command, component, bash, python3, docker;
 *   2. the isolate tier's baselines (bench/isolate-baselines.ts): a child process per call and a
 *      worker_thread per call, with the ratios and the issue targets; and a warm isolate
 *      invocation layer by layer in-process (driver, executor, Hono, HTTP: bench/support/layers.ts),
 *      and two parts of it alone as CPU per call (records' group commit, an isolate host:
 *      bench/support/cpu-parts.ts);
 *   3. the per-tier modules' own rows (process, wasm, docker, link), each skipped with a reason
 *      if it cannot run here.
 *
 * Tables go to stdout, progress to stderr; results to bench/results/<ISO date>.json and .md.
 *
 *   node bench/run.ts [--quick] [--no-tiers] [--profile] [--runs=N]
 *     --quick     fewer iterations (a smoke run, ~1 minute)
 *     --runs=N    measure the isolate warm and workerd rows N times (default 1), quoting the
 *                 median and the spread (min–max) of p50 and invocations/s
 *     --no-tiers  only parts 1 and 2
 *     --profile   CPU-profile the worker and its hosts (.cpuprofile files in bench/results/profiles/)
 *     --only=k,k  only these over-HTTP cases (isolate-warm (with workerd), isolate-fresh, wasm-core,
 *                 wasm-command, wasm-component, bash, python3, docker-warm, deploy-js); for profiling
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { type DeployJsResult, formatDeployRows, run as runDeployJs } from './deploy-js.ts';
import {
  formatCpu,
  formatRows as formatHttpRows,
  formatMemory,
  type HttpBenchResult,
  run as runHttp,
} from './http-invoke.ts';
import { type BaselineRow, formatRows as formatBaselineRows, run as runBaselines } from './isolate-baselines.ts';
import { type CpuPartRow, formatCpuParts, runCpuParts } from './support/cpu-parts.ts';
import { type LayerRow, runLayers } from './support/layers.ts';
import { markdownReport } from './support/report.ts';
import { formatTable, ms } from './support/stats.ts';
import { evaluateTargets, formatTargets, type TargetCheck } from './support/targets.ts';
import { genericTable, runTierModules, type TierSection } from './support/tier-modules.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'no-tiers': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    only: { type: 'string' },
    runs: { type: 'string', default: '1' },
  },
  strict: true,
});
const quick = values.quick as boolean;
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, not ${values.runs}`);
const only = values.only?.split(',');
const resultsDir = new URL('./results/', import.meta.url);
const progress = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

const startedAt = new Date();
const machine = {
  cpus: availableParallelism(),
  cpuModel: cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(totalmem() / 1024 ** 3),
  node: process.version,
  loadAverageAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
};
progress(
  `start (${quick ? 'quick' : 'full'}): ${machine.cpus} cores, node ${machine.node}, load ${machine.loadAverageAtStart.join(' ')}`,
);

let profileDir: string | undefined;
if (values.profile) {
  profileDir = new URL('./profiles/', resultsDir).pathname;
  mkdirSync(profileDir, { recursive: true });
}

// 1. Over HTTP.
let http: HttpBenchResult = { rows: [], skips: [] };
try {
  http = await runHttp({
    quick,
    progress,
    runs,
    ...(only ? { only } : {}),
    ...(profileDir ? { profileDir } : {}),
  });
} catch (err) {
  http.skips.push({ name: 'all over-HTTP rows', reason: `the worker could not run: ${(err as Error).message}` });
  progress(`http: FAILED: ${(err as Error).message}`);
}

// 1b. Deploying standard JS (compiled to a component), first and after a restart.
let deployJs: DeployJsResult = { rows: [], skips: [] };
if (!only || only.includes('deploy-js')) {
  try {
    deployJs = await runDeployJs({ progress });
  } catch (err) {
    deployJs.skips.push({
      name: 'deploy standard JS',
      reason: `could not run: ${(err as Error).message.slice(0, 300)}`,
    });
    progress(`deploy-js: FAILED: ${(err as Error).message}`);
  }
}

// 2. Baselines for the isolate tier.
progress(`baselines: child process and worker_thread per call (${quick ? 15 : 100} each)`);
let baselines: BaselineRow[] = [];
try {
  baselines = await runBaselines({ n: quick ? 15 : 100 });
} catch (err) {
  progress(`baselines: FAILED: ${(err as Error).message}`);
}

// 3. Per-tier modules.
let tiers: TierSection[] = [];
if (!values['no-tiers']) tiers = await runTierModules({ quick, progress });

// 2b. The warm isolate invocation layer by layer, in-process.
progress(`layers: warm isolate invocation layer by layer (${quick ? 200 : 2000} calls each)`);
let layers: LayerRow[] = [];
try {
  layers = await runLayers({ n: quick ? 200 : 2000, warmup: quick ? 20 : 200 });
} catch (err) {
  progress(`layers: FAILED: ${(err as Error).message}`);
}

// 2c. Parts of the hot path alone, as CPU per call (records' group commit, an isolate host).
progress('cpu parts: record group commit and an isolate host, CPU per call');
let cpuParts: CpuPartRow[] = [];
try {
  cpuParts = await runCpuParts({ quick });
} catch (err) {
  progress(`cpu parts: FAILED: ${(err as Error).message}`);
}

const targets: TargetCheck[] = evaluateTargets(http, baselines, tiers, deployJs);

// Output.
const out: string[] = [];
out.push(`Strata benchmarks, ${startedAt.toISOString()} (${quick ? 'quick' : 'full'} run)`);
out.push(
  `machine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, node ${machine.node}, load average at start ${machine.loadAverageAtStart.join(' ')}`,
);
out.push('', '## Over HTTP (one worker in a child process, 127.0.0.1, keep-alive client)', formatHttpRows(http.rows));
for (const s of http.skips) out.push(`skipped: ${s.name}: ${s.reason}`);
if (http.cpuPerInvocation)
  out.push('', '## Where the CPU goes under load (isolate warm, 32 connections)', formatCpu(http.cpuPerInvocation));
if (http.workerdCpuPerInvocation)
  out.push('', '## workerd CPU under the same load', formatCpu(http.workerdCpuPerInvocation, 'workerd'));
if (http.memory)
  out.push(
    '',
    '## Idle worker memory (after deploy and warm-up, 1 s idle; main process and every descendant)',
    formatMemory(http.memory, 'process'),
  );
if (http.workerdMemory)
  out.push('', '## workerd memory, idle (same moment)', formatMemory(http.workerdMemory, 'process'));
if (deployJs.rows.length > 0 || deployJs.skips.length > 0)
  out.push('', '## Deploy standard JS (compiled to a component, default policy)', formatDeployRows(deployJs.rows));
for (const s of deployJs.skips) out.push(`skipped: ${s.name}: ${s.reason}`);
out.push('', '## Isolate tier baselines (same JS function, in the bench process)', formatBaselineRows(baselines));
out.push(
  '',
  '## Isolate warm, layer by layer (in the bench process; each row adds one layer)',
  formatTable(
    ['layers', 'n', 'mean ms', 'p50 ms', 'p99 ms', 'p50 added'],
    layers.map((r, i) => [
      r.name,
      String(r.n),
      ms(r.meanMs, 3),
      ms(r.p50Ms, 3),
      ms(r.p99Ms, 3),
      i === 0 ? '' : `+${ms(r.p50Ms - (layers[i - 1] as LayerRow).p50Ms, 3)}`,
    ]),
  ),
);
out.push('', '## Parts of the hot path alone, CPU per call (in the bench process)', formatCpuParts(cpuParts));
out.push('', '## Ratios and targets', formatTargets(targets));
for (const t of tiers) {
  out.push('', `## ${t.title}`);
  if (t.skipped) out.push(`skipped: ${t.skipped}`);
  else out.push(t.text ?? genericTable(t.rows));
}
const finishedAt = new Date();
const loadAverageAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
out.push('', `load average at end ${loadAverageAtEnd.join(' ')}`);
out.push(`total ${((finishedAt.getTime() - startedAt.getTime()) / 1000).toFixed(0)} s`);
const text = out.join('\n');
console.log(text);

mkdirSync(resultsDir, { recursive: true });
const stamp = startedAt
  .toISOString()
  .replaceAll(':', '-')
  .replace(/\.\d+Z$/, 'Z');
const json = {
  startedAt: startedAt.toISOString(),
  finishedAt: finishedAt.toISOString(),
  mode: quick ? 'quick' : 'full',
  runs,
  machine: { ...machine, loadAverageAtEnd },
  http,
  deployJs,
  baselines,
  layers,
  cpuParts,
  targets,
  tiers: tiers.map(({ text: _text, ...t }) => t),
};
const jsonPath = new URL(`${stamp}.json`, resultsDir);
const mdPath = new URL(`${stamp}.md`, resultsDir);
writeFileSync(jsonPath, `${JSON.stringify(json, null, 2)}\n`);
writeFileSync(mdPath, markdownReport(text));
progress(`results: ${jsonPath.pathname} and ${mdPath.pathname}`);
if (profileDir) progress(`worker CPU profiles: ${profileDir}`);
