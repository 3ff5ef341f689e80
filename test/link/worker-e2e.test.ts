/**
 * End to end: the reference Master and the real worker (src/cli/worker.ts: registry, executor,
 * isolate tier), linked by startWorker itself. A JS function deployed on the Master runs in an
 * isolate on the worker; cancel reaches the sandbox.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { MasterServer } from '../../src/master/server.ts';
import { describeIf } from '../support/requirements.ts';
import { startCatalogueMaster, useCleanups, waitFor } from './support/harness.ts';
import { startLinkedWorker } from './support/real-worker.ts';

const cleanups = useCleanups();

const final = (s: string | undefined) => s !== undefined && !['pending', 'dispatched', 'running'].includes(s);

/** A reference Master and a real worker (startWorker, which links itself when link.masters is set), registered. */
async function masterAndWorker(workerId: string) {
  const { master, stop } = await startCatalogueMaster();
  cleanups.push(stop);
  const worker = await startLinkedWorker(master, workerId, cleanups);
  expect(worker.link).toBeDefined();
  await waitFor(() => master.core.workers.get(workerId)?.connected, 'the worker to register', 15_000);
  return { master, worker };
}

/** The task's view once it has a final status. */
const finished = (master: MasterServer, id: string) =>
  waitFor(() => (final(master.core.task(id)?.status) ? master.core.task(id) : undefined), 'the task', 20_000);

describe('Master -> real worker', () => {
  it('runs a JS function from the Master in the isolate tier and cancels a running one', async () => {
    const { master, worker } = await masterAndWorker('e2e');

    master.core.catalogue.deploy({
      name: 'double',
      runtime: 'js',
      trust: 'trusted',
      source: 'export default (input) => ({ doubled: input.n * 2 })',
    });
    const id = master.core.submit({ function: 'double', input: { n: 21 } });
    const view = await finished(master, id);
    expect(view.error).toBeNull();
    expect(view).toMatchObject({ status: 'succeeded', result: { doubled: 42 }, workerId: 'e2e' });

    master.core.catalogue.deploy({
      name: 'forever',
      runtime: 'js',
      trust: 'trusted',
      source: 'export default () => { for (;;) {} }',
      limits: { timeoutMs: 60_000 },
    });
    const slow = master.core.submit({ function: 'forever', input: {} });
    await waitFor(() => worker.executor.stats().running === 1, 'the slow task to run', 20_000);
    expect(await master.core.cancelTask(slow)).toMatchObject({ ok: true });
    expect(worker.executor.stats().running).toBe(0);
    await waitFor(() => final(master.core.task(slow)?.status), 'the killed result');
    expect(master.core.task(slow)).toMatchObject({ status: 'killed', error: { code: 'cancelled' } });

    const tiers = master.core.workers.get('e2e')?.tiers ?? [];
    expect(tiers.find((t) => t.name === 'isolate')?.available).toBe(true);
    const metrics = await worker.metrics.metrics();
    // Hybrid: push or pull depending on node CPU just after the busy loop; one of them is in force.
    expect(metrics).toMatch(/strata_link_dispatch_mode\{mode="(push|pull)",policy="hybrid"\} 1/);
    expect(metrics).toContain('strata_link_connected 1');
  }, 60_000);
});

const processTier = {
  ok: process.getuid?.() === 0 && existsSync('/usr/bin/bwrap'),
  reason: 'the process tier needs root and bubblewrap (/usr/bin/bwrap)',
};

describeIf(processTier, 'Master -> real worker, live logs', () => {
  it("streams a running script's stderr to the Master before the task ends", async () => {
    const { master } = await masterAndWorker('e2e-logs');

    master.core.catalogue.deploy({
      name: 'chatty',
      runtime: 'script',
      interpreter: 'bash',
      source: 'echo "tick-before-sleep" >&2; sleep 3; echo \'"done"\'',
    });
    const id = master.core.submit({ function: 'chatty', input: {} });
    // While the script sleeps, its first line is already at the Master.
    await waitFor(() => master.core.logs(id)?.includes('tick-before-sleep'), 'the live log line', 2500);
    expect(final(master.core.task(id)?.status)).toBe(false);
    const view = await finished(master, id);
    expect(view).toMatchObject({ status: 'succeeded', result: 'done' });
  }, 60_000);
});
