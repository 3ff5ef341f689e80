/**
 * Control of a running task through any Master on one PostgreSQL: the task runs on a worker of
 * Master `a`; its live log is read, and it is paused, resumed and cancelled, through Master `b`
 * (a request row + NOTIFY to `a`, which holds the worker's stream, and the reply back). The
 * function is deployed to `a` only; the shared catalogue gives it to `b`; `b` lists the worker.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { masterHttpApp } from '../../src/master/http.ts';
import { startMaster, startWorker, useCleanups, waitFor } from '../link/support/harness.ts';
import { describeIf } from '../support/requirements.ts';
import { NOOP } from './support/multi-master.ts';
import { postgresRequirement, startCluster, type TestCluster } from './support/postgres.ts';

let cluster: TestCluster | undefined;
const cleanups = useCleanups();

describeIf(postgresRequirement(), 'control of a running task through another Master', () => {
  beforeAll(async () => {
    cluster = await startCluster();
  }, 120_000);
  afterAll(() => cluster?.stop());

  it('live logs, pause, resume and cancel asked of b reach the worker held by a', async () => {
    const url = await (cluster as TestCluster).createDatabase('strata_remote');
    const a = await startMaster({ overrides: { 'master.databaseUrl': url, 'master.id': 'a' } });
    cleanups.push(() => a.stop());
    const b = await startMaster({ overrides: { 'master.databaseUrl': url, 'master.id': 'b' } });
    cleanups.push(() => b.stop());
    // Deployed to `a` only: the shared catalogue replays it into `b`'s.
    await a.server.core.catalogue.deploy(NOOP);
    await expect.poll(() => b.catalogue.byName.has(NOOP.name), { timeout: 10_000 }).toBe(true);
    const w = startWorker({ masters: [a.address], id: 'held-by-a', concurrency: 2 });
    cleanups.push(() => w.stop());
    await waitFor(() => w.link.stats().masterId === 'a', 'the worker on a');
    // GET /v1/workers on b lists the worker a holds (as a last wrote it), with its Master.
    const bHttp = masterHttpApp(b.server.core, { bodyLimit: 1024 * 1024 });
    await expect
      .poll(async () => (await (await bHttp.request('/v1/workers')).json()) as { id: string; masterId: string }[], {
        timeout: 15_000,
      })
      .toEqual([expect.objectContaining({ id: 'held-by-a', masterId: 'a', mode: expect.any(String) })]);

    // Submitted to b, dispatched by a (the only Master with a worker).
    const [id] = await b.server.core.submitDurable([{ function: NOOP.name, input: { sleep: 60_000 } }]);
    const taskId = id as string;
    const executionId = await waitFor(() => [...w.executor.running.keys()][0], 'the task running');
    expect(a.server.core.live.has(taskId)).toBe(true);
    expect(b.server.core.live.has(taskId)).toBe(false);

    w.link.taskLog(executionId, 'line from the worker\n');
    await waitFor(() => a.server.core.logs(taskId)?.includes('line from the worker'), 'the log at a');
    expect(await b.server.core.logsOf(taskId)).toContain('line from the worker');

    expect(await b.server.core.pauseOrResume(taskId, 'pause')).toMatchObject({ ok: true });
    expect(w.executor.running.get(executionId)?.paused).toBe(true);
    expect(await b.server.core.pauseOrResume(taskId, 'resume')).toMatchObject({ ok: true });
    expect(w.executor.running.get(executionId)?.paused).toBe(false);

    expect(await b.server.core.cancelTask(taskId)).toMatchObject({ ok: true });
    await expect.poll(async () => (await b.server.core.lookup(taskId))?.status, { timeout: 15_000 }).toBe('killed');
    expect((await b.server.core.lookup(taskId))?.error).toMatchObject({ code: 'cancelled' });
    // Already finished: a conflict, from either Master.
    expect(await b.server.core.cancelTask(taskId)).toMatchObject({ ok: false, code: 'conflict' });
  }, 120_000);
});
