/**
 * Several Masters on one PostgreSQL (a throwaway cluster): Master `a` runs in its own process (so
 * it can be SIGKILLed), Master `b` in this one; three workers are spread across them by the
 * workers' own client-side balancing (the STRATA_MASTERS list). Everything is counted in the
 * database: tasks submitted to either Master are dispatched by both and visible from both; `a`
 * killed mid-run loses no task and none gets two results; restarted, it rejoins.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { firstMasterIndex } from '../../src/link/backoff.ts';
import { startMaster, startWorker, type TestWorker, tempDir, useCleanups, waitFor } from '../link/support/harness.ts';
import { describeIf } from '../support/requirements.ts';
import { NOOP, spawnMaster } from './support/multi-master.ts';
import { postgresRequirement, startCluster, type TestCluster } from './support/postgres.ts';

let cluster: TestCluster | undefined;
const HEARTBEAT_TIMEOUT = '20s';
const cleanups = useCleanups();

/** A worker id the balancing sends first to masters[want] (of two). */
function idFor(prefix: string, want: number): string {
  for (let i = 0; ; i++) if (firstMasterIndex(`${prefix}-${i}`, 2) === want) return `${prefix}-${i}`;
}

async function post(http: string, path: string, body: unknown): Promise<{ taskIds: string[] }> {
  const res = await fetch(`http://${http}${path}`, { method: 'POST', body: JSON.stringify(body) });
  expect(res.status).toBe(202);
  return (await res.json()) as { taskIds: string[] };
}

const tasks = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ function: NOOP.name, input: { sleep: 100, echo: i } }));

describeIf(postgresRequirement(), 'several Masters on one PostgreSQL', () => {
  beforeAll(async () => {
    cluster = await startCluster();
  }, 120_000);
  afterAll(() => cluster?.stop());

  it('tasks submitted to either Master run on workers of both; SIGKILL one mid-run: none lost, none twice; it rejoins', async () => {
    const url = await (cluster as TestCluster).createDatabase('strata_multi');
    const sql = postgres(url, { max: 2, onnotice: () => {} });
    cleanups.push(() => sql.end());
    const count = async (query: string) => Number((await sql.unsafe(query))[0]?.n);

    // A heartbeat timeout far above this box's stalls: this test checks failover by event (a
    // stream that ends). A silence verdict is at-least-once by nature (the silent worker may still
    // run its task when it is dispatched again); sweep.test.ts and postgres-store.test.ts cover it.
    let a = await spawnMaster(url, 'a', tempDir('strata-master-a-'), HEARTBEAT_TIMEOUT);
    cleanups.push(() => a.kill());
    const b = await startMaster({
      overrides: { 'master.databaseUrl': url, 'master.id': 'b', 'master.heartbeatTimeout': HEARTBEAT_TIMEOUT },
    });
    cleanups.push(() => b.stop());
    await b.catalogue.deploy(NOOP);
    const backend = b.server.backend;
    if (!backend) throw new Error('master b is not on the shared store');

    const masters = [a.grpc, b.address];
    const workers: TestWorker[] = [idFor('wa1', 0), idFor('wa2', 0), idFor('wb', 1)].map((id) =>
      startWorker({ masters, id, concurrency: 4 }),
    );
    for (const w of workers) cleanups.push(() => w.stop());
    await waitFor(() => workers.every((w) => w.link.stats().masterId), 'every worker registered');
    const onA = workers.filter((w) => w.link.stats().masterId === 'a');
    const onB = workers.filter((w) => w.link.stats().masterId === 'b');
    expect(onA.length).toBe(2);
    expect(onB.length).toBe(1);

    // 600 tasks, half through each Master.
    const viaA = (await post(a.http, '/v1/tasks', tasks(300))).taskIds;
    const viaB = await b.server.core.submitDurable(tasks(300));
    expect(new Set([...viaA, ...viaB]).size).toBe(600);

    // Both Masters dispatch (the database hands tasks to whichever has a free worker).
    await expect
      .poll(() => count('SELECT count(DISTINCT master_id)::int AS n FROM master_tasks WHERE master_id IS NOT NULL'), {
        timeout: 30_000,
      })
      .toBe(2);
    // Kill `a` while its workers run tasks it dispatched.
    await waitFor(() => onA.some((w) => w.executor.running.size > 0), 'tasks running on a worker of a', 30_000);
    await expect.poll(() => backend.countResults(), { timeout: 30_000 }).toBeGreaterThanOrEqual(60);
    const inFlightOnA = onA.reduce((n, w) => n + w.executor.running.size, 0);
    expect(inFlightOnA).toBeGreaterThan(0);
    // Attempts `a` holds now (master_id moves to `b` when b adopts them from a worker).
    const heldByA = (
      await sql.unsafe("SELECT id FROM master_tasks WHERE master_id = 'a' AND status IN ('dispatched', 'running')")
    ).map((r) => r.id as string);
    await a.kill();
    const killedAt = Date.now();
    // What a's workers really hold once a is dead (nothing more can arrive): a task `a` marked
    // dispatched whose Dispatch died with its stream was never received, and `b` rightly
    // dispatches it again as attempt 2; a held one must be adopted, same attempt.
    const heldOnWorkers = new Set(onA.flatMap((w) => w.link.heldAll().map((r) => r.taskId)));

    // Every task completes through `b`, once.
    try {
      await expect.poll(() => backend.countResults(), { timeout: 90_000, interval: 200 }).toBe(600);
    } catch (err) {
      // What is unfinished, where: the trail to read when a task goes missing.
      console.error(
        'DIAG',
        JSON.stringify(
          await sql.unsafe(
            "SELECT id,status,worker_id,master_id,attempt,epoch,cancel_requested FROM master_tasks WHERE status <> 'succeeded'",
          ),
        ),
      );
      console.error('DIAG workers', JSON.stringify(await sql.unsafe('SELECT * FROM master_workers')));
      for (const w of workers)
        console.error(
          'DIAG',
          w.link.workerId,
          JSON.stringify(w.link.stats()),
          [...w.executor.running.keys()],
          w.link.outbox.count(),
          JSON.stringify(w.link.heldAll()),
        );
      for (const w of b.server.core.workers.values())
        console.error('DIAG b', w.id, w.connected, w.status, w.mode, w.window, w.assigned, w.pullBudget, [...w.tasks]);
      throw err;
    }
    expect(await count("SELECT count(*)::int AS n FROM master_tasks WHERE status = 'succeeded'")).toBe(600);
    expect(await count('SELECT count(DISTINCT task_id)::int AS n FROM master_results')).toBe(600);
    // Results of attempts `a` dispatched, taken by `b` after `a` died, of the same attempt
    // (adopted, not dispatched again).
    const after = await sql`
      SELECT r.task_id, r.attempt, r.stored_at FROM master_results r WHERE r.task_id IN ${sql(heldByA)}`;
    expect(after.filter((r) => Number(r.stored_at) >= killedAt).length).toBeGreaterThan(0);
    const adopted = after.filter((r) => heldOnWorkers.has(r.task_id as string));
    expect(adopted.length).toBeGreaterThan(0);
    expect(adopted.filter((r) => r.attempt !== 1)).toEqual([]);
    for (const w of onA) await waitFor(() => w.link.stats().masterId === 'b', `${w.link.workerId} on b`, 30_000);
    for (const w of workers) await waitFor(() => w.link.outbox.count() === 0, 'outbox empty', 30_000);
    // Every task ran exactly once: failover is by event (the stream ends, the worker registers
    // with `b` holding its attempts, `b` adopts them), so nothing is dispatched twice and no
    // result is fenced. Duplicates are allowed: results `a` stored but never acked are sent again.
    const executions = workers.reduce((n, w) => n + w.executor.seen.length, 0);
    expect(executions).toBe(600);
    expect(b.server.core.fencedResults).toBe(0);
    expect(b.server.core.duplicateResults).toBeLessThanOrEqual(inFlightOnA + 8);
    // Visible from the other Master: tasks submitted to `a`, read through `b`.
    for (const id of viaA.slice(0, 50)) expect((await b.server.core.lookup(id))?.status).toBe('succeeded');

    // `a` restarted (same id) rejoins: it takes tasks and a worker of its own.
    a = await spawnMaster(url, 'a', tempDir('strata-master-a-'), HEARTBEAT_TIMEOUT);
    const late = startWorker({ masters: [a.grpc], id: 'late', concurrency: 2 });
    cleanups.push(() => late.stop());
    const again = (await post(a.http, '/v1/tasks', tasks(20))).taskIds;
    await expect.poll(() => backend.countResults(), { timeout: 60_000, interval: 200 }).toBe(620);
    for (const id of again) {
      const res = await fetch(`http://${a.http}/v1/tasks/${id}`);
      expect(((await res.json()) as { status: string }).status).toBe('succeeded');
    }
  }, 240_000);
});
