/**
 * The Master's shared store on a real PostgreSQL 15 (a throwaway cluster, see support/postgres.ts):
 * two store instances stand for two Masters on one database. What makes them safe side by side is
 * checked here through the database itself: claims never overlap, epochs never repeat (also
 * across a restart and above 2^53), a result is stored once whichever Master receives it, new
 * tasks wake the other Master by NOTIFY, and one Master at a time holds the sweep lease.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { NewTask } from '../../src/master/store-backend.ts';
import { PostgresMasterStore } from '../../src/master/store-postgres.ts';
import { describeIf } from '../support/requirements.ts';
import { postgresRequirement, startCluster, type TestCluster } from './support/postgres.ts';

let cluster: TestCluster | undefined;
const stores: PostgresMasterStore[] = [];
let dbCount = 0;

async function twoMasters(): Promise<[PostgresMasterStore, PostgresMasterStore, string]> {
  const url = await (cluster as TestCluster).createDatabase(`strata_${++dbCount}`);
  const a = new PostgresMasterStore({ url });
  const b = new PostgresMasterStore({ url });
  stores.push(a, b);
  // Both migrate at once, as two Masters starting together would.
  await Promise.all([a.init(), b.init()]);
  return [a, b, url];
}

/** A worker as a claim sees it: no labels, no tiers (takes anything). */
const w = (id: string) => ({ id, labels: {}, tiers: [] });

const tasks = (n: number, prefix: string): NewTask[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${String(i).padStart(5, '0')}`,
    functionName: 'add',
    functionVersion: 1,
    digest: 'd'.repeat(64),
    runtime: 'js',
    inputJson: JSON.stringify({ a: i }),
    priority: 0,
    timeoutMs: 0,
    labels: {},
    createdAt: Date.now() + i,
  }));

describeIf(postgresRequirement(), 'Master store on PostgreSQL', () => {
  beforeAll(async () => {
    cluster = await startCluster();
  }, 120_000);
  afterAll(async () => {
    for (const s of stores.splice(0)) await s.close().catch(() => {});
    cluster?.stop();
  });

  it('two Masters, 1,000 tasks submitted to both: each claimed once, each result stored once via either Master', async () => {
    const [a, b] = await twoMasters();
    let wokeA = 0;
    let wokeB = 0;
    await a.onNewTasks(() => wokeA++);
    await b.onNewTasks(() => wokeB++);
    await Promise.all([a.insertTasks(tasks(500, 'ta')), b.insertTasks(tasks(500, 'tb'))]);
    // Each Master hears the other's inserts (LISTEN/NOTIFY), no polling.
    await expect.poll(() => wokeA >= 2 && wokeB >= 2, { timeout: 10_000 }).toBe(true);

    const claimed: { master: 'a' | 'b'; id: string; epoch: string; attempt: number }[] = [];
    const drain = async (store: PostgresMasterStore, master: 'a' | 'b', worker: string) => {
      for (;;) {
        const got = await store.claim(w(worker), master, 25);
        if (got.length === 0) return;
        for (const t of got) claimed.push({ master, id: t.id, epoch: t.epoch, attempt: t.attempt });
      }
    };
    await Promise.all([drain(a, 'a', 'w1'), drain(b, 'b', 'w2'), drain(a, 'a', 'w3'), drain(b, 'b', 'w4')]);
    expect(claimed).toHaveLength(1000);
    expect(new Set(claimed.map((c) => c.id)).size).toBe(1000);
    expect(new Set(claimed.map((c) => c.epoch)).size).toBe(1000);
    expect(claimed.every((c) => c.attempt === 1)).toBe(true);
    expect(new Set(claimed.map((c) => c.master))).toEqual(new Set(['a', 'b']));

    // Every result goes to the Master that did NOT dispatch it, and again to both (a worker resending).
    const outcomes = await Promise.all(
      claimed.map((c) =>
        (c.master === 'a' ? b : a).storeResult({
          taskId: c.id,
          attempt: c.attempt,
          epoch: c.epoch,
          workerId: 'w',
          status: 'succeeded',
          errorCode: null,
          recordJson: '{}',
        }),
      ),
    );
    expect(outcomes.every((o) => o === 'accepted')).toBe(true);
    const again = await Promise.all(
      claimed.slice(0, 50).flatMap((c) =>
        [a, b].map((s) =>
          s.storeResult({
            taskId: c.id,
            attempt: c.attempt,
            epoch: c.epoch,
            workerId: 'w',
            status: 'failed',
            errorCode: 'x',
            recordJson: '{}',
          }),
        ),
      ),
    );
    expect(new Set(again)).toEqual(new Set(['duplicate']));
    expect(await a.countResults()).toBe(1000);
    expect((await b.getResult(claimed[0]?.id as string))?.status).toBe('succeeded');
  }, 120_000);

  it('epochs come from one sequence: exact above 2^53, never repeated after a restart; stale epochs are fenced', async () => {
    const [a, b, url] = await twoMasters();
    const big = (2n ** 53n).toString();
    // Test-only: move the sequence to 2^53 (a long-lived deployment).
    const { default: postgres } = await import('postgres');
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    await sql`SELECT setval('master_epoch', ${big}::bigint)`;
    await sql.end();
    await a.insertTasks(tasks(2, 'big'));
    const [first] = await a.claim(w('w1'), 'a', 1);
    expect(first?.epoch).toBe((2n ** 53n + 1n).toString());
    const [second] = await b.claim(w('w2'), 'b', 1);
    expect(second?.epoch).toBe((2n ** 53n + 2n).toString());
    // A result with the epoch rounded through a double (2^53 + 1 -> 2^53) is fenced, not accepted.
    const rounded = String(Number(first?.epoch));
    expect(
      await b.storeResult({
        taskId: first?.id as string,
        attempt: 1,
        epoch: rounded,
        workerId: 'w1',
        status: 'succeeded',
        errorCode: null,
        recordJson: null,
      }),
    ).toBe('fenced');
    expect(
      await b.storeResult({
        taskId: first?.id as string,
        attempt: 1,
        epoch: first?.epoch as string,
        workerId: 'w1',
        status: 'succeeded',
        errorCode: null,
        recordJson: null,
      }),
    ).toBe('accepted');
    // A Master restarted (a new store on the same database) continues the sequence.
    await a.close();
    const restarted = new PostgresMasterStore({ url });
    stores.push(restarted);
    await restarted.init();
    await restarted.insertTasks(tasks(1, 'after'));
    const [later] = await restarted.claim(w('w1'), 'a2', 1);
    expect(BigInt(later?.epoch as string)).toBeGreaterThan(BigInt(second?.epoch as string));
  }, 60_000);

  it('one Master at a time holds the sweep lease; a lost worker’s tasks are requeued once and re-dispatched with new epochs', async () => {
    const [a, b] = await twoMasters();
    const now = Date.now();
    expect(await a.lease('sweep', 'a', 1000, now)).toBe(true);
    expect(await b.lease('sweep', 'b', 1000, now)).toBe(false);
    expect(await a.lease('sweep', 'a', 1000, now + 500)).toBe(true); // renewed by its holder
    expect(await b.lease('sweep', 'b', 1000, now + 2000)).toBe(true); // expired: taken over
    expect(await a.lease('sweep', 'a', 1000, now + 2100)).toBe(false);

    await a.insertTasks(tasks(3, 'lw'));
    const before = await a.claim(w('doomed'), 'a', 3);
    await a.seen('doomed', 'a', now);
    await b.seen('healthy', 'b', now + 5000);
    // The lease holder finds the silent worker; both Masters requeue at once: one wins each row.
    expect(await b.markSilentLost(now + 5000, 3000)).toEqual(['doomed']);
    expect(await a.markSilentLost(now + 5000, 3000)).toEqual([]);
    const [ra, rb] = await Promise.all([a.requeueWorker('doomed'), b.requeueWorker('doomed')]);
    expect([...ra, ...rb].sort()).toEqual(before.map((t) => t.id).sort());
    const after = await b.claim(w('healthy'), 'b', 10);
    expect(after).toHaveLength(3);
    for (const t of after) {
      expect(t.attempt).toBe(2);
      expect(before.some((x) => x.epoch === t.epoch)).toBe(false);
    }
    expect((await a.workers()).map((w) => [w.id, w.status])).toEqual([
      ['doomed', 'lost'],
      ['healthy', 'ok'],
    ]);
  }, 60_000);

  it("a worker that moved to another Master keeps its tasks: the old Master's requeue leaves them; reconcile requeues only what it does not hold", async () => {
    const [a, b] = await twoMasters();
    await a.insertTasks(tasks(4, 'mv'));
    const claimed = await a.claim(w('mover'), 'a', 4);
    expect(claimed).toHaveLength(4);
    await a.seen('mover', 'a', Date.now());
    // It registers with b holding three of the four (the fourth never reached it).
    await b.seen('mover', 'b', Date.now());
    const held = claimed.slice(0, 3).map((t) => ({ taskId: t.id, epoch: t.epoch }));
    const { current, requeued } = await b.reconcileWorker('mover', held);
    expect(current.map((t) => t.id).sort()).toEqual(held.map((h) => h.taskId).sort());
    expect(requeued).toEqual([claimed[3]?.id]);
    // a's grace for the old stream expires: the registry says the worker is b's now.
    expect(await a.requeueWorker('mover', 'a')).toEqual([]);
    expect((await b.getTask(claimed[0]?.id as string))?.status).toBe('dispatched');
    expect(await b.requeueWorker('mover', 'b')).toHaveLength(3);
  }, 60_000);

  it('the sweep of silent workers and a re-registration are one or the other: swept attempts are named stale, a fresh worker is not swept', async () => {
    const [a, b] = await twoMasters();
    await a.insertTasks(tasks(4, 'sw'));
    const now = Date.now();
    const first = await a.claim(w('early'), 'a', 2);
    const second = await a.claim(w('late'), 'a', 2);
    await a.seen('early', 'a', now - 10_000);
    await a.seen('late', 'a', now - 10_000);
    // `late` re-registers with b first (registry row refreshed in the reconcile's transaction)...
    const heldLate = second.map((t) => ({ taskId: t.id, epoch: t.epoch }));
    const reLate = await b.reconcileWorker('late', heldLate, 'b');
    expect(reLate.current).toHaveLength(2);
    // ... and the sweep, which runs at the same time as `early` re-registering, takes one side.
    const heldEarly = first.map((t) => ({ taskId: t.id, epoch: t.epoch }));
    const [swept, reEarly] = await Promise.all([b.sweepSilent(now, 3000), b.reconcileWorker('early', heldEarly, 'b')]);
    expect(swept.map((s) => s.workerId)).not.toContain('late');
    const sweptEarly = swept.find((s) => s.workerId === 'early');
    if (sweptEarly) {
      // Swept first: its attempts are pending again, and the worker is told to stop them.
      expect(sweptEarly.requeued.sort()).toEqual(first.map((t) => t.id).sort());
      expect(reEarly.current).toEqual([]);
      expect(reEarly.stale.map((h) => h.taskId).sort()).toEqual(first.map((t) => t.id).sort());
    } else {
      expect(reEarly.current).toHaveLength(2);
      expect(reEarly.stale).toEqual([]);
    }
    for (const t of second) expect((await a.getTask(t.id))?.status).toBe('dispatched');
    // `late` is b's in the registry now: a (dead or not yet aware) claims nothing more for it.
    await a.insertTasks(tasks(2, 'sw2'));
    expect(await a.claim(w('late'), 'a', 2)).toEqual([]);
    expect(await b.claim(w('late'), 'b', 2)).toHaveLength(2);
  }, 60_000);
});
