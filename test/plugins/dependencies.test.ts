/**
 * Dependencies and versions with real plugin folders loaded by a real worker: dependencies load
 * first; a cycle, a missing dependency, a version out of range or a host version out of range
 * refuses that plugin with an error naming them, and the others still load.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrder, loadWaves } from '../../src/plugins/order.ts';
import { type PluginSpec, type PluginWorker, startPluginWorker } from './support.ts';

/** A pre plugin whose init() appends its name to a file, so the test sees the order of inits. */
const tracing = (name: string, extra: Partial<PluginSpec> = {}): PluginSpec => ({
  name,
  kind: 'pre',
  source: `import { appendFileSync } from 'node:fs';
  export default (ctx) => ({ init() { appendFileSync(ctx.config.trace, ${JSON.stringify(name)} + '\\n'); }, pre() {} });`,
  ...extra,
});

describe('plugin dependencies through a real worker', { timeout: 120_000 }, () => {
  let w: PluginWorker;
  let trace: string;

  beforeAll(async () => {
    trace = join(process.env.TMPDIR ?? '/tmp', `strata-plugin-trace-${process.pid}-${Date.now()}`);
    const config = { trace };
    w = await startPluginWorker([
      // app -> lib -> base: the folder names sort the other way round, the load order must not.
      tracing('app', { requires: { lib: '^2.0.0' }, config }),
      tracing('lib', { version: '2.3.1', requires: { base: '>=1.0.0 <2' }, config }),
      tracing('base', { version: '1.4.0', config }),
      tracing('cyc-a', { requires: { 'cyc-b': '*' }, config }),
      tracing('cyc-b', { requires: { 'cyc-a': '*' }, config }),
      tracing('lonely', { requires: { ghost: '^1.0.0' }, config }),
      tracing('picky', { requires: { base: '^2.0.0' }, config }),
      tracing('future', { strata: '>=99.0.0', config }),
      tracing('needs-cycle', { requires: { 'cyc-a': '*' }, config }),
    ]);
  }, 120_000);

  afterAll(async () => {
    await w?.close();
    rmSync(trace, { force: true });
  }, 120_000);

  const byName = async () => {
    const { body } = await w.json<{ name: string; state: string; error?: string; requires: Record<string, string> }[]>(
      'GET',
      '/v1/plugins',
    );
    return new Map(body.map((p) => [p.name, p]));
  };

  it('loads dependencies first (topological order)', async () => {
    const order = readFileSync(trace, 'utf8').trim().split('\n');
    expect(order).toEqual(['base', 'lib', 'app']);
    const plugins = await byName();
    for (const name of ['base', 'lib', 'app']) expect(plugins.get(name)?.state).toBe('loaded');
    expect(plugins.get('app')?.requires).toEqual({ lib: '^2.0.0' });
    // Hooks run in load order too.
    expect(w.worker.plugins.pre().map((h) => h.name)).toEqual(['base', 'lib', 'app']);
  });

  it('refuses a cycle, naming it, and what depends on it', async () => {
    const plugins = await byName();
    expect(plugins.get('cyc-a')?.state).toBe('failed');
    expect(plugins.get('cyc-a')?.error).toMatch(/dependency cycle: cyc-a -> cyc-b -> cyc-a/);
    expect(plugins.get('cyc-b')?.state).toBe('failed');
    expect(plugins.get('needs-cycle')?.error).toMatch(/requires cyc-a, which cannot load \(dependency cycle/);
  });

  it('refuses a missing dependency and a version out of range, naming them', async () => {
    const plugins = await byName();
    expect(plugins.get('lonely')?.state).toBe('failed');
    expect(plugins.get('lonely')?.error).toBe('requires ghost ^1.0.0, which is not installed');
    expect(plugins.get('picky')?.error).toBe('requires base ^2.0.0, installed is 1.4.0');
    expect(plugins.get('future')?.error).toMatch(/needs strata >=99.0.0, this worker is \d+\.\d+\.\d+/);
  });

  it('raises an alert for each plugin that failed to load', async () => {
    const { body } = await w.json<{ source: string; message: string }[]>('GET', '/v1/alerts');
    const failed = body.filter((a) => a.message.includes('failed to load')).map((a) => a.source);
    expect(failed.sort()).toEqual(
      ['plugin:cyc-a', 'plugin:cyc-b', 'plugin:future', 'plugin:lonely', 'plugin:needs-cycle', 'plugin:picky'].sort(),
    );
  });

  it('refuses to unload or disable a plugin another loaded plugin requires (409)', async () => {
    const del = await w.json<{ error: { code: string; message: string } }>('DELETE', '/v1/plugins/lib');
    expect(del.status).toBe(409);
    expect(del.body.error.code).toBe('conflict');
    expect(del.body.error.message).toMatch(/app requires it/);
    expect((await w.json('POST', '/v1/plugins/base/disable')).status).toBe(409);
    // Dependents first, then the dependency.
    expect((await w.json<{ state: string }>('DELETE', '/v1/plugins/app')).body.state).toBe('unloaded');
    expect((await w.json<{ state: string }>('DELETE', '/v1/plugins/lib')).body.state).toBe('unloaded');
    expect(w.worker.plugins.pre().map((h) => h.name)).toEqual(['base']);
  });
});

describe('loadOrder (pure)', () => {
  const p = (name: string, requires: Record<string, string> = {}, version = '1.0.0', strata = '*') => ({
    name,
    version,
    requires,
    strata,
  });
  it('orders a diamond and keeps the others', () => {
    const { order, refused } = loadOrder(
      [p('top', { l: '1', r: '1' }), p('l', { base: '1' }), p('r', { base: '1' }), p('base'), p('solo')],
      '0.1.0',
    );
    expect(refused.size).toBe(0);
    expect(order.indexOf('base')).toBeLessThan(order.indexOf('l'));
    expect(order.indexOf('r')).toBeLessThan(order.indexOf('top'));
    expect(order).toHaveLength(5);
  });
  it('refuses a self-cycle and prereleases follow semver', () => {
    const { refused, order } = loadOrder([p('me', { me: '*' }), p('pre', {}, '1.0.0', '>=0.1.0-0')], '0.1.0');
    expect(refused.get('me')).toBe('dependency cycle: me -> me');
    expect(order).toEqual(['pre']);
  });
});

describe('loadWaves (pure)', () => {
  it('puts plugins whose dependencies are settled in one wave; a dependency outside the list holds nothing back', () => {
    const requires: Record<string, string[]> = { base: [], l: ['base'], r: ['base'], top: ['l', 'r'], solo: ['ghost'] };
    expect(loadWaves(['base', 'solo', 'l', 'r', 'top'], (n) => requires[n] ?? [])).toEqual([
      ['base', 'solo'],
      ['l', 'r'],
      ['top'],
    ]);
  });
});
