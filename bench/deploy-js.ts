/**
 * Deploying standard-trust JS under the default policy (compiled into a component for the WASM
 * tier), over HTTP through a real worker:
 *   1. an engine warm-up deploy (another small function): builds the JS engines unless the
 *      engine cache already has them (once per engine version, not per function);
 *   2. the first deploy of the bench's add function on a fresh data dir;
 *   3. after a worker restart on the same data dir, the same code deployed again (under another
 *      name, so the registry cannot answer "same as" without preparing): it must come from the
 *      compile cache (`compile.cached`).
 * Each deploy is timed at the client, quotes the answer's `compile` ({cached, ms, steps}) and is
 * followed by one invocation whose answer is checked. The engines are cached in
 * bench/results/engine-cache/ (git-ignored), so they are built once per machine, not per run.
 *
 *   node bench/deploy-js.ts
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkJs, JS_SOURCE } from './support/functions.ts';
import { HttpClient, invoke } from './support/http-client.ts';
import { formatTable, ms } from './support/stats.ts';
import { startWorkerProcess } from './support/worker-process.ts';

interface Compile {
  cached: boolean;
  ms: number;
  steps: Record<string, number>;
}

export interface DeployRow {
  key: 'deploy-js-engines' | 'deploy-js-first' | 'deploy-js-restart';
  name: string;
  /** Wall time of the deploy request at the client. */
  ms: number;
  tier: string;
  compile?: Compile;
}

export interface DeployJsResult {
  rows: DeployRow[];
  skips: { name: string; reason: string }[];
}

const ENGINE_WARMUP_SOURCE = 'export default (input) => ({ tripled: input.n * 3 })';
const engineCacheDir = fileURLToPath(new URL('./results/engine-cache/', import.meta.url));

export async function run(options: { progress?: (line: string) => void } = {}): Promise<DeployJsResult> {
  const progress = options.progress ?? (() => {});
  const result: DeployJsResult = { rows: [], skips: [] };
  mkdirSync(engineCacheDir, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-bench-deploy-'));
  const env = { STRATA_WASM_ENGINE_CACHE_DIR: engineCacheDir };
  try {
    const timedDeploy = async (
      client: HttpClient,
      key: DeployRow['key'],
      label: string,
      fn: string,
      source: string,
    ) => {
      progress(`deploy-js: ${label}`);
      const started = performance.now();
      const answer = await client.json<{ tier?: string; compile?: Compile }>('POST', '/v1/functions', {
        name: fn,
        runtime: 'js',
        trust: 'standard',
        source,
      });
      const row: DeployRow = {
        key,
        name: label,
        ms: performance.now() - started,
        tier: answer.tier ?? '',
        ...(answer.compile ? { compile: answer.compile } : {}),
      };
      result.rows.push(row);
      return row;
    };
    progress('deploy-js: starting a worker (default policy) ...');
    let worker = await startWorkerProcess({ dataDir, env });
    let client = new HttpClient(worker.url);
    try {
      const health = await client.json<{ tiers: Record<string, { available: boolean; reason?: string }> }>(
        'GET',
        '/healthz',
      );
      if (!health.tiers.wasm?.available) {
        result.skips.push({
          name: 'deploy standard JS',
          reason: `wasm tier unavailable: ${health.tiers.wasm?.reason ?? 'not built into this worker'}`,
        });
        return result;
      }
      await timedDeploy(
        client,
        'deploy-js-engines',
        'engine warm-up deploy (engines built unless cached)',
        'js-engines',
        ENGINE_WARMUP_SOURCE,
      );
      const first = await timedDeploy(
        client,
        'deploy-js-first',
        'first deploy of a small standard JS function',
        'js-standard',
        JS_SOURCE,
      );
      if (first.tier !== 'wasm') throw new Error(`standard JS was placed in ${first.tier}, not wasm`);
      checkJs((await invoke(client, 'js-standard', { n: 4 })).result, 4);
    } finally {
      client.close();
      await worker.stop();
    }
    progress('deploy-js: restarting the worker on the same data dir');
    worker = await startWorkerProcess({ dataDir, env });
    client = new HttpClient(worker.url);
    try {
      const again = await timedDeploy(
        client,
        'deploy-js-restart',
        'same code after a worker restart',
        'js-standard-again',
        JS_SOURCE,
      );
      if (!again.compile?.cached)
        throw new Error(`the redeploy after a restart compiled again: ${JSON.stringify(again.compile)}`);
      checkJs((await invoke(client, 'js-standard-again', { n: 5 })).result, 5);
      checkJs((await invoke(client, 'js-standard', { n: 6 })).result, 6);
    } finally {
      client.close();
      await worker.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  return result;
}

const compileText = (c: Compile | undefined): string => {
  if (!c) return '(no compile field)';
  const steps = Object.entries(c.steps).map(([k, v]) => `${k} ${Math.round(v)}`);
  return `${c.cached ? 'cached' : 'compiled'}, ${Math.round(c.ms)} ms${steps.length ? `: ${steps.join(', ')}` : ''}`;
};

export function formatDeployRows(rows: DeployRow[]): string {
  return formatTable(
    ['deploy', 'tier', 'ms', 'compile (from the deploy answer, ms)'],
    rows.map((r) => [r.name, r.tier, ms(r.ms, 0), compileText(r.compile)]),
    [0, 1, 3],
  );
}

if (import.meta.main) {
  const result = await run({ progress: (l) => console.error(l) });
  console.log(formatDeployRows(result.rows));
  for (const s of result.skips) console.log(`skipped: ${s.name}: ${s.reason}`);
}
