import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { masterHttpApp } from '../../src/master/http.ts';
import { MasterCore } from '../../src/master/master.ts';
import { Database } from '../../src/store/database.ts';
import { FakeCatalogue } from '../link/support/fakes.ts';
import { removeTempDirs, tempDir } from '../link/support/harness.ts';

let db: Database | undefined;
afterEach(() => {
  db?.close();
  removeTempDirs();
});

function app(dataDir = tempDir('strata-master-http-')) {
  const config = loadConfig({ env: {} }).master;
  db = new Database(join(dataDir, 'master.db'));
  const core = new MasterCore({ config, db, catalogue: new FakeCatalogue(), masterId: 'm-test' });
  return { core, http: masterHttpApp(core, { bodyLimit: 1024 * 1024 }), dataDir };
}

const post = (body: unknown) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

describe('Master HTTP API', () => {
  it('deploys a function, queues a task and reports it; tasks survive a Master restart', async () => {
    const { http, dataDir } = app();
    const dep = await http.request(
      '/v1/functions',
      post({ name: 'hello', runtime: 'js', source: 'export default () => 1' }),
    );
    expect(dep.status).toBe(201);
    expect(await dep.json()).toMatchObject({ name: 'hello', version: 1 });
    const sub = await http.request('/v1/tasks', post({ function: 'hello', input: { a: 1 }, priority: 5 }));
    expect(sub.status).toBe(202);
    const { taskId } = (await sub.json()) as { taskId: string };
    const got = await http.request(`/v1/tasks/${taskId}`);
    expect(await got.json()).toMatchObject({ taskId, status: 'pending', attempt: 0, workerId: null });
    db?.close();
    // A new Master over the same data: the task is still there, still pending.
    const again = app(dataDir);
    expect(again.core.pendingCount).toBe(1);
    expect(again.core.task(taskId)?.status).toBe('pending');
  });

  it('accepts a multipart deploy with a module, and a batch of tasks in one request', async () => {
    const { http, core } = app();
    const form = new FormData();
    form.set('manifest', JSON.stringify({ name: 'wasmy', runtime: 'wasm', trust: 'standard' }));
    form.set('module', new Blob([new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])]), 'm.wasm');
    const dep = await http.request('/v1/functions', { method: 'POST', body: form });
    expect(dep.status).toBe(201);
    const fn = core.catalogue.get('wasmy');
    expect(core.catalogue.artifact(fn).code.byteLength).toBe(8);
    const batch = await http.request(
      '/v1/tasks',
      post([
        { function: 'wasmy', input: 1 },
        { function: 'wasmy', input: 2 },
      ]),
    );
    expect(batch.status).toBe(202);
    const { taskIds } = (await batch.json()) as { taskIds: string[] };
    expect(taskIds).toHaveLength(2);
    expect(core.pendingCount).toBe(2);
    const bad = await http.request('/v1/tasks', post([{ function: 'wasmy' }, { nope: true }]));
    expect(bad.status).toBe(400);
    expect(core.pendingCount).toBe(2);
  });

  it('answers 400/404 with the one error shape', async () => {
    const { http } = app();
    const bad = await http.request('/v1/tasks', post('{nope'));
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'invalid_request' } });
    const unknown = await http.request('/v1/tasks', post({ function: 'missing' }));
    expect(unknown.status).toBe(404);
    expect((await http.request('/v1/tasks/tsk_x')).status).toBe(404);
    expect(await (await http.request('/v1/workers')).json()).toEqual([]);
  });

  it('cancels a pending task at once and exposes metrics', async () => {
    const { http, core } = app();
    await http.request('/v1/functions', post({ name: 'f', runtime: 'js', source: 'x' }));
    const { taskId } = (await (await http.request('/v1/tasks', post({ function: 'f' }))).json()) as { taskId: string };
    const res = await http.request(`/v1/tasks/${taskId}/cancel`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(core.task(taskId)).toMatchObject({ status: 'killed', error: { code: 'cancelled' } });
    const metrics = await (await http.request('/metrics')).text();
    expect(metrics).toContain('strata_master_tasks{status="killed"} 1');
  });
});
