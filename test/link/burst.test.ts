/**
 * Issue 16 item 11: a burst of trivial tasks through the reference Master with two real workers
 * (src/cli/worker.ts: registry, executor, isolate tier). Every task ends `succeeded` with exactly
 * one result, the function is prepared once per worker (not once per task), and the hybrid mode
 * switches a few times at most (it used to flap push <-> pull on every task start and end).
 * Counts come from the workers' own counters and the Master's events, never from timing.
 */
import { describe, expect, it } from 'vitest';
import type { Worker } from '../../src/cli/worker.ts';
import { startCatalogueMaster, useCleanups, waitFor } from './support/harness.ts';
import { startLinkedWorker } from './support/real-worker.ts';

const cleanups = useCleanups();

const TASKS = 1000;

/** Counts what reaches the isolate hosts: `check` is the tier's prepare (a compile). */
function countHostRequests(worker: Worker): Record<string, number> {
  const counts: Record<string, number> = {};
  const driver = worker.drivers.find((d) => d.tier === 'isolate') as unknown as {
    pool: { request: (m: { type: string }, o: unknown) => Promise<unknown> };
  };
  const request = driver.pool.request.bind(driver.pool);
  driver.pool.request = (message, options) => {
    counts[message.type] = (counts[message.type] ?? 0) + 1;
    return request(message, options);
  };
  return counts;
}

describe('a burst through the Master', () => {
  it(`${TASKS} tasks of a 1 ms function on two workers: all succeed, one prepare per worker, a few mode switches`, async () => {
    // The worker is judged on the Master's wire, not on this busy machine's speed: the silent-worker
    // timeout and the function's deadline are generous (the figures are in docs/master-link.md).
    const { master, stop } = await startCatalogueMaster({ 'master.heartbeatTimeout': '30s' });
    cleanups.push(stop);
    const workers: Worker[] = [];
    const hostRequests: Record<string, number>[] = [];
    for (const id of ['burst-a', 'burst-b']) {
      const worker = await startLinkedWorker(master, id, cleanups);
      workers.push(worker);
      hostRequests.push(countHostRequests(worker));
    }
    await waitFor(
      () => master.core.workers.get('burst-a')?.connected && master.core.workers.get('burst-b')?.connected,
      'both workers to register',
      30_000,
    );
    master.core.catalogue.deploy({
      name: 'add',
      runtime: 'js',
      trust: 'trusted',
      source: 'export default (input) => ({ sum: input.a + input.b })',
      limits: { timeoutMs: 120_000 },
    });

    const finals = new Map<
      string,
      { status: string; result: unknown; error?: { code: string; message: string } | null }
    >();
    let repeats = 0;
    const allFinal = new Promise<void>((resolve) => {
      master.core.on('final', (view) => {
        if (finals.has(view.taskId)) repeats++;
        finals.set(view.taskId, { status: view.status, result: view.result, error: view.error ?? null });
        if (finals.size === TASKS) resolve();
      });
    });
    const ids = master.core.submitMany(
      Array.from({ length: TASKS }, (_, i) => ({ function: 'add', input: { a: i, b: 1 } })),
    );
    await allFinal;

    const statuses: Record<string, number> = {};
    // Which codes ended the others, with one message each: the verdict must say why.
    const why: Record<string, string> = {};
    for (const f of finals.values()) {
      statuses[f.status] = (statuses[f.status] ?? 0) + 1;
      if (f.error) why[`${f.status}/${f.error.code}`] ??= f.error.message;
    }
    expect(statuses, JSON.stringify(why)).toEqual({ succeeded: TASKS });
    expect(repeats).toBe(0);
    ids.forEach((id, i) => {
      expect(finals.get(id)?.result).toEqual({ sum: i + 1 });
    });
    expect(master.core.embedded?.countResultsNow()).toBe(TASKS);
    // Both workers took part.
    const byWorker = new Map<string, number>();
    for (const id of ids) {
      const w = master.core.task(id)?.workerId ?? '';
      byWorker.set(w, (byWorker.get(w) ?? 0) + 1);
    }
    expect([...byWorker.keys()].sort()).toEqual(['burst-a', 'burst-b']);
    for (const [i, worker] of workers.entries()) {
      // One compile of the function per worker (its one host), not one per task of the burst.
      expect(hostRequests[i]?.check ?? 0).toBeLessThanOrEqual(1);
      // Hysteresis: into pull for the burst and back, not hundreds of flips.
      const link = worker.link;
      expect(link).toBeDefined();
      expect(link?.counters.modeSwitches).toBeLessThanOrEqual(4);
      const metrics = await worker.metrics.metrics();
      expect(metrics).toContain(`strata_link_mode_switches_total ${link?.counters.modeSwitches}`);
    }
  }, 600_000);
});
