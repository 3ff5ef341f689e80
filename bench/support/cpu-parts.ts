/**
 * Two parts of the warm hot path measured on their own, as CPU time per call (the over-HTTP rows
 * cannot resolve a 10% change of one part on a shared machine; these can):
 * - the execution records' group commit (src/executor/records.ts) on a file database, one record
 *   per commit and ten per commit (what 32 connections give);
 * - an isolate host serving the add function through the driver, one call in flight and 32 in
 *   flight: the host process's CPU (all its threads, from /proc) per call.
 * Each part runs in the bench process; its temp dirs and host are removed at the end.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IsolateDriver } from '../../sandboxes/isolate/driver.ts';
import type { Artifact } from '../../src/core/driver.ts';
import { type ExecutionRecord, usageOf } from '../../src/core/execution.ts';
import { LogBudget } from '../../src/core/log-budget.ts';
import { manifestSchema } from '../../src/core/manifest.ts';
import { ExecutionStore } from '../../src/executor/records.ts';
import { Database } from '../../src/store/database.ts';
import { BENCH_LIMITS, checkJs, JS_SOURCE, jsInput } from './functions.ts';
import { formatTable } from './stats.ts';

export interface CpuPartRow {
  name: string;
  n: number;
  /** CPU microseconds per call of the process named in `process`. */
  cpuUs: number;
  wallUs: number;
  process: string;
}

const cpuNow = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};

/** utime + stime of `pid` in microseconds (USER_HZ 100). */
function procCpuUs(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

function recordOf(i: number): ExecutionRecord {
  const at = new Date().toISOString();
  return {
    id: randomUUID(),
    function: { name: 'add', version: 1, digest: 'd'.repeat(64) },
    status: 'succeeded',
    result: { doubled: i * 2 },
    logs: '',
    usage: usageOf({ wallMs: 0.4, cpuMs: 0.05 }),
    tier: 'isolate',
    priority: 0,
    source: 'http',
    timings: { queuedMs: 0, enqueuedAt: at, startedAt: at, finishedAt: at },
  };
}

async function groupCommit(batch: number, n: number): Promise<CpuPartRow> {
  const dir = mkdtempSync(join(tmpdir(), 'strata-bench-records-'));
  const db = new Database(join(dir, 'strata.db'));
  try {
    const store = new ExecutionStore(db, 100_000);
    const round = () => Promise.all(Array.from({ length: batch }, (_, k) => store.saveSoon(recordOf(k))));
    for (let i = 0; i < 200; i += batch) await round();
    const cpu0 = cpuNow();
    const wall0 = performance.now();
    for (let i = 0; i < n; i += batch) await round();
    return {
      name: `record group commit, ${batch === 1 ? 'one record' : `${batch} records`} per commit`,
      n,
      cpuUs: (cpuNow() - cpu0) / n,
      wallUs: ((performance.now() - wall0) * 1000) / n,
      process: 'bench process',
    };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function isolateHost(
  inFlight: number,
  n: number,
  driver: IsolateDriver,
  prepared: Awaited<ReturnType<IsolateDriver['prepare']>>,
) {
  const limits = BENCH_LIMITS;
  let next = 0;
  const call = async () => {
    const i = next++;
    const input = jsInput(i);
    const out = await driver.run(
      prepared,
      { id: `cpu-parts-${i}`, input, inputJson: JSON.stringify(input), priority: 0 },
      {
        deadline: Date.now() + limits.timeoutMs,
        limits,
        signal: new AbortController().signal,
        logs: new LogBudget(4096),
      },
    );
    if (out.status !== 'succeeded') throw new Error(`isolate host call ${i}: ${out.status} ${out.error?.message}`);
    checkJs(out.result, i);
  };
  const loop = async (calls: number) => {
    for (let k = 0; k < calls; k++) await call();
  };
  const pid = driver.pool.pids()[0];
  if (pid === undefined) throw new Error('the isolate host is not running');
  await Promise.all(Array.from({ length: inFlight }, () => loop(Math.ceil(500 / inFlight))));
  const host0 = procCpuUs(pid);
  const wall0 = performance.now();
  const each = Math.ceil(n / inFlight);
  await Promise.all(Array.from({ length: inFlight }, () => loop(each)));
  const calls = each * inFlight;
  return {
    name: `isolate host, driver.run, ${inFlight} call${inFlight === 1 ? '' : 's'} in flight`,
    n: calls,
    cpuUs: (procCpuUs(pid) - host0) / calls,
    wallUs: ((performance.now() - wall0) * 1000) / calls,
    process: 'isolate host',
  };
}

export async function runCpuParts(options: { quick: boolean }): Promise<CpuPartRow[]> {
  const n = options.quick ? 2000 : 20_000;
  const rows = [await groupCommit(1, n / 4), await groupCommit(10, n)];
  const driver = new IsolateDriver({ hosts: 1, maxWarm: 64, killAfterMs: 500 });
  await driver.start();
  try {
    const manifest = manifestSchema.parse({ name: 'cpu-parts', runtime: 'js', trust: 'trusted', source: JS_SOURCE });
    const artifact: Artifact = {
      digest: 'cpu-parts',
      name: 'cpu-parts',
      version: 1,
      manifest,
      code: new TextEncoder().encode(JS_SOURCE),
    };
    const prepared = await driver.prepare(artifact);
    rows.push(await isolateHost(1, n / 2, driver, prepared), await isolateHost(32, n, driver, prepared));
  } finally {
    await driver.dispose();
  }
  return rows;
}

export function formatCpuParts(rows: CpuPartRow[]): string {
  return formatTable(
    ['part', 'n', 'CPU µs per call', 'of process', 'wall µs per call'],
    rows.map((r) => [r.name, String(r.n), r.cpuUs.toFixed(1), r.process, r.wallUs.toFixed(1)]),
    [0, 3],
  );
}
