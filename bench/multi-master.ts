/**
 * The Master on its shared store (PostgreSQL) against the embedded node:sqlite one, over loopback
 * gRPC with no-op executors (what is measured is the Masters, their store and the link):
 *
 *   node bench/multi-master.ts          STRATA_BENCH_N=2000 node bench/multi-master.ts
 *
 * Rows (one run, side by side): submit -> stored result p50, sequential, on node:sqlite and on
 * PostgreSQL; tasks/s through one Master (two workers on it) and through two Masters on one
 * database (one worker each, half the tasks submitted to each). Needs PostgreSQL 15 installed
 * (a throwaway cluster in a temp dir); without it the PostgreSQL rows say SKIPPED and why.
 */
import {
  removeTempDirs,
  startMaster,
  startWorker,
  type TestMaster,
  type TestWorker,
} from '../test/link/support/harness.ts';
import { NOOP } from '../test/master/support/multi-master.ts';
import { postgresRequirement, startCluster } from '../test/master/support/postgres.ts';

interface Row {
  name: string;
  n: number;
  value: number;
  unit: string;
}

const wait = async (check: () => Promise<boolean> | boolean) => {
  while (!(await check())) await new Promise((r) => setTimeout(r, 5));
};

async function latency(name: string, n: number, overrides: Record<string, unknown>): Promise<Row> {
  const m = await startMaster({ overrides });
  await m.catalogue.deploy(NOOP);
  const w = startWorker({ masters: [m.address], id: 'lat', concurrency: 4 });
  try {
    await wait(() => m.server.core.workers.get('lat')?.connected === true);
    const times: number[] = [];
    for (let i = 0; i < n + 20; i++) {
      const t = performance.now();
      const done = new Promise<void>((resolve) => {
        const on = () => {
          m.server.core.off('final', on);
          resolve();
        };
        m.server.core.on('final', on);
      });
      await m.server.core.submitDurable([{ function: NOOP.name, input: {} }]);
      await done;
      if (i >= 20) times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    return { name, n, value: times[Math.floor(times.length / 2)] as number, unit: 'ms p50' };
  } finally {
    await w.stop();
    await m.stop();
  }
}

async function throughput(name: string, n: number, url: string, masters: 1 | 2): Promise<Row> {
  const ms: TestMaster[] = [];
  const ws: TestWorker[] = [];
  try {
    for (let i = 0; i < masters; i++) {
      const m = await startMaster({ overrides: { 'master.databaseUrl': url, 'master.id': `m${i}` } });
      await m.catalogue.deploy(NOOP);
      ms.push(m);
    }
    for (let i = 0; i < 2; i++)
      ws.push(startWorker({ masters: [(ms[i % masters] as TestMaster).address], id: `tp${i}`, concurrency: 8 }));
    await wait(() => ws.every((w) => w.link.stats().masterId !== null));
    const backend = (ms[0] as TestMaster).server.backend;
    if (!backend) throw new Error('not on the shared store');
    const before = await backend.countResults();
    const t = performance.now();
    await Promise.all(
      ms.map((m) =>
        m.server.core.submitDurable(Array.from({ length: n / masters }, () => ({ function: NOOP.name, input: {} }))),
      ),
    );
    await wait(async () => (await backend.countResults()) - before >= n);
    return { name, n, value: n / ((performance.now() - t) / 1000), unit: 'tasks/s' };
  } finally {
    for (const w of ws) await w.stop();
    for (const m of ms) await m.stop();
  }
}

export async function run(options: { n?: number } = {}): Promise<Row[]> {
  const n = options.n ?? Number(process.env.STRATA_BENCH_N ?? 1000);
  const rows: Row[] = [await latency('submit -> stored result, node:sqlite (sequential)', Math.min(n, 300), {})];
  const pg = postgresRequirement();
  if (!pg.ok) {
    rows.push({ name: `PostgreSQL rows - SKIPPED: ${pg.reason}`, n: 0, value: Number.NaN, unit: '' });
    return rows;
  }
  const cluster = await startCluster();
  try {
    const url = await cluster.createDatabase('strata_bench');
    rows.push(
      await latency('submit -> stored result, PostgreSQL (sequential)', Math.min(n, 300), {
        'master.databaseUrl': url,
      }),
    );
    rows.push(await throughput('tasks/s, one Master on PostgreSQL (2 workers x 8)', n, url, 1));
    rows.push(await throughput('tasks/s, two Masters on one PostgreSQL (1 worker x 8 each)', n, url, 2));
  } finally {
    cluster.stop();
    removeTempDirs();
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`)
  for (const r of await run())
    console.log(`${(Math.round(r.value * 100) / 100).toString().padStart(10)} ${r.unit.padEnd(8)} n=${r.n}  ${r.name}`);
