/**
 * The plugin host on its own (real plugin folders and threads, no HTTP): plugin.json validation,
 * an object that does not match its kinds, lifecycle budgets (a factory or init that never
 * ends), a failing reload that keeps the serving version, and the hook snapshot an invocation
 * leases across a reload.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { DriverRegistry } from '../../src/executor/driver-registry.ts';
import { AlertCenter } from '../../src/plugins/alerts.ts';
import { PluginHost } from '../../src/plugins/host.ts';
import { readPluginManifest } from '../../src/plugins/manifest.ts';
import { PluginMetrics } from '../../src/plugins/metrics.ts';
import { writePlugin } from './support.ts';

let dir: string;
let host: PluginHost | undefined;
let alerts: AlertCenter;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'strata-host-'));
});
afterEach(async () => {
  await host?.close();
  host = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function makeHost(overrides: Record<string, unknown> = {}) {
  const config = loadConfig({
    env: {},
    overrides: { 'plugins.dir': dir, 'executor.hookBudget': '10s', 'plugins.loadBudget': '30s', ...overrides },
  });
  const logger = pino({ level: 'silent' });
  alerts = new AlertCenter({ keep: 50, webhookTimeoutMs: 1000, logger });
  host = new PluginHost({
    config,
    dataDir: dir,
    hostVersion: '0.1.0',
    logger,
    drivers: new DriverRegistry(),
    alerts,
    metrics: new PluginMetrics(new Registry()),
  });
  return host;
}

describe('plugin.json validation', () => {
  it('names every field that is wrong', () => {
    mkdirSync(join(dir, 'bad'));
    writeFileSync(
      join(dir, 'bad', 'plugin.json'),
      JSON.stringify({
        name: 'Bad Name',
        version: '1.x',
        kind: 'sideways',
        main: 'i.mjs',
        strata: 'not a range',
        extra: 1,
      }),
    );
    const read = readPluginManifest(join(dir, 'bad'));
    expect(read.ok).toBe(false);
    const error = (read as { error: string }).error;
    for (const field of ['name:', 'version:', 'kind:', 'strata:', 'Unrecognized key']) expect(error).toContain(field);
  });

  it('keeps main inside the folder, and needs it to exist', () => {
    mkdirSync(join(dir, 'escape'));
    const base = { name: 'escape', version: '1.0.0', kind: 'pre', strata: '*' };
    writeFileSync(join(dir, 'escape', 'plugin.json'), JSON.stringify({ ...base, main: '../../etc/passwd' }));
    expect((readPluginManifest(join(dir, 'escape')) as { error: string }).error).toMatch(/main must be a file inside/);
    writeFileSync(join(dir, 'escape', 'plugin.json'), JSON.stringify({ ...base, main: 'gone.mjs' }));
    expect((readPluginManifest(join(dir, 'escape')) as { error: string }).error).toMatch(/does not exist/);
  });
});

describe('the lifecycle', () => {
  it('refuses an object that does not match its declared kinds, and one whose main has no factory', async () => {
    writePlugin(dir, { name: 'liar', kind: ['pre', 'monitor'], source: `export default () => ({ pre() {} });` });
    writePlugin(dir, { name: 'nofactory', kind: 'pre', source: `export const x = 1;` });
    writePlugin(dir, { name: 'ok', kind: 'pre', source: `export default () => ({ pre() {} });` });
    const h = makeHost();
    await h.sync();
    const byName = new Map(h.list().map((p) => [p.name, p]));
    expect(byName.get('liar')?.error).toMatch(/kind "monitor" needs onEvent\(event\)/);
    expect(byName.get('nofactory')?.error).toMatch(/default export: a factory/);
    expect(byName.get('ok')?.state).toBe('loaded');
  }, 60_000);

  it('bounds the factory (plugins.loadBudget)', async () => {
    writePlugin(dir, {
      name: 'slow-load',
      kind: 'pre',
      source: `await new Promise(() => {}); export default () => ({ pre() {} });`,
    });
    const h = makeHost({ 'plugins.loadBudget': '1500ms' });
    await h.sync();
    expect(h.get('slow-load').error).toMatch(/did not load within its 1500 ms budget \(plugins.loadBudget\)/);
  }, 60_000);

  it('bounds init() (plugins.initBudget)', async () => {
    writePlugin(dir, {
      name: 'slow-init',
      kind: 'pre',
      source: `export default () => ({ init: () => new Promise(() => {}), pre() {} });`,
    });
    const h = makeHost({ 'plugins.initBudget': '500ms' });
    await h.sync();
    expect(h.get('slow-init').error).toMatch(/init\(\) failed: did not answer within its 500 ms budget/);
  }, 90_000);

  it('a reload that fails keeps the version that was serving, and says so', async () => {
    writePlugin(dir, { name: 'p', kind: 'pre', source: `export default () => ({ pre() { return { input: 1 }; } });` });
    const h = makeHost();
    await h.sync();
    writePlugin(dir, {
      name: 'p',
      version: '2.0.0',
      kind: 'pre',
      source: `export default () => { throw new Error('v2 is broken'); };`,
    });
    await h.reload('p');
    const info = h.get('p');
    expect(info).toMatchObject({ state: 'loaded', version: '1.0.0' });
    expect(info.health.lastError).toMatch(/reload to 2.0.0 failed: v2 is broken/);
    expect(alerts.list()[0]?.message).toMatch(/1.0.0 keeps serving/);
    const hook = h.pre()[0];
    expect(
      await hook?.pre(
        { function: { name: 'f', version: 1 }, input: 0, limits: {} as never },
        new AbortController().signal,
      ),
    ).toEqual({ input: 1 });
  }, 60_000);

  it('a lease keeps the hooks an invocation started with across a reload', async () => {
    writePlugin(dir, {
      name: 'v',
      kind: 'pre',
      source: `export default () => ({ pre() { return { input: 'one' }; } });`,
    });
    const h = makeHost({ 'plugins.unloadBudget': '30s' });
    await h.sync();
    const lease = h.lease();
    writePlugin(dir, {
      name: 'v',
      version: '2.0.0',
      kind: 'pre',
      source: `export default () => ({ pre() { return { input: 'two' }; } });`,
    });
    await h.reload('v');
    const view = { function: { name: 'f', version: 1 }, input: 0, limits: {} as never };
    const signal = new AbortController().signal;
    expect(await h.pre()[0]?.pre(view, signal)).toEqual({ input: 'two' });
    expect(await lease.pre[0]?.pre(view, signal)).toEqual({ input: 'one' });
    lease.release();
  }, 60_000);
});
