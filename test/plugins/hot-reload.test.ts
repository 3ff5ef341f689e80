/**
 * Hot plug through a real worker: plugin folders added, changed and removed while invocations
 * run (none lost or failed because of it); a reload while an invocation is inside a hook (the
 * invocation keeps the version it started with, the old version's unload() waits for it); an
 * unload that leaves nothing behind; config entries edited in the config file take effect.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, type Worker } from '../../src/cli/worker.ts';
import { loadConfig } from '../../src/config/load.ts';
import { jsFunction } from '../gateway/support.ts';
import {
  eventually,
  type PluginSpec,
  type PluginWorker,
  type Record_,
  startPluginWorker,
  stateReached,
  writePlugin,
} from './support.ts';

const ROOT = resolve(import.meta.dirname, '../..');

/** pre+post plugin of a given version; its pre waits for `gate` when the input asks it to. */
const stamp = (version: number, trace: string, gate: string): PluginSpec => ({
  name: 'stamp',
  version: `${version}.0.0`,
  kind: ['pre', 'post'],
  config: { trace, gate },
  source: `import { appendFileSync, existsSync } from 'node:fs';
  const V = ${version};
  export default (ctx) => {
    const note = (line) => appendFileSync(ctx.config.trace, line + '\\n');
    return {
      async pre(inv) {
        note('pre ' + V + ' ' + JSON.stringify(inv.input));
        if (inv.input && inv.input.wait) {
          while (!existsSync(ctx.config.gate)) await new Promise((r) => setTimeout(r, 10));
        }
      },
      post(record) { note('post ' + V + ' ' + record.id); return { annotations: { version: V } }; },
      unload() { note('unload ' + V); },
    };
  };`,
});

describe('hot reload through a real worker', () => {
  let w: PluginWorker;
  let trace: string;
  let gate: string;
  let scratch: string;
  const lines = () => (existsSync(trace) ? readFileSync(trace, 'utf8').trim().split('\n') : []);

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'strata-hot-'));
    trace = join(scratch, 'trace');
    gate = join(scratch, 'gate');
    w = await startPluginWorker([stamp(1, trace, gate)], {
      'executor.hookBudget': '30s',
      'plugins.loadBudget': '60s',
      'plugins.initBudget': '30s',
      'plugins.unloadBudget': '30s',
    });
    // A long deadline: the deadline runs from the start, and the first invocation waits in a pre hook.
    const echo = jsFunction('echo', 'export default async (i) => i', { limits: { timeoutMs: 120_000 } });
    expect((await w.json('POST', '/v1/functions', echo)).status).toBe(201);
  }, 180_000);

  afterAll(async () => {
    await w?.close();
    rmSync(scratch, { recursive: true, force: true });
  }, 120_000);

  it('reload while an invocation is inside a hook: it keeps v1, new ones get v2, v1 unloads after it', async () => {
    const started = await w.json<{ executionId: string }>('POST', '/v1/functions/echo/invoke?async=1', { wait: true });
    expect(started.status).toBe(202);
    const id = started.body.executionId;
    await eventually(async () => (lines().some((l) => l.startsWith('pre 1 {"wait":true}')) ? true : undefined), 60_000);
    // A new version on disk, then an explicit reload (the watcher would also see it).
    writePlugin(w.pluginsDir, stamp(2, trace, gate));
    const reloaded = await w.json<{ version: string; state: string }>('POST', '/v1/plugins/stamp/reload');
    expect(reloaded.status).toBe(200);
    expect(reloaded.body).toMatchObject({ version: '2.0.0', state: 'loaded' });
    // A new invocation gets v2 at once, while the first is still inside v1's pre hook.
    const fresh = await w.json<Record_>('POST', '/v1/functions/echo/invoke', { n: 1 });
    expect(fresh.body.status).toBe('succeeded');
    expect(fresh.body.plugins?.annotations?.stamp).toEqual({ version: 2 });
    expect(lines()).not.toContain('unload 1');
    writeFileSync(gate, '');
    // A poller sees it `running` until the post hooks are done and the record is saved (so never
    // a result or logs a post hook is about to change).
    const first = await eventually(async () => {
      const r = await w.json<Record_>('GET', `/v1/executions/${id}`);
      return r.body.status === 'succeeded' ? r.body : undefined;
    }, 60_000);
    expect(first.plugins?.annotations?.stamp).toEqual({ version: 1 });
    await eventually(async () => (lines().includes('unload 1') ? true : undefined), 60_000);
    const all = lines();
    expect(all.indexOf('unload 1')).toBeGreaterThan(all.indexOf(`post 1 ${id}`));
    expect(all.indexOf(`post 1 ${id}`)).toBeGreaterThan(-1);
  }, 180_000);

  it('adds, changes and removes a plugin folder while invocations run; none fails because of it', async () => {
    let stop = false;
    const records: Record_[] = [];
    const load = (async () => {
      while (!stop) records.push((await w.json<Record_>('POST', '/v1/functions/echo/invoke', { k: 1 })).body);
    })();
    // Wait for the host's event (registered before the folder is written), not a wall time;
    // how long it takes is bench/plugins.ts's row "hot add to loaded".
    const loaded = stateReached(w.worker.plugins, 'tagger', 'loaded');
    writePlugin(w.pluginsDir, {
      name: 'tagger',
      kind: 'post',
      source: `export default () => ({ post() { return { annotations: { v: 1 } }; } });`,
    });
    await loaded;
    expect((await w.json<{ state: string }>('GET', '/v1/plugins/tagger')).body.state).toBe('loaded');
    writePlugin(w.pluginsDir, {
      name: 'tagger',
      version: '1.1.0',
      kind: 'post',
      source: `export default () => ({ post() { return { annotations: { v: 2 } }; } });`,
    });
    await eventually(async () => {
      const r = await w.json<{ version: string }>('GET', '/v1/plugins/tagger');
      return r.body.version === '1.1.0' ? true : undefined;
    }, 30_000);
    await eventually(async () => {
      const r = await w.json<Record_>('POST', '/v1/functions/echo/invoke', { k: 2 });
      return (r.body.plugins?.annotations?.tagger as { v?: number } | undefined)?.v === 2 ? true : undefined;
    }, 30_000);
    rmSync(join(w.pluginsDir, 'tagger'), { recursive: true, force: true });
    await eventually(
      async () => ((await w.call('GET', '/v1/plugins/tagger')).status === 404 ? true : undefined),
      30_000,
    );
    stop = true;
    await load;
    expect(records.length).toBeGreaterThan(0);
    expect(records.filter((r) => r.status !== 'succeeded')).toEqual([]);
    expect(records.flatMap((r) => r.plugins?.errors ?? [])).toEqual([]);
  }, 180_000);

  it('an executor plugin unloaded leaves nothing behind: no tier, no hooks, no metrics, its unload() ran', async () => {
    const tracePath = join(w.dataDir, 'tr-unload');
    writePlugin(w.pluginsDir, {
      name: 'tiny-tier',
      kind: ['executor', 'pre'],
      config: { trace: tracePath },
      source: `import { appendFileSync } from 'node:fs';
      export default (ctx) => {
        const calls = ctx.metrics.counter('calls_total', 'calls');
        return {
          runtimes: ['tiny'],
          pre() { calls.inc(); },
          unload() { appendFileSync(ctx.config.trace, 'unloaded\\n'); },
          driver: () => ({
            tier: 'tiny',
            capabilities: { runtimes: ['tiny'], measures: ['wallMs'] },
            health: () => ({ available: true }),
            prepare: () => ({}),
            run: async (_p, inv) => ({ status: 'succeeded', result: { tiny: inv.input } }),
            dispose() { appendFileSync(ctx.config.trace, 'disposed\\n'); },
          }),
        };
      };`,
    });
    await eventually(
      async () =>
        (await w.json<{ state: string }>('GET', '/v1/plugins/tiny-tier')).body.state === 'loaded' ? true : undefined,
      30_000,
    );
    expect((await w.json('POST', '/v1/functions', { name: 'tiny-fn', runtime: 'tiny', source: 'x' })).status).toBe(201);
    const ran = await w.json<Record_>('POST', '/v1/functions/tiny-fn/invoke', 7);
    expect(ran.body).toMatchObject({ status: 'succeeded', tier: 'tiny', result: { tiny: 7 } });
    expect(await (await w.call('GET', '/metrics')).text()).toContain('strata_plugin_tiny_tier_calls_total');

    const del = await w.json<{ state: string }>('DELETE', '/v1/plugins/tiny-tier');
    expect(del.body.state).toBe('unloaded');
    expect(readFileSync(tracePath, 'utf8').trim().split('\n')).toEqual(['unloaded', 'disposed']);
    expect(w.worker.executor.drivers.get('tiny' as never)).toBeUndefined();
    expect(w.worker.plugins.pre().map((h) => h.name)).toEqual(['stamp']);
    const health = (await (await w.call('GET', '/healthz')).json()) as { tiers: Record<string, unknown> };
    expect(Object.keys(health.tiers)).not.toContain('tiny');
    const metrics = await (await w.call('GET', '/metrics')).text();
    expect(metrics).not.toContain('strata_plugin_tiny_tier_calls_total');
    expect(metrics).toContain('strata_plugin_state{plugin="tiny-tier",state="unloaded"} 1');
    const after = await w.json<Record_>('POST', '/v1/functions/tiny-fn/invoke', 7);
    expect(after.body.status).toBe('rejected');
    expect(after.body.error?.code).toBe('unsupported_runtime');
    // It stays unloaded (the folder is still there) until it is enabled again.
    const back = await w.json<{ state: string }>('POST', '/v1/plugins/tiny-tier/enable');
    expect(back.body.state).toBe('loaded');
    expect((await w.json<Record_>('POST', '/v1/functions/tiny-fn/invoke', 8)).body.status).toBe('succeeded');
  }, 180_000);
});

describe('config entries are hot too', () => {
  let worker: Worker | undefined;
  const scratch = mkdtempSync(join(tmpdir(), 'strata-plugcfg-'));
  const file = join(scratch, 'strata.json');
  const writeConfig = (entries: unknown[]) => writeFileSync(file, JSON.stringify({ plugins: { entries } }));

  afterAll(async () => {
    await worker?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('an entry added, its config changed, disabled and removed in the config file takes effect without a restart', async () => {
    const redact = join(ROOT, 'plugins/redact');
    writeConfig([]);
    const config = loadConfig({
      env: {},
      file,
      overrides: {
        dataDir: join(scratch, 'data'),
        port: 0,
        'isolate.hosts': 1,
        'plugins.watch': 100,
        'executor.hookBudget': '30s',
        'plugins.loadBudget': '60s',
        'resources.cgroupParent': `strata-test-${process.pid}-cfg`,
      },
    });
    worker = await startWorker(config, { listen: false, configFile: file, logger: pino({ level: 'silent' }) });
    const w = worker;
    const get = async () => (await (await w.app.request('/v1/plugins')).json()) as { name: string; state: string }[];
    expect(await get()).toEqual([]);
    await w.app.request('/v1/functions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(jsFunction('leak', 'export default async () => "mail bob@example.com"')),
    });
    const invoke = async () =>
      (await (await w.app.request('/v1/functions/leak/invoke', { method: 'POST', body: '{}' })).json()) as Record_;

    writeConfig([{ path: redact, enabled: true, config: { mask: '<hidden>' } }]);
    await eventually(
      async () => ((await get()).find((p) => p.name === 'redact')?.state === 'loaded' ? true : undefined),
      30_000,
    );
    expect((await invoke()).result).toBe('mail <hidden>');

    writeConfig([{ path: redact, enabled: true, config: { mask: '###' } }]);
    await eventually(async () => ((await invoke()).result === 'mail ###' ? true : undefined), 30_000);

    writeConfig([{ path: redact, enabled: false, config: {} }]);
    await eventually(
      async () => ((await get()).find((p) => p.name === 'redact')?.state === 'disabled' ? true : undefined),
      30_000,
    );
    expect((await invoke()).result).toBe('mail bob@example.com');

    writeConfig([]);
    await eventually(async () => ((await get()).length === 0 ? true : undefined), 30_000);
  }, 180_000);
});
