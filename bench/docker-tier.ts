/**
 * The docker tier's warm pool against the usual ways of running a function in a container, side
 * by side in one run, all with the same JS function on the same runner image (NetworkMode none):
 *
 *   - warm pool:      driver.run() on a resident-runner container (frames over attached stdio)
 *   - docker exec:    `docker exec -i <warm container> node -e <function>` per call
 *   - docker run:     `docker run --rm -i --network none <image> node -e <function>` per call
 *
 *   node bench/docker-tier.ts            STRATA_BENCH_N=500 node bench/docker-tier.ts
 *
 * Target (issue 5): warm p50 <= 10 ms and >= 30x faster than `docker run`. The lead adds the
 * over-HTTP row when wiring the gateway.
 */
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { createDockerDriver } from '../sandboxes/docker/driver.ts';
import { LABEL_WORKER } from '../sandboxes/docker/hardening.ts';
import { configSchema } from '../src/config/schema.ts';
import { LogBudget } from '../src/core/log-budget.ts';
import { manifestSchema } from '../src/core/manifest.ts';
import { formatTable } from './support/stats.ts';

const exec = promisify(execFile);

export interface DockerBenchRow {
  name: string;
  n: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  /** How many times slower than the warm pool at p50. */
  vsWarm: number;
}

const SOURCE = 'export default (input) => ({ doubled: input.n * 2 })';
// The same function for exec/run: read stdin, call, print.
const SCRIPT =
  'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const input=JSON.parse(s);process.stdout.write(JSON.stringify({doubled:input.n*2}))})';

function stats(name: string, samples: number[]): Omit<DockerBenchRow, 'vsWarm'> {
  const sorted = [...samples].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
  return {
    name,
    n: samples.length,
    meanMs: samples.reduce((a, b) => a + b, 0) / samples.length,
    p50Ms: q(0.5),
    p99Ms: q(0.99),
  };
}

function runWithInput(cmd: string, args: string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { encoding: 'utf8' }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    );
    child.stdin?.end(input);
  });
}

export async function run(options: { n?: number; coldN?: number } = {}): Promise<DockerBenchRow[]> {
  const n = options.n ?? Number(process.env.STRATA_BENCH_N ?? 300);
  const coldN = options.coldN ?? Math.max(5, Math.min(30, Math.round(n / 20)));
  const workerId = `bench-${randomUUID().slice(0, 8)}`;
  const settings = configSchema.parse({ docker: { healthInterval: 3_600_000, reapInterval: 3_600_000 } }).docker;
  const driver = createDockerDriver({ settings, workerId });
  let execContainer = '';
  try {
    await driver.start();
    if (!driver.health().available) throw new Error(driver.health().reason);
    await driver.imagesReady();
    const image = driver.runnerImages().js;
    if (!image) throw new Error('the JS runner image is not available; run `strata images build`');
    const manifest = manifestSchema.parse({ name: 'bench-double', runtime: 'js', trust: 'untrusted', source: SOURCE });
    const prepared = await driver.prepare({
      digest: createHash('sha256').update(SOURCE).digest('hex'),
      name: manifest.name,
      version: 1,
      manifest,
      code: Buffer.from(SOURCE),
    });
    const limits = {
      timeoutMs: 10_000,
      memoryMb: 128,
      logBytes: 65_536,
      resultBytes: 1_048_576,
      pids: 64,
      tmpMb: 64,
      errorBytes: 16_384,
    };
    const invokeWarm = async (i: number) => {
      const input = { n: i };
      const outcome = await driver.run(
        prepared,
        { id: randomUUID(), input, inputJson: JSON.stringify(input), priority: 0 },
        {
          deadline: Date.now() + limits.timeoutMs,
          limits,
          signal: new AbortController().signal,
          logs: new LogBudget(limits.logBytes),
        },
      );
      if (outcome.status !== 'succeeded') throw new Error(`warm invoke ${outcome.status}: ${outcome.error?.message}`);
    };
    for (let i = 0; i < 20; i++) await invokeWarm(i);
    const warm: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await invokeWarm(i);
      warm.push(performance.now() - t);
    }

    // The same hardening flags for the CLI paths (they matter for start-up cost).
    const hardening = [
      '--network',
      'none',
      '--user',
      '65534:65534',
      '--cap-drop',
      'ALL',
      '--security-opt',
      'no-new-privileges',
      '--read-only',
      '--label',
      `${LABEL_WORKER}=${workerId}`,
    ];
    execContainer = (
      await exec('docker', [
        'run',
        '-d',
        ...hardening,
        image,
        '/usr/local/bin/tini',
        '--',
        '/usr/local/bin/node',
        '-e',
        'setInterval(() => {}, 1 << 30)',
      ])
    ).stdout.trim();
    const execSamples: number[] = [];
    for (let i = 0; i < coldN * 2; i++) {
      const t = performance.now();
      const out = await runWithInput(
        'docker',
        ['exec', '-i', execContainer, '/usr/local/bin/node', '-e', SCRIPT],
        JSON.stringify({ n: i }),
      );
      execSamples.push(performance.now() - t);
      if (JSON.parse(out).doubled !== i * 2) throw new Error(`docker exec gave ${out}`);
    }
    const runSamples: number[] = [];
    for (let i = 0; i < coldN; i++) {
      const t = performance.now();
      const out = await runWithInput(
        'docker',
        ['run', '--rm', '-i', ...hardening, image, '/usr/local/bin/node', '-e', SCRIPT],
        JSON.stringify({ n: i }),
      );
      runSamples.push(performance.now() - t);
      if (JSON.parse(out).doubled !== i * 2) throw new Error(`docker run gave ${out}`);
    }
    const rows = [
      stats('warm pool (driver.run)', warm),
      stats('docker exec -i per call', execSamples),
      stats('docker run --rm per call', runSamples),
    ];
    const base = rows[0]?.p50Ms as number;
    return rows.map((r) => ({ ...r, vsWarm: r.p50Ms / base }));
  } finally {
    if (execContainer) await exec('docker', ['rm', '-f', execContainer]).catch(() => {});
    await driver.dispose();
  }
}

export function formatRows(rows: DockerBenchRow[]): string {
  const head = ['case', 'n', 'mean ms', 'p50 ms', 'p99 ms', 'x warm (p50)'];
  const body = rows.map((r) => [
    r.name,
    String(r.n),
    r.meanMs.toFixed(2),
    r.p50Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    r.vsWarm.toFixed(1),
  ]);
  return formatTable(head, body);
}

if (import.meta.main) {
  const rows = await run();
  console.log('docker tier: one JS invocation, warm pool vs docker exec vs docker run');
  console.log(formatRows(rows));
  const warm = rows[0] as DockerBenchRow;
  const dockerRun = rows[2] as DockerBenchRow;
  console.log(
    `target: warm p50 <= 10 ms (${warm.p50Ms.toFixed(2)} ms: ${warm.p50Ms <= 10 ? 'met' : 'MISSED'}), >= 30x faster than docker run (${dockerRun.vsWarm.toFixed(0)}x: ${dockerRun.vsWarm >= 30 ? 'met' : 'MISSED'})`,
  );
}
