/**
 * The Master under the worker's key and scope model (src/master/auth.ts): 401 without a valid
 * key, 403 naming the scope, keys made on the Master; tasks carry their function's tenant
 * (Dispatch.tenant) and a real linked worker runs them in that tenant's namespace; tenant B
 * cannot see, cancel or read the logs of tenant A's task (404 exactly like a missing one).
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, type Worker } from '../../src/cli/worker.ts';
import { loadConfig } from '../../src/config/load.ts';
import { openCatalogue } from '../../src/master/catalogue.ts';
import { MasterServer } from '../../src/master/server.ts';
import { executionIdOf } from '../../src/protocol/wire.ts';
import { Database } from '../../src/store/database.ts';
import { Tenants } from '../../src/tenants/tenants.ts';
import { type Cleanup, removeTempDirs, tempDir, waitFor } from '../link/support/harness.ts';

const ADMIN = 'master-admin-token-0123456789';
const cleanups: Cleanup[] = [];
let base: string;
let master: MasterServer;
let worker: Worker;
let a: string;
let b: string;
let readOnly: string;

async function call(token: string | undefined, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {}
  return { status: res.status, text, body: json };
}

async function finished(token: string, id: string): Promise<Record<string, unknown>> {
  const until = Date.now() + 60_000;
  for (;;) {
    const { body } = await call(token, 'GET', `/v1/tasks/${id}`);
    if (!['pending', 'dispatched', 'running'].includes(body.status as string)) return body;
    if (Date.now() > until) throw new Error(`task ${id} still ${body.status}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  const dataDir = tempDir('strata-master-');
  const db = new Database(join(dataDir, 'master.db'));
  const config = loadConfig({
    env: {},
    overrides: { dataDir, 'master.grpc': '127.0.0.1:0', 'master.http': '127.0.0.1:0', 'tenants.adminToken': ADMIN },
  });
  const tenants = new Tenants({ db, config });
  master = new MasterServer({ config: config.master, db, catalogue: openCatalogue(db, dataDir), dataDir, tenants });
  await master.start();
  cleanups.push(async () => {
    await master.stop();
    db.close();
  });
  base = `http://${master.httpAddress}`;
  const workerConfig = loadConfig({
    env: {},
    overrides: {
      dataDir: tempDir('strata-worker-'),
      'link.masters': master.grpcAddress,
      'link.workerId': 'tenant-worker',
      'isolate.hosts': 1,
    },
  });
  worker = await startWorker(workerConfig, { listen: false, logger: pino({ level: 'silent' }) });
  cleanups.push(() => worker.close());
  await waitFor(() => master.core.workers.get('tenant-worker')?.connected, 'the worker to connect', 60_000);
  const key = async (tenant: string, scopes: string[]) => {
    const made = await call(ADMIN, 'POST', '/v1/keys', { tenant, scopes });
    expect(made.status, made.text).toBe(201);
    return made.body.key as string;
  };
  const all = ['functions:write', 'invoke', 'executions:read'];
  a = await key('team-a', all);
  b = await key('team-b', all);
  readOnly = await key('team-a', ['executions:read']);
}, 120_000);
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  removeTempDirs();
}, 60_000);

describe('keys and scopes on the Master', () => {
  it('401 without a key or with a wrong one; /healthz stays open', async () => {
    expect((await call(undefined, 'GET', '/healthz')).status).toBe(200);
    for (const [method, path] of [
      ['POST', '/v1/functions'],
      ['POST', '/v1/tasks'],
      ['GET', '/v1/tasks/tsk_x'],
      ['GET', '/v1/workers'],
      ['GET', '/v1/keys'],
      ['GET', '/metrics'],
    ] as const) {
      const none = await call(undefined, method, path, method === 'POST' ? {} : undefined);
      expect(none.status, `${method} ${path}`).toBe(401);
      expect(none.body.error).toMatchObject({ code: 'unauthorized' });
      expect((await call('stk_0123456789abcdef_nope', method, path)).status).toBe(401);
    }
  });

  it('403 naming the scope the key lacks', async () => {
    const submit = await call(readOnly, 'POST', '/v1/tasks', { function: 'hello' });
    expect(submit.status).toBe(403);
    expect(submit.body.error).toMatchObject({ code: 'forbidden', details: { scope: 'invoke' } });
    const deploy = await call(readOnly, 'POST', '/v1/functions', {});
    expect(deploy.body.error).toMatchObject({ details: { scope: 'functions:write' } });
    for (const path of ['/v1/workers', '/v1/keys']) {
      const res = await call(a, 'GET', path);
      expect(res.status, path).toBe(403);
      expect(res.body.error).toMatchObject({ details: { scope: 'admin' } });
    }
    expect((await call(ADMIN, 'GET', '/v1/workers')).status).toBe(200);
  });
});

describe('tenants on the Master', () => {
  it('each tenant owns its hello; a task runs on the worker in its tenant namespace', async () => {
    const hello = (from: string) => ({
      name: 'hello',
      runtime: 'js',
      trust: 'trusted',
      source: `export default () => "from ${from}"`,
    });
    const da = await call(a, 'POST', '/v1/functions', hello('a'));
    const db = await call(b, 'POST', '/v1/functions', hello('b'));
    expect(da.status).toBe(201);
    expect(db.status).toBe(201);
    expect(da.body).toMatchObject({ name: 'hello' });
    expect(db.body.digest).not.toBe(da.body.digest);

    const ta = (await call(a, 'POST', '/v1/tasks', { function: 'hello' })).body.taskId as string;
    const tb = (await call(b, 'POST', '/v1/tasks', { function: 'hello' })).body.taskId as string;
    const va = await finished(a, ta);
    const vb = await finished(b, tb);
    expect(va).toMatchObject({ status: 'succeeded', result: 'from a', function: { name: 'hello' } });
    expect(vb).toMatchObject({ status: 'succeeded', result: 'from b', function: { name: 'hello' } });
    // The worker ran it as tenant A's, under A's namespace.
    const record = worker.records.get(executionIdOf(ta, va.attempt as number));
    expect(record).toMatchObject({ tenant: 'team-a', source: 'master' });
    expect(worker.registry.getByDigest(da.body.digest as string)?.name).toBe('team-a/hello');

    // Tenant B cannot see, cancel or read the logs of A's task: 404 exactly like a missing one.
    const missing = 'tsk_doesnotexist000';
    for (const [method, suffix] of [
      ['GET', ''],
      ['GET', '/logs'],
      ['POST', '/cancel'],
      ['POST', '/pause'],
    ] as const) {
      const theirs = await call(b, method, `/v1/tasks/${ta}${suffix}`);
      const none = await call(b, method, `/v1/tasks/${missing}${suffix}`);
      expect(theirs.status, `${method} ${suffix}`).toBe(404);
      expect(theirs.text.split(ta).join('<id>')).toBe(none.text.split(missing).join('<id>'));
    }
    // A function only tenant B has is missing for tenant A.
    expect((await call(b, 'POST', '/v1/functions', { ...hello('b'), name: 'only-b' })).status).toBe(201);
    expect((await call(a, 'POST', '/v1/tasks', { function: 'only-b' })).status).toBe(404);
  }, 120_000);
});
