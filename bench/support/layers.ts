/**
 * Where the latency of one warm isolate invocation goes, layer by layer, in one process: the
 * isolate driver alone (IPC to a host and back), + the executor (admission, record, baseline),
 * + the Hono app (app.request, no socket), + a real loopback HTTP request. Each row adds one
 * layer, so the differences between rows are each layer's cost. A worker is started in this
 * process (listening on 127.0.0.1, port 0) with its own cgroup parent and a temp data dir.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startWorker } from '../../src/cli/worker.ts';
import { loadConfig } from '../../src/config/index.ts';
import { LogBudget } from '../../src/core/log-budget.ts';
import { removeCgroupParents } from '../../src/resources/cgroup/remove-parents.ts';
import { BENCH_LIMITS, checkJs, JS_SOURCE, jsInput } from './functions.ts';
import { type Summary, summarize, timeSequential } from './stats.ts';

export interface LayerRow extends Summary {
  name: string;
}

const post = (agent: Agent, url: URL, path: string, body: string) =>
  new Promise<string>((resolve, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => resolve(text));
      },
    );
    req.on('error', reject);
    req.end(body);
  });

export async function runLayers(options: { n: number; warmup: number }): Promise<LayerRow[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-bench-layers-'));
  chmodSync(dataDir, 0o755);
  const config = loadConfig({
    env: { STRATA_RESOURCES_CGROUP_PARENT: `strata-bench-layers-${process.pid}` },
    overrides: { dataDir, host: '127.0.0.1', port: 0 },
  });
  const worker = await startWorker(config, { logger: pino({ level: 'warn' }) });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const rows: LayerRow[] = [];
  try {
    const deployed = await worker.app.request('/v1/functions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'layers', runtime: 'js', trust: 'trusted', source: JS_SOURCE }),
    });
    if (deployed.status >= 300) throw new Error(`deploy: ${deployed.status} ${await deployed.text()}`);
    const driver = worker.drivers.find((d) => d.tier === 'isolate');
    if (!driver?.health().available) throw new Error(`isolate tier unavailable: ${driver?.health().reason}`);
    const artifact = worker.registry.artifact(worker.registry.get('layers'));
    const prepared = await driver.prepare(artifact);
    const limits = BENCH_LIMITS;
    const layer = async (name: string, fn: (i: number) => Promise<unknown>) => {
      const samples = await timeSequential(async (i) => checkJs(await fn(i), i), options.n, options.warmup);
      rows.push({ name, ...summarize(samples) });
    };
    await layer('driver.run (IPC to an isolate host)', async (i) => {
      const input = jsInput(i);
      const out = await driver.run(
        prepared,
        { id: `layers-${i}`, input, inputJson: JSON.stringify(input), priority: 0 },
        {
          deadline: Date.now() + limits.timeoutMs,
          limits,
          signal: new AbortController().signal,
          logs: new LogBudget(limits.logBytes),
        },
      );
      return out.result;
    });
    await layer('+ executor (registry, admission, record, baseline)', async (i) => {
      const input = jsInput(i);
      const record = await worker.executor.submit({
        artifact: worker.registry.artifact(worker.registry.get('layers')),
        input,
        inputJson: JSON.stringify(input),
        source: 'http',
      }).done;
      return record.result;
    });
    await layer('+ Hono app (app.request, no socket)', async (i) => {
      const res = await worker.app.request('/v1/functions/layers/invoke', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(jsInput(i)),
      });
      return ((await res.json()) as { result?: unknown }).result;
    });
    const url = new URL(worker.url);
    await layer('+ HTTP over loopback (client in the same process)', async (i) => {
      const text = await post(agent, url, '/v1/functions/layers/invoke', JSON.stringify(jsInput(i)));
      return (JSON.parse(text) as { result?: unknown }).result;
    });
  } finally {
    agent.destroy();
    await worker.close();
    rmSync(dataDir, { recursive: true, force: true });
    removeCgroupParents(`strata-bench-layers-${process.pid}`);
  }
  return rows;
}
