/**
 * Plugin overhead on the invocation path, in-process (no HTTP, an instant in-process tier), three
 * executors side by side in one run, measured in interleaved rounds:
 *   - no plugin host at all;
 *   - the plugin host with no plugin loaded (the "costs nothing measurable");
 *   - the plugin host with one pre and one post plugin, each in its own worker thread (the issue's
 *     "≤ 0.1 ms p50" target; the delta and ratio against the first row are in the same run).
 *
 * and the row "hot add to loaded": a plugin folder written into plugins.dir of a host with its
 * watcher at the default settings (plugins.watch 500 ms, fs.watch on), until the host says the
 * plugin is `loaded` (the "within 2 s").
 *
 *   node bench/plugins.ts [--quick]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { loadConfig } from '../src/config/load.ts';
import type { Artifact, SandboxDriver } from '../src/core/driver.ts';
import { usageOf } from '../src/core/execution.ts';
import { manifestSchema } from '../src/core/manifest.ts';
import { DriverRegistry } from '../src/executor/driver-registry.ts';
import { Executor } from '../src/executor/executor.ts';
import { ExecutionStore } from '../src/executor/records.ts';
import { AlertCenter } from '../src/plugins/alerts.ts';
import { PluginHost } from '../src/plugins/host.ts';
import { PluginMetrics } from '../src/plugins/metrics.ts';
import { PluginWatcher } from '../src/plugins/watcher.ts';
import { Database } from '../src/store/database.ts';
import { formatTable, ms, summarize } from './support/stats.ts';

export interface PluginBenchRow {
  key: string;
  name: string;
  n: number;
  p50Ms: number;
  p99Ms: number;
  /** p50 minus the no-host row's p50, in ms. */
  deltaP50Ms: number;
  ratio: number;
}

const instant: SandboxDriver = {
  tier: 'isolate',
  capabilities: {
    runtimes: ['js'],
    measures: ['wallMs'],
    pause: false,
    enforces: [],
    network: 'none',
    ownProcesses: false,
  },
  start: async () => {},
  health: () => ({ available: true }),
  prepare: async () => ({}),
  run: async (_p, inv) => ({ status: 'succeeded', result: inv.input, usage: usageOf({ wallMs: 0 }) }),
  dispose: async () => {},
};

export async function run(options: { n?: number } = {}): Promise<PluginBenchRow[]> {
  const n = options.n ?? 2000;
  const scratch = mkdtempSync(join(tmpdir(), 'strata-bench-plugins-'));
  const withPlugins = join(scratch, 'with');
  const empty = join(scratch, 'empty');
  mkdirSync(empty);
  for (const [name, kind, body] of [
    ['bench-pre', 'pre', 'pre(inv) { if (inv.input && inv.input.no) return { reject: "no" }; }'],
    ['bench-post', 'post', 'post(record) { return { annotations: { seen: true } }; }'],
  ] as const) {
    mkdirSync(join(withPlugins, name), { recursive: true });
    writeFileSync(
      join(withPlugins, name, 'plugin.json'),
      JSON.stringify({ name, version: '1.0.0', kind, main: 'index.mjs', strata: '*' }),
    );
    writeFileSync(join(withPlugins, name, 'index.mjs'), `export default () => ({ ${body} });`);
  }
  const logger = pino({ level: 'silent' });
  const make = async (dir: string | undefined) => {
    const config = loadConfig({
      env: {},
      overrides: { 'executor.concurrency': 4, 'plugins.dir': dir ?? empty, 'executor.hookBudget': '5s' },
    });
    const db = new Database(':memory:');
    const drivers = new DriverRegistry([instant]);
    let host: PluginHost | undefined;
    if (dir !== undefined) {
      host = new PluginHost({
        config,
        dataDir: scratch,
        hostVersion: '0.1.0',
        logger,
        drivers,
        alerts: new AlertCenter({ keep: 10, webhookTimeoutMs: 1000, logger }),
        metrics: new PluginMetrics(new Registry()),
      });
      await host.sync();
    }
    const executor = new Executor({
      config,
      drivers,
      records: new ExecutionStore(db, 100_000),
      logger,
      ...(host ? { hooks: host } : {}),
    });
    return { executor, host, db };
  };
  const manifest = manifestSchema.parse({ name: 'bench', runtime: 'js', trust: 'trusted', source: 'x' });
  const artifact: Artifact = { digest: 'bench', name: 'bench', version: 1, manifest, code: new Uint8Array() };
  const variants = [
    { key: 'none', name: 'no plugin host', env: await make(undefined), samples: [] as number[] },
    { key: 'empty', name: 'plugin host, no plugin loaded', env: await make(empty), samples: [] as number[] },
    {
      key: 'pre+post',
      name: 'one pre + one post plugin (threads)',
      env: await make(withPlugins),
      samples: [] as number[],
    },
  ];
  const once = async (executor: Executor) => {
    const record = await executor.submit({ artifact, input: { x: 1 }, source: 'http' }).done;
    if (record.status !== 'succeeded') throw new Error(`bench invocation ${record.status}: ${record.error?.message}`);
  };
  for (const v of variants) for (let i = 0; i < 200; i++) await once(v.env.executor);
  // Interleaved rounds, so load on the machine hits every variant alike.
  const round = 50;
  for (let done = 0; done < n; done += round) {
    for (const v of variants) {
      for (let i = 0; i < round; i++) {
        const t = performance.now();
        await once(v.env.executor);
        v.samples.push(performance.now() - t);
      }
    }
  }
  const base = summarize(variants[0]?.samples ?? []).p50Ms;
  const rows = variants.map((v) => {
    const s = summarize(v.samples);
    return {
      key: v.key,
      name: v.name,
      n: s.n,
      p50Ms: s.p50Ms,
      p99Ms: s.p99Ms,
      deltaP50Ms: s.p50Ms - base,
      ratio: s.p50Ms / base,
    };
  });
  for (const v of variants) {
    await v.env.executor.shutdown(0);
    await v.env.host?.close();
    v.env.db.close();
  }
  rmSync(scratch, { recursive: true, force: true });
  return rows;
}

export interface HotAddRow {
  key: 'hot-add';
  name: string;
  n: number;
  p50Ms: number;
  maxMs: number;
}

/** Write a new plugin folder `n` times into a watched plugins.dir; time until each is `loaded`. */
export async function hotAdd(options: { n?: number } = {}): Promise<HotAddRow> {
  const n = options.n ?? 5;
  const dir = mkdtempSync(join(tmpdir(), 'strata-bench-hot-'));
  const logger = pino({ level: 'silent' });
  const config = loadConfig({ env: {}, overrides: { 'plugins.dir': dir } });
  const host = new PluginHost({
    config,
    dataDir: dir,
    hostVersion: '0.1.0',
    logger,
    drivers: new DriverRegistry([]),
    alerts: new AlertCenter({ keep: 10, webhookTimeoutMs: 1000, logger }),
    metrics: new PluginMetrics(new Registry()),
  });
  await host.sync();
  const watcher = new PluginWatcher(host, { intervalMs: config.plugins.watch, logger });
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const name = `hot-${i}`;
    const loaded = new Promise<void>((resolve) => {
      const off = host.onState((info) => {
        if (info.name === name && info.state === 'loaded') {
          off();
          resolve();
        }
      });
    });
    const started = performance.now();
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'index.mjs'), 'export default () => ({ pre() {} });');
    writeFileSync(
      join(dir, name, 'plugin.json'),
      JSON.stringify({ name, version: '1.0.0', kind: 'pre', main: 'index.mjs', strata: '*' }),
    );
    // The watcher and plugin threads are unref'd (a server's listener keeps it alive); this bounds the wait.
    let guard: NodeJS.Timeout | undefined;
    await Promise.race([
      loaded,
      new Promise((_, reject) => {
        guard = setTimeout(() => reject(new Error(`${name} did not load within 30 s`)), 30_000);
      }),
    ]);
    clearTimeout(guard);
    times.push(performance.now() - started);
  }
  watcher.stop();
  await host.close();
  rmSync(dir, { recursive: true, force: true });
  const s = summarize(times);
  return {
    key: 'hot-add',
    name: 'hot add to loaded (plugins.watch 500 ms)',
    n,
    p50Ms: s.p50Ms,
    maxMs: Math.max(...times),
  };
}

export function formatHotAdd(row: HotAddRow): string {
  return formatTable(
    ['variant', 'n', 'p50 ms', 'max ms'],
    [[row.name, String(row.n), ms(row.p50Ms, 1), ms(row.maxMs, 1)]],
  );
}

export function formatRows(rows: PluginBenchRow[]): string {
  return formatTable(
    ['variant', 'n', 'p50 ms', 'p99 ms', 'p50 delta ms', 'ratio'],
    rows.map((r) => [
      r.name,
      String(r.n),
      ms(r.p50Ms, 3),
      ms(r.p99Ms, 3),
      ms(r.deltaP50Ms, 3),
      `${r.ratio.toFixed(2)}x`,
    ]),
  );
}

if (import.meta.main) {
  const quick = process.argv.includes('--quick');
  const rows = await run({ n: quick ? 300 : 2000 });
  console.log(formatRows(rows));
  console.log();
  console.log(formatHotAdd(await hotAdd({ n: quick ? 3 : 5 })));
  process.exit(0);
}
