/**
 * Process-tier invoke latency (bash and python3 hello) beside a plain spawn of the same
 * interpreter, in one run: the cost of the cgroup + bubblewrap set-up and of the fresh
 * disk-backed /tmp (bash also with a tmpfs /tmp, and with network granted: the egress listener
 * opened in the sandbox's namespace).
 *
 *   node bench/process-tier.ts            (root, cgroups and bubblewrap needed)
 *   STRATA_BENCH_N=50 node bench/process-tier.ts
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProcessDriver } from '../sandboxes/process/driver.ts';
import type { Artifact } from '../src/core/driver.ts';
import { LogBudget } from '../src/core/log-budget.ts';
import { manifestSchema } from '../src/core/manifest.ts';
import { createCgroupManager } from '../src/resources/cgroup/manager.ts';
import { formatTable } from './support/stats.ts';

export interface BenchRow {
  name: string;
  n: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  /** Mean of this row over the plain spawn of the same interpreter (1 for the plain rows). */
  ratio: number;
}

const BASH = 'read -r x; echo "{\\"hello\\": $x}"';
const CASES = [
  { label: 'bash', interpreter: 'bash' as const, path: '/bin/bash', source: BASH },
  { label: 'bash (tmpfs /tmp)', interpreter: 'bash' as const, path: '/bin/bash', source: BASH, tmpfs: true },
  { label: 'bash (network granted)', interpreter: 'bash' as const, path: '/bin/bash', source: BASH, network: true },
  {
    label: 'python3',
    interpreter: 'python3' as const,
    path: '/usr/bin/python3',
    source: 'import json,sys\nprint(json.dumps({"hello": json.load(sys.stdin)}))',
  },
];

const stats = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
  return { meanMs: s.reduce((a, b) => a + b, 0) / s.length, p50Ms: at(0.5), p95Ms: at(0.95) };
};

function plainRun(interpreter: string, script: string, input: string): Promise<number> {
  const t = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(interpreter, [script], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdout.resume();
    child.stderr.resume();
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(performance.now() - t) : reject(new Error(`exit ${code}`))));
    child.stdin.end(input);
  });
}

export async function run(options: { n?: number } = {}): Promise<BenchRow[]> {
  const n = options.n ?? Number(process.env.STRATA_BENCH_N ?? 30);
  const cgroups = createCgroupManager({ parent: `strata-bench-${process.pid}` });
  await cgroups.start();
  const driver = createProcessDriver({ cgroups });
  const tmpfsDriver = createProcessDriver({ cgroups, settings: { scratch: 'tmpfs' } });
  await driver.start();
  await tmpfsDriver.start();
  const dir = mkdtempSync(join(tmpdir(), 'strata-bench-'));
  const rows: BenchRow[] = [];
  try {
    if (!driver.health().available) throw new Error(`process tier unavailable: ${driver.health().reason}`);
    for (const c of CASES) {
      if (!existsSync(c.path)) continue;
      const d = c.tmpfs ? tmpfsDriver : driver;
      const manifest = manifestSchema.parse({
        name: `bench-${c.interpreter}`,
        runtime: 'script',
        interpreter: c.interpreter,
        source: c.source,
        permissions: { network: c.network === true },
      });
      const artifact: Artifact = {
        digest: createHash('sha256').update(`${c.label}\n${c.source}`).digest('hex'),
        name: manifest.name,
        version: 1,
        manifest,
        code: new TextEncoder().encode(c.source),
      };
      const prepared = await d.prepare(artifact);
      const script = join(dir, `${c.interpreter}-script`);
      writeFileSync(script, c.source);
      const sandboxed: number[] = [];
      const plain: number[] = [];
      for (let i = 0; i < n + 2; i++) {
        // Interleaved, so drift on a shared machine hits both sides alike; 2 warm-up rounds.
        const p = await plainRun(c.path, script, '1');
        const t = performance.now();
        const out = await d.run(
          prepared,
          { id: `bench-${i}`, input: 1, inputJson: '1', priority: 0 },
          {
            deadline: Date.now() + 10_000,
            limits: {
              timeoutMs: 10_000,
              memoryMb: 128,
              logBytes: 4096,
              resultBytes: 65536,
              pids: 64,
              tmpMb: 64,
              errorBytes: 16_384,
            },
            signal: new AbortController().signal,
            logs: new LogBudget(4096),
          },
        );
        const s = performance.now() - t;
        if (out.status !== 'succeeded') throw new Error(`${c.interpreter}: ${out.status} ${out.error?.message}`);
        if (i >= 2) {
          plain.push(p);
          sandboxed.push(s);
        }
      }
      const ps = stats(plain);
      const ss = stats(sandboxed);
      if (!c.tmpfs && !c.network) rows.push({ name: `${c.interpreter} plain spawn`, n, ...ps, ratio: 1 });
      rows.push({ name: `${c.label} process tier`, n, ...ss, ratio: ss.meanMs / ps.meanMs });
    }
  } finally {
    await driver.dispose();
    await tmpfsDriver.dispose();
    await cgroups.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

export function formatRows(rows: BenchRow[]): string {
  const head = ['case', 'n', 'mean ms', 'p50 ms', 'p95 ms', 'x plain'];
  const body = rows.map((r) => [
    r.name,
    String(r.n),
    r.meanMs.toFixed(2),
    r.p50Ms.toFixed(2),
    r.p95Ms.toFixed(2),
    r.ratio.toFixed(2),
  ]);
  return formatTable(head, body);
}

if (import.meta.main) {
  const rows = await run();
  console.log('process tier: invoke latency vs a plain spawn of the same interpreter');
  console.log(formatRows(rows));
}
