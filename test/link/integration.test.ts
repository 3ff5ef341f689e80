/**
 * The link with the real pieces it plugs into: src/registry's Registry on both sides (the Master's
 * catalogue and the worker's store, so digests must agree) and src/executor's Executor, over a
 * tiny in-test sandbox driver (the tiers have their own suites).
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import type { SandboxDriver } from '../../src/core/driver.ts';
import { usageOf } from '../../src/core/execution.ts';
import { Executor } from '../../src/executor/executor.ts';
import { ExecutionStore } from '../../src/executor/records.ts';
import { MasterLink } from '../../src/link/master-link.ts';
import { Registry } from '../../src/registry/registry.ts';
import { Database } from '../../src/store/database.ts';
import { startCatalogueMaster, tempDir, useCleanups, waitFor } from './support/harness.ts';

const cleanups = useCleanups();

/** Echoes its input after `input.sleep` ms; stops when the signal fires. */
function echoDriver(): SandboxDriver & { running: Set<string> } {
  const running = new Set<string>();
  return {
    tier: 'isolate',
    running,
    capabilities: {
      runtimes: ['js'],
      measures: ['wallMs'],
      pause: false,
      enforces: [],
      network: 'none',
      ownProcesses: false,
    },
    async start() {},
    health: () => ({ available: true }),
    async prepare(artifact) {
      return artifact;
    },
    async run(_prepared, invocation, options) {
      const t = Date.now();
      running.add(invocation.id);
      try {
        const sleep = (invocation.input as { sleep?: number } | null)?.sleep ?? 0;
        await new Promise<void>((res) => {
          const timer = setTimeout(res, sleep);
          options.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            res();
          });
        });
        if (options.signal.aborted)
          return {
            status: 'killed',
            error: { code: 'cancelled', message: 'cancelled' },
            usage: usageOf({ wallMs: Date.now() - t }),
          };
        return { status: 'succeeded', result: invocation.input, usage: usageOf({ wallMs: Date.now() - t }) };
      } finally {
        running.delete(invocation.id);
      }
    },
    async dispose() {},
  };
}

async function setup() {
  const { master, stop } = await startCatalogueMaster();
  cleanups.push(stop);

  const workerDir = tempDir('strata-worker-');
  const db = new Database(join(workerDir, 'strata.db'));
  const wconfig = loadConfig({ env: {}, overrides: { 'link.masters': master.grpcAddress, 'executor.concurrency': 4 } });
  const driver = echoDriver();
  const logger = pino({ level: 'silent' });
  const executor = new Executor({ config: wconfig, drivers: [driver], records: new ExecutionStore(db, 1000), logger });
  const registry = new Registry({ db, dataDir: workerDir });
  const link = new MasterLink({
    config: wconfig.link,
    db,
    executor,
    registry,
    logger,
    workerId: 'real',
    dataDir: workerDir,
  });
  link.start();
  cleanups.push(async () => {
    await link.stop();
    db.close();
  });
  await waitFor(() => master.core.workers.get('real')?.connected, 'the worker to register');
  return { master, link, executor, registry, driver };
}

describe('link with the real registry and executor', () => {
  it('a JS function deployed on the Master runs on the worker (artifact verified by digest)', async () => {
    const { master, registry } = await setup();
    const { fn } = await master.core.catalogue.deploy({
      name: 'echo',
      runtime: 'js',
      trust: 'trusted',
      source: 'export default (input) => input',
    });
    const id = master.core.submit({ function: 'echo', input: { hello: 'world' } });
    const view = await waitFor(() => {
      const v = master.core.task(id);
      return v && v.status !== 'pending' && v.status !== 'dispatched' && v.status !== 'running' ? v : undefined;
    }, 'the task to finish');
    expect(view.error).toBeNull();
    expect(view).toMatchObject({ status: 'succeeded', result: { hello: 'world' }, workerId: 'real' });
    expect(registry.getByDigest(fn.digest)?.name).toBe('echo');
  });

  it('cancel through the executor leaves the sandbox empty before the ack; the worker tiers come from the executor', async () => {
    const { master, driver } = await setup();
    await master.core.catalogue.deploy({
      name: 'slow',
      runtime: 'js',
      trust: 'trusted',
      source: 'export default () => 1',
    });
    const id = master.core.submit({ function: 'slow', input: { sleep: 30_000 } });
    await waitFor(() => driver.running.size === 1, 'the task to run');
    expect(await master.core.cancelTask(id)).toMatchObject({ ok: true });
    expect(driver.running.size).toBe(0);
    await waitFor(() => master.core.task(id)?.status === 'killed', 'the killed result');
    expect(master.core.workers.get('real')?.tiers).toEqual([{ name: 'isolate', available: true }]);
    expect(await master.core.pauseOrResume(id, 'pause')).toMatchObject({ ok: false });
  });
});
