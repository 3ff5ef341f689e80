/**
 * The reference Master's /openapi.json (every route it serves, nothing else), /docs and /ui: the
 * dashboard rendered in Chromium shows its workers table and task counts from its own API.
 */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { masterHttpApp } from '../../src/master/http.ts';
import { MasterCore } from '../../src/master/master.ts';
import { Database } from '../../src/store/database.ts';
import { Tenants } from '../../src/tenants/tenants.ts';
import { FakeCatalogue } from '../link/support/fakes.ts';
import { removeTempDirs, tempDir } from '../link/support/harness.ts';
import { describeIf } from '../support/requirements.ts';
import { artifactsDir, chromiumRequirement, launchChromium } from './browser-support.ts';

let db: Database;
let http: ReturnType<typeof masterHttpApp>;
/** The same Master with tenants, as `strata master` runs it: it also serves /v1/keys. */
let httpWithTenants: ReturnType<typeof masterHttpApp>;

beforeAll(() => {
  db = new Database(join(tempDir('strata-ship-master-'), 'master.db'));
  const core = new MasterCore({
    config: loadConfig({ env: {} }).master,
    db,
    catalogue: new FakeCatalogue(),
    masterId: 'm-ship',
  });
  http = masterHttpApp(core, { bodyLimit: 1024 * 1024 });
  const dataDir = tempDir('strata-ship-master-tenants-');
  const tenants = new Tenants({ db, config: { ...loadConfig({ env: {} }), dataDir } });
  httpWithTenants = masterHttpApp(core, { bodyLimit: 1024 * 1024, tenants });
});

afterAll(() => {
  db?.close();
  removeTempDirs();
});

describe('Master: /openapi.json, /docs, /ui', () => {
  it.for([
    ['without tenants', () => http],
    ['with tenants', () => httpWithTenants],
  ] as const)('documents every route it serves and no other (%s)', async ([, app]) => {
    const http = app();
    const doc = (await (await http.request('/openapi.json')).json()) as {
      openapi: string;
      paths: Record<string, object>;
    };
    expect(doc.openapi).toBe('3.1.0');
    const served = new Set(
      http.routes.filter((r) => r.method !== 'ALL' && !r.path.includes('*')).map((r) => `${r.method} ${r.path}`),
    );
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths))
      for (const method of Object.keys(item))
        documented.add(`${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`);
    expect(
      [...served].filter((r) => !documented.has(r)),
      'add them to src/gateway/openapi/master-routes.ts',
    ).toEqual([]);
    expect([...documented].filter((r) => !served.has(r))).toEqual([]);
  });

  it('serves /docs and /ui, and points 404s at /openapi.json', async () => {
    expect((await http.request('/docs')).status).toBe(200);
    const ui = await (await http.request('/ui')).text();
    expect(ui).toContain('data-server="master"');
    const missing = await http.request('/v1/nothing');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toContain('/openapi.json');
  });
});

describeIf(chromiumRequirement(), 'Master dashboard in Chromium', () => {
  it('shows the workers table and task counts', async () => {
    const server = serve({ fetch: http.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const browser = await launchChromium();
    try {
      await http.request('/v1/functions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'hello', runtime: 'js', source: 'export default () => 1' }),
      });
      await http.request('/v1/tasks', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ function: 'hello', input: 1 }),
      });
      const page = await browser.newPage({ viewport: { width: 1024, height: 700 } });
      await page.goto(`${base}/ui`);
      await page.locator('table.workers').waitFor({ timeout: 30_000 });
      await page.locator('li[data-count="pending"]').waitFor({ timeout: 30_000 });
      expect(await page.locator('li[data-count="pending"] b').textContent()).toBe('1');
      await page.screenshot({ path: join(artifactsDir(), 'master.png') });
    } finally {
      await browser.close();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 90_000);
});
