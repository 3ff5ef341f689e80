/**
 * Invocations over HTTP through one real worker (a child process: `strata serve` on
 * 127.0.0.1, port 0, temp data dir), every tier side by side in one run:
 *   - isolate tier: warm (trusted JS) p50/p99 sequential on one connection, throughput at 32
 *     connections (autocannon), and fresh (standard JS, sent to the isolate tier by the bench
 *     policy: a new isolate per call);
 *   - wasm tier: a small cached core module (WAT add), a C WASI command, a C component;
 *   - process tier: bash and python3 scripts;
 *   - docker tier: untrusted JS on the warm pool.
 * A tier the worker reports unavailable gives a skip line with its health reason.
 *
 *   node bench/http-invoke.ts [--quick]
 */
import { readFileSync } from 'node:fs';
import { BASH_SOURCE, BENCH_POLICY_TABLE, checkJs, JS_SOURCE, jsInput, PYTHON_SOURCE } from './support/functions.ts';
import { HttpClient, invoke } from './support/http-client.ts';
import { type LoadResult, loadTest } from './support/load.ts';
import { cpuDelta, cpuTree } from './support/proc-cpu.ts';
import { formatTable, ms, type Summary, summarize, timeSequential } from './support/stats.ts';
import { startWorkerProcess } from './support/worker-process.ts';

export interface HttpRow extends Summary {
  /** A stable id for the row (targets and ratios look rows up by it). */
  key: string;
  group: string;
  name: string;
  /** The tier the execution records named. */
  tier: string;
  /** Present on throughput rows. */
  rps?: number;
  note?: string;
}

export interface HttpSkip {
  name: string;
  reason: string;
}

export interface HttpBenchResult {
  rows: HttpRow[];
  skips: HttpSkip[];
  load?: LoadResult;
  /** CPU ms per invocation during the 32-connection run, per process (worker, hosts, load generator). */
  cpuPerInvocation?: Record<string, number>;
}

export interface HttpBenchOptions {
  quick?: boolean;
  /** Write V8 CPU profiles of the worker and its sandbox hosts into this directory. */
  profileDir?: string;
  /** Only the cases with these keys (and the throughput row with isolate-warm). */
  only?: string[];
  /** Progress lines (stderr in the runner). */
  progress?: (line: string) => void;
}

interface TierHealth {
  available: boolean;
  reason?: string;
}

const root = new URL('../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root));

interface Case {
  key: string;
  group: string;
  name: string;
  /** The tier this case needs; skipped with its health reason when unavailable. */
  tier: string;
  deploy: (client: HttpClient) => Promise<void>;
  fn: string;
  input: (i: number) => unknown;
  check: (result: unknown, i: number) => void;
  /** Sequential samples (full run); quick runs take a fifth. */
  n: number;
  warmup: number;
}

const deployJson = (manifest: Record<string, unknown>) => async (client: HttpClient) => {
  await client.json('POST', '/v1/functions', manifest);
};

const deployWasm = (name: string, path: string, manifest: Record<string, unknown>) => async (client: HttpClient) => {
  const reply = await client.send('PUT', `/v1/functions/${name}/module`, read(path), {
    'content-type': 'application/wasm',
    'x-strata-manifest': JSON.stringify(manifest),
  });
  if (reply.status >= 300) throw new Error(`deploy ${name}: ${reply.status} ${reply.body.slice(0, 300)}`);
};

const expectEqual = (want: unknown) => (result: unknown) => {
  if (JSON.stringify(result) !== JSON.stringify(want)) {
    throw new Error(`wrong result: ${JSON.stringify(result)} (want ${JSON.stringify(want)})`);
  }
};

const CASES: Case[] = [
  {
    key: 'isolate-warm',
    group: 'isolate',
    name: 'isolate warm (trusted JS), 1 connection',
    tier: 'isolate',
    deploy: deployJson({ name: 'js-warm', runtime: 'js', trust: 'trusted', source: JS_SOURCE }),
    fn: 'js-warm',
    input: jsInput,
    check: checkJs,
    n: 2000,
    warmup: 200,
  },
  {
    key: 'isolate-fresh',
    group: 'isolate',
    name: 'isolate fresh (standard JS), 1 connection',
    tier: 'isolate',
    deploy: deployJson({ name: 'js-fresh', runtime: 'js', trust: 'standard', source: JS_SOURCE }),
    fn: 'js-fresh',
    input: jsInput,
    check: checkJs,
    n: 500,
    warmup: 50,
  },
  {
    key: 'wasm-core',
    group: 'wasm',
    name: 'wasm core module (WAT add, cached)',
    tier: 'wasm',
    deploy: deployWasm('wat-add', 'udf-examples/wasm/wat-add/add.wasm', { entry: 'add', trust: 'untrusted' }),
    fn: 'wat-add',
    input: () => [40, 2],
    check: expectEqual(42),
    n: 1000,
    warmup: 100,
  },
  {
    key: 'wasm-command',
    group: 'wasm',
    name: 'wasm C WASI command (c-stats)',
    tier: 'wasm',
    deploy: deployWasm('c-stats', 'udf-examples/wasm/c-stats/stats.wasm', { trust: 'untrusted' }),
    fn: 'c-stats',
    input: () => [1, 2, 3, 4],
    check: (r) => {
      if ((r as { sum?: number } | undefined)?.sum !== 10)
        throw new Error(`wrong c-stats result: ${JSON.stringify(r)}`);
    },
    n: 500,
    warmup: 50,
  },
  {
    key: 'wasm-component',
    group: 'wasm',
    name: 'wasm component (C shout)',
    tier: 'wasm',
    deploy: deployWasm('c-shout', 'udf-examples/component/c-shout/shout.wasm', { trust: 'untrusted' }),
    fn: 'c-shout',
    input: () => ({ a: 'x' }),
    check: (r) => {
      if (!JSON.stringify(r).includes('X')) throw new Error(`wrong c-shout result: ${JSON.stringify(r)}`);
    },
    n: 500,
    warmup: 50,
  },
  {
    key: 'bash',
    group: 'process',
    name: 'process tier bash script',
    tier: 'process',
    deploy: deployJson({
      name: 'sh-hello',
      runtime: 'script',
      interpreter: 'bash',
      trust: 'standard',
      source: BASH_SOURCE,
    }),
    fn: 'sh-hello',
    input: () => 1,
    check: expectEqual({ hello: 1 }),
    n: 100,
    warmup: 5,
  },
  {
    key: 'python3',
    group: 'process',
    name: 'process tier python3 script',
    tier: 'process',
    deploy: deployJson({
      name: 'py-hello',
      runtime: 'script',
      interpreter: 'python3',
      trust: 'standard',
      source: PYTHON_SOURCE,
    }),
    fn: 'py-hello',
    input: () => 1,
    check: expectEqual({ hello: 1 }),
    n: 60,
    warmup: 5,
  },
  {
    key: 'docker-warm',
    group: 'docker',
    name: 'docker warm pool (untrusted JS)',
    tier: 'docker',
    deploy: deployJson({ name: 'js-untrusted', runtime: 'js', trust: 'untrusted', source: JS_SOURCE }),
    fn: 'js-untrusted',
    input: jsInput,
    check: checkJs,
    n: 300,
    warmup: 20,
  },
];

export async function run(options: HttpBenchOptions = {}): Promise<HttpBenchResult> {
  const progress = options.progress ?? (() => {});
  const scale = options.quick ? 0.1 : 1;
  progress('http: starting a worker (strata serve) ...');
  const worker = await startWorkerProcess({
    env: {
      STRATA_POLICY_TABLE: JSON.stringify(BENCH_POLICY_TABLE),
      STRATA_POLICY_FLOOR_STANDARD: 'isolate',
      // Through NODE_OPTIONS so the hosts the worker forks are profiled as well.
      ...(options.profileDir ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${options.profileDir}` } : {}),
    },
  });
  progress(`http: worker pid ${worker.pid} at ${worker.url}`);
  const client = new HttpClient(worker.url);
  const rows: HttpRow[] = [];
  const skips: HttpSkip[] = [];
  let load: LoadResult | undefined;
  let cpuPerInvocation: Record<string, number> | undefined;
  try {
    const health = await client.json<{ tiers: Record<string, TierHealth> }>('GET', '/healthz');
    for (const c of CASES) {
      if (options.only && !options.only.includes(c.key)) continue;
      const h = health.tiers[c.tier];
      if (!h?.available) {
        skips.push({
          name: c.name,
          reason: `${c.tier} tier unavailable: ${h?.reason ?? 'not built into this worker'}`,
        });
        progress(`http: skip ${c.name} (${c.tier}: ${h?.reason ?? 'absent'})`);
        continue;
      }
      const n = Math.max(10, Math.round(c.n * scale));
      const warmup = Math.max(2, Math.round(c.warmup * scale));
      progress(`http: ${c.name}: ${warmup} warm-up + ${n} calls`);
      try {
        await c.deploy(client);
        let tier = '';
        const samples = await timeSequential(
          async (i) => {
            const record = await invoke(client, c.fn, c.input(i));
            c.check(record.result, i);
            tier = record.tier ?? '';
          },
          n,
          warmup,
        );
        rows.push({ key: c.key, group: c.group, name: c.name, tier, ...summarize(samples) });
      } catch (err) {
        skips.push({ name: c.name, reason: `failed: ${(err as Error).message.slice(0, 300)}` });
        progress(`http: ${c.name} FAILED: ${(err as Error).message.slice(0, 300)}`);
      }
    }
    if (rows.some((r) => r.key === 'isolate-warm')) {
      const durationS = options.quick ? 2 : 10;
      progress(`http: isolate warm throughput, 32 connections for ${durationS} s (autocannon)`);
      const before = cpuTree(worker.pid);
      const bench = process.cpuUsage();
      load = await loadTest({
        url: `${worker.url}/v1/functions/js-warm/invoke`,
        body: jsInput(21),
        connections: 32,
        durationS,
      });
      const benchCpu = process.cpuUsage(bench);
      const spent = cpuDelta(before, cpuTree(worker.pid));
      spent.set('load generator (autocannon, bench process)', (benchCpu.user + benchCpu.system) / 1000);
      cpuPerInvocation = Object.fromEntries(
        [...spent].map(([name, cpuMs]) => [name, Math.round((cpuMs / Math.max(1, load?.requests ?? 1)) * 1000) / 1000]),
      );
      rows.push({
        key: 'isolate-load',
        group: 'isolate',
        name: 'isolate warm (trusted JS), 32 connections',
        tier: 'isolate',
        n: load.requests,
        meanMs: Number.NaN,
        p50Ms: load.p50Ms,
        p99Ms: load.p99Ms,
        rps: load.rps,
        note: `${Math.round(load.rps)} invocations/s over ${load.durationS} s${load.bad ? `, ${load.bad} bad` : ''}`,
      });
    }
  } finally {
    client.close();
    progress('http: stopping the worker');
    await worker.stop();
  }
  return { rows, skips, ...(load ? { load } : {}), ...(cpuPerInvocation ? { cpuPerInvocation } : {}) };
}

export function formatCpu(cpu: Record<string, number>): string {
  return formatTable(
    ['process (during the 32-connection run)', 'CPU ms per invocation'],
    Object.entries(cpu).map(([name, v]) => [name, v.toFixed(3)]),
  );
}

export function formatRows(rows: HttpRow[]): string {
  return formatTable(
    ['case', 'tier', 'n', 'mean ms', 'p50 ms', 'p99 ms', 'note'],
    rows.map((r) => [r.name, r.tier, String(r.n), ms(r.meanMs), ms(r.p50Ms), ms(r.p99Ms), r.note ?? '']),
    [0, 1, 6],
  );
}

if (import.meta.main) {
  const result = await run({ quick: process.argv.includes('--quick'), progress: (l) => console.error(l) });
  console.log(formatRows(result.rows));
  if (result.cpuPerInvocation) console.log(formatCpu(result.cpuPerInvocation));
  for (const s of result.skips) console.log(`skipped: ${s.name}: ${s.reason}`);
}
