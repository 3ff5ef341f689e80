/**
 * Invocations over HTTP through one real worker (a child process: `strata serve` on
 * 127.0.0.1, port 0, temp data dir), every tier side by side in one run:
 *   - isolate tier: warm (trusted JS) p50/p99 sequential on one connection, throughput at 32
 *     connections (autocannon), and fresh (standard JS, sent to the isolate tier by the bench
 *     policy: a new isolate per call);
 *   - wasm tier: a small cached core module (WAT add), a C WASI command, a C component;
 *   - process tier: bash and python3 scripts;
 *   - docker tier: untrusted JS on the warm pool;
 *   - workerd (bench/support/workerd.ts) serving the same add function, measured by the same
 *     client and autocannon settings, paired run by run with the isolate warm rows (`runs`).
 * A tier the worker reports unavailable gives a skip line with its health reason. After the
 * cases, the worker idles a moment and the RSS of its main process and every host is summed.
 *
 *   node bench/http-invoke.ts [--quick] [--runs=N]
 */
import { readFileSync } from 'node:fs';
import { BASH_SOURCE, BENCH_POLICY_TABLE, checkJs, JS_SOURCE, jsInput, PYTHON_SOURCE } from './support/functions.ts';
import { HttpClient, invoke } from './support/http-client.ts';
import { type LoadResult, loadTest } from './support/load.ts';
import { cpuDelta, cpuTree } from './support/proc-cpu.ts';
import { memoryTree, type ProcessMemory } from './support/proc-rss.ts';
import { formatTable, median, ms, type Summary, summarize, timeSequential } from './support/stats.ts';
import { startWorkerProcess, type WorkerProcess } from './support/worker-process.ts';
import { startWorkerd, type WorkerdProcess, workerdBinary } from './support/workerd.ts';

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
  /** Per run, when the row was measured more than once (`runs`): the row holds the medians. */
  runs?: { p50Ms: number[]; rps?: number[] };
}

export interface HttpSkip {
  name: string;
  reason: string;
}

export interface HttpBenchResult {
  rows: HttpRow[];
  skips: HttpSkip[];
  load?: LoadResult;
  /** CPU ms per invocation during the 32-connection runs, per process (worker, hosts, load generator). */
  cpuPerInvocation?: Record<string, number>;
  /** The same for workerd's 32-connection runs (workerd, load generator). */
  workerdCpuPerInvocation?: Record<string, number>;
  /** Idle worker after the cases: its main process and every descendant. */
  memory?: ProcessMemory[];
  /** workerd's process(es), idle, at the same moment. */
  workerdMemory?: ProcessMemory[];
}

export interface HttpBenchOptions {
  quick?: boolean;
  /** Write V8 CPU profiles of the worker and its sandbox hosts into this directory. */
  profileDir?: string;
  /** Only the cases with these keys (and the throughput row with isolate-warm). */
  only?: string[];
  /** Progress lines (stderr in the runner). */
  progress?: (line: string) => void;
  /** How many times the isolate warm and workerd rows are measured (medians and spread quoted); default 1. */
  runs?: number;
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

/** The isolate warm case, measured in pairs with workerd (pairedRows); its sizes apply to both. */
const WARM = { n: 2000, warmup: 200, fn: 'js-warm', loadInput: jsInput(21) };
/** What a right answer to jsInput(21) holds, for autocannon's body check. */
const DOUBLED_42 = '"doubled":42';

const CASES: Case[] = [
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
      // No JS is compiled to components here (standard JS goes to the isolate tier): without
      // this the engine build 10 s after start would run during the measured rows.
      STRATA_WASM_PREBUILD_ENGINES: 'false',
      // Through NODE_OPTIONS so the hosts the worker forks are profiled as well.
      ...(options.profileDir ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${options.profileDir}` } : {}),
    },
  });
  progress(`http: worker pid ${worker.pid} at ${worker.url}`);
  const client = new HttpClient(worker.url);
  const result: HttpBenchResult = { rows: [], skips: [] };
  let workerd: WorkerdProcess | undefined;
  try {
    const health = await client.json<{ tiers: Record<string, TierHealth> }>('GET', '/healthz');
    if (!options.only || options.only.includes('isolate-warm')) {
      if (health.tiers.isolate?.available) {
        workerd = await startPeer(result, progress);
        await pairedRows(worker, client, workerd, result, { ...options, progress, scale });
      } else {
        result.skips.push({
          name: 'isolate warm and workerd rows',
          reason: `isolate tier unavailable: ${health.tiers.isolate?.reason ?? 'not built into this worker'}`,
        });
      }
    }
    for (const c of CASES) {
      if (options.only && !options.only.includes(c.key)) continue;
      const h = health.tiers[c.tier];
      if (!h?.available) {
        result.skips.push({
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
        result.rows.push({ key: c.key, group: c.group, name: c.name, tier, ...summarize(samples) });
      } catch (err) {
        result.skips.push({ name: c.name, reason: `failed: ${(err as Error).message.slice(0, 300)}` });
        progress(`http: ${c.name} FAILED: ${(err as Error).message.slice(0, 300)}`);
      }
    }
    // Idle worker memory: everything deployed and warmed, then a moment without traffic.
    progress('http: idle a second, then the RSS of the worker and its hosts');
    await new Promise((r) => setTimeout(r, 1000));
    result.memory = memoryTree(worker.pid);
    if (workerd) result.workerdMemory = memoryTree(workerd.pid);
  } finally {
    client.close();
    progress('http: stopping the worker');
    await workerd?.stop();
    await worker.stop();
  }
  return result;
}

/** workerd started, or undefined with a skip line saying why it cannot run here. */
async function startPeer(result: HttpBenchResult, progress: (line: string) => void) {
  const binary = workerdBinary();
  if ('missing' in binary) {
    result.skips.push({ name: 'workerd rows', reason: binary.missing });
    progress(`http: skip workerd (${binary.missing})`);
    return undefined;
  }
  try {
    const peer = await startWorkerd(binary.path);
    progress(`http: workerd pid ${peer.pid} at ${peer.url}`);
    return peer;
  } catch (err) {
    const reason = (err as Error).message.slice(0, 300);
    result.skips.push({ name: 'workerd rows', reason });
    progress(`http: skip workerd (${reason})`);
    return undefined;
  }
}

/**
 * Isolate warm and workerd, run by run: each run times 1-connection calls after untimed
 * warm-up calls, then 32 connections (autocannon), on Strata and then on workerd, so both see
 * the same machine load. Every answer is checked. The rows hold the medians over the runs.
 */
async function pairedRows(
  worker: WorkerProcess,
  client: HttpClient,
  workerd: WorkerdProcess | undefined,
  result: HttpBenchResult,
  options: HttpBenchOptions & { progress: (line: string) => void; scale: number },
): Promise<void> {
  const { progress } = options;
  const runs = Math.max(1, options.runs ?? 1);
  const n = Math.round(WARM.n * options.scale);
  const warmup = Math.round(WARM.warmup * options.scale);
  const durationS = options.quick ? 2 : 10;
  await deployJson({ name: WARM.fn, runtime: 'js', trust: 'trusted', source: JS_SOURCE })(client);
  const peerClient = workerd ? new HttpClient(workerd.url) : undefined;
  const strata: { seq: Summary[]; load: LoadResult[]; cpu: Map<string, number>; tier: string } = {
    seq: [],
    load: [],
    cpu: new Map(),
    tier: '',
  };
  const peer: { seq: Summary[]; load: LoadResult[]; cpu: Map<string, number> } = { seq: [], load: [], cpu: new Map() };
  let peerFailed = false;
  const add = (into: Map<string, number>, from: Map<string, number>) => {
    for (const [k, v] of from) into.set(k, (into.get(k) ?? 0) + v);
  };
  // CPU of a process tree and of the bench process (autocannon) during one load run.
  const loadWithCpu = async (pid: number, names: Map<string, string>, url: string, verify: (b: string) => boolean) => {
    const before = cpuTree(pid);
    const bench = process.cpuUsage();
    const load = await loadTest({ url, body: WARM.loadInput, connections: 32, durationS, verify });
    const benchCpu = process.cpuUsage(bench);
    const spent = new Map([...cpuDelta(before, cpuTree(pid))].map(([k, v]) => [names.get(k) ?? k, v]));
    spent.set('load generator (autocannon, bench process)', (benchCpu.user + benchCpu.system) / 1000);
    return { load, spent };
  };
  try {
    for (let run = 1; run <= runs; run++) {
      const of = runs > 1 ? ` (run ${run}/${runs})` : '';
      progress(`http: isolate warm${of}: ${warmup} warm-up + ${n} calls, then 32 connections for ${durationS} s`);
      strata.seq.push(
        summarize(
          await timeSequential(
            async (i) => {
              const record = await invoke(client, WARM.fn, jsInput(i));
              checkJs(record.result, i);
              strata.tier = record.tier ?? '';
            },
            n,
            warmup,
          ),
        ),
      );
      const s = await loadWithCpu(
        worker.pid,
        new Map(),
        `${worker.url}/v1/functions/${WARM.fn}/invoke`,
        (b) => b.includes('"status":"succeeded"') && b.includes(DOUBLED_42),
      );
      strata.load.push(s.load);
      add(strata.cpu, s.spent);
      if (!workerd || !peerClient || peerFailed) continue;
      try {
        progress(`http: workerd${of}: ${warmup} warm-up + ${n} calls, then 32 connections for ${durationS} s`);
        peer.seq.push(
          summarize(
            await timeSequential(
              async (i) => {
                const reply = await peerClient.send('POST', '/', JSON.stringify(jsInput(i)));
                if (reply.status !== 200)
                  throw new Error(`workerd answered ${reply.status}: ${reply.body.slice(0, 200)}`);
                checkJs(JSON.parse(reply.body), i);
              },
              n,
              warmup,
            ),
          ),
        );
        const w = await loadWithCpu(workerd.pid, new Map([['worker main process', 'workerd']]), workerd.url, (b) =>
          b.includes(DOUBLED_42),
        );
        peer.load.push(w.load);
        add(peer.cpu, w.spent);
      } catch (err) {
        // A peer that fails gives a skip line, never a failed bench.
        peerFailed = true;
        peer.seq.length = 0;
        peer.load.length = 0;
        result.skips.push({ name: 'workerd rows', reason: `failed: ${(err as Error).message.slice(0, 300)}` });
        progress(`http: workerd FAILED: ${(err as Error).message.slice(0, 300)}`);
      }
    }
  } finally {
    peerClient?.close();
  }
  const perInvocation = (cpu: Map<string, number>, loads: LoadResult[]) => {
    const requests = Math.max(
      1,
      loads.reduce((a, l) => a + l.requests, 0),
    );
    return Object.fromEntries([...cpu].map(([name, cpuMs]) => [name, Math.round((cpuMs / requests) * 1000) / 1000]));
  };
  result.rows.push(
    seqRow('isolate-warm', 'isolate', 'isolate warm (trusted JS), 1 connection', strata.tier, strata.seq),
    loadRow('isolate-load', 'isolate', 'isolate warm (trusted JS), 32 connections', strata.tier, strata.load),
  );
  result.load = strata.load[0];
  result.cpuPerInvocation = perInvocation(strata.cpu, strata.load);
  if (peer.seq.length > 0) {
    result.rows.push(
      seqRow('workerd-warm', 'workerd', 'workerd (same add function), 1 connection', 'workerd', peer.seq),
      loadRow('workerd-load', 'workerd', 'workerd (same add function), 32 connections', 'workerd', peer.load),
    );
    result.workerdCpuPerInvocation = perInvocation(peer.cpu, peer.load);
  }
}

function seqRow(key: string, group: string, name: string, tier: string, runs: Summary[]): HttpRow {
  const p50s = runs.map((r) => r.p50Ms);
  return {
    key,
    group,
    name,
    tier,
    n: runs.reduce((a, r) => a + r.n, 0),
    meanMs: median(runs.map((r) => r.meanMs)),
    p50Ms: median(p50s),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    ...(runs.length > 1 ? { runs: { p50Ms: p50s }, note: `p50 ${spread(p50s, 2)} ms over ${runs.length} runs` } : {}),
  };
}

function loadRow(key: string, group: string, name: string, tier: string, runs: LoadResult[]): HttpRow {
  const rps = runs.map((r) => r.rps);
  const bad = runs.reduce((a, r) => a + r.bad, 0);
  const seconds = runs.reduce((a, r) => a + r.durationS, 0);
  return {
    key,
    group,
    name,
    tier,
    n: runs.reduce((a, r) => a + r.requests, 0),
    meanMs: Number.NaN,
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    rps: median(rps),
    ...(runs.length > 1 ? { runs: { p50Ms: runs.map((r) => r.p50Ms), rps } } : {}),
    note: `${Math.round(median(rps))} invocations/s ${
      runs.length > 1
        ? `(median; ${spread(rps, 0)} over ${runs.length} runs of ${runs[0]?.durationS} s)`
        : `over ${seconds} s`
    }${bad ? `, ${bad} bad` : ''}`,
  };
}

/** "min–max" of the values. */
export const spread = (xs: number[], digits: number): string =>
  `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;

/** The idle worker's memory, one line per process and the sum. */
export function formatMemory(memory: ProcessMemory[], title: string): string {
  const sum = (f: (m: ProcessMemory) => number | undefined) => memory.reduce((a, m) => a + (f(m) ?? 0), 0);
  const hasPss = memory.every((m) => m.pssMb !== undefined);
  return formatTable(
    [title, 'pid', 'RSS MB', ...(hasPss ? ['PSS MB'] : [])],
    [
      ...memory.map((m) => [m.name, String(m.pid), m.rssMb.toFixed(1), ...(hasPss ? [ms(m.pssMb, 1)] : [])]),
      ['total', '', sum((m) => m.rssMb).toFixed(1), ...(hasPss ? [sum((m) => m.pssMb).toFixed(1)] : [])],
    ],
  );
}

/** Total RSS of a process tree, MB. */
export const totalRssMb = (memory: ProcessMemory[]): number => memory.reduce((a, m) => a + m.rssMb, 0);

/** CPU ms per invocation of the serving side: every process but the load generator. */
export const serverCpu = (cpu: Record<string, number>): number =>
  Object.entries(cpu).reduce((a, [name, v]) => (name.startsWith('load generator') ? a : a + v), 0);

export function formatCpu(cpu: Record<string, number>, total = 'worker main process + hosts'): string {
  return formatTable(
    ['process (during the 32-connection runs)', 'CPU ms per invocation'],
    [...Object.entries(cpu).map(([name, v]) => [name, v.toFixed(3)]), [`total: ${total}`, serverCpu(cpu).toFixed(3)]],
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
  const runs = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice(7) ?? 1);
  const result = await run({ quick: process.argv.includes('--quick'), runs, progress: (l) => console.error(l) });
  console.log(formatRows(result.rows));
  if (result.cpuPerInvocation) console.log(formatCpu(result.cpuPerInvocation));
  if (result.memory) console.log(formatMemory(result.memory, 'idle worker process'));
  for (const s of result.skips) console.log(`skipped: ${s.name}: ${s.reason}`);
}
