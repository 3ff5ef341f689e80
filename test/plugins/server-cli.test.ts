/**
 * The contract from outside: `strata serve` as a real process finds plugins in
 * <STRATA_DATA_DIR>/plugins by default, STRATA_ALERTS_WEBHOOK receives its alerts, and the
 * `strata plugin` commands drive the admin API.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listeningUrl, removeCgroupParents, type ServerProcess, startServer } from '../cli/server-process.ts';
import { strata } from '../cli/support.ts';
import { eventually, writePlugin } from './support.ts';

describe('strata serve with plugins, and strata plugin', { timeout: 120_000 }, () => {
  let server: ServerProcess;
  let url: string;
  let hook: Server;
  const received: { source: string; message: string }[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-plugsrv-'));

  beforeAll(async () => {
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        received.push(JSON.parse(body));
        res.end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const dir = join(dataDir, 'plugins');
    writePlugin(dir, {
      name: 'deny',
      version: '1.2.0',
      kind: 'pre',
      source: `export default () => ({ pre(inv) { if (inv.input?.deny) return { reject: 'denied by plugin' }; } });`,
    });
    writePlugin(dir, {
      name: 'needs-deny',
      kind: 'post',
      requires: { deny: '^1.0.0' },
      source: `export default () => ({ post() {} });`,
    });
    writePlugin(dir, {
      name: 'too-new',
      kind: 'pre',
      strata: '>=50.0.0',
      source: `export default () => ({ pre() {} });`,
    });
    server = startServer({
      STRATA_DATA_DIR: dataDir,
      STRATA_ALERTS_WEBHOOK: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`,
      STRATA_EXECUTOR_HOOK_BUDGET: '10s',
      STRATA_PLUGINS_LOAD_BUDGET: '60s',
      STRATA_LOG_FORMAT: 'json',
    });
    url = await listeningUrl(server);
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    await new Promise((r) => hook?.close(r));
    rmSync(dataDir, { recursive: true, force: true });
    removeCgroupParents();
  }, 120_000);

  const cli = (...args: string[]) => strata(['plugin', ...args, '--url', url]);

  it('loads what <dataDir>/plugins holds and lists it (strata plugin ls)', async () => {
    const res = await cli('ls', '--json');
    expect(res.code).toBe(0);
    const list = JSON.parse(res.stdout) as {
      name: string;
      state: string;
      kinds: string[];
      requires: object;
      loadedAt: string | null;
    }[];
    expect(list.map((p) => [p.name, p.state])).toEqual([
      ['deny', 'loaded'],
      ['needs-deny', 'loaded'],
      ['too-new', 'failed'],
    ]);
    expect(Object.keys(list[0] ?? {})).toEqual(
      expect.arrayContaining(['name', 'version', 'kinds', 'state', 'health', 'requires', 'loadedAt']),
    );
    const human = await cli('ls');
    expect(human.stdout).toMatch(/deny\s+1\.2\.0\s+pre\s+loaded/);
  }, 120_000);

  it('sends the load failure to STRATA_ALERTS_WEBHOOK', async () => {
    const alert = await eventually(async () => received.find((a) => a.source === 'plugin:too-new'), 60_000);
    expect(alert.message).toMatch(/needs strata >=50\.0\.0/);
  }, 120_000);

  it('a pre plugin rejects over real HTTP; show, disable, enable, reload and unload from the CLI', async () => {
    await fetch(`${url}/v1/functions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'echo', runtime: 'js', trust: 'trusted', source: 'export default async (i) => i' }),
    });
    const invoke = async () =>
      (await (await fetch(`${url}/v1/functions/echo/invoke`, { method: 'POST', body: '{"deny":true}' })).json()) as {
        status: string;
        error?: { code: string; message: string };
      };
    expect(await invoke()).toMatchObject({
      status: 'rejected',
      error: { code: 'plugin_rejected', message: 'denied by plugin' },
    });

    const show = await cli('show', 'deny');
    expect(show.stdout).toMatch(/state\s+loaded/);
    expect((await cli('show', 'ghost')).stderr).toMatch(/no plugin named ghost/);

    const refused = await cli('unload', 'deny');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/needs-deny requires it/);

    expect((await cli('disable', 'needs-deny')).stdout).toMatch(/needs-deny: disabled/);
    expect((await cli('disable', 'deny')).stdout).toMatch(/deny: disabled/);
    expect((await invoke()).status).toBe('succeeded');
    expect((await cli('enable', 'deny')).stdout).toMatch(/deny: loaded \(1\.2\.0\)/);
    expect((await invoke()).status).toBe('rejected');
    expect((await cli('reload', 'deny')).stdout).toMatch(/deny: loaded/);
    expect((await cli('unload', 'deny')).stdout).toMatch(/deny: unloaded/);
    expect((await invoke()).status).toBe('succeeded');
  }, 300_000);
});
