/** An Executor over fake drivers and an in-memory store, for the executor suites. */
import { pino } from 'pino';
import { afterEach } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import type { SandboxDriver } from '../../src/core/driver.ts';
import { Executor, type ResourceGovernor } from '../../src/executor/executor.ts';
import type { PhaseHooks } from '../../src/executor/phases.ts';
import { ExecutionStore } from '../../src/executor/records.ts';
import { Database } from '../../src/store/database.ts';
import { FakeDriver } from './fake-driver.ts';

const open: { db: Database; executor: Executor }[] = [];

afterEach(async () => {
  for (const { db, executor } of open.splice(0)) {
    await executor.shutdown(0);
    db.close();
  }
});

export interface SetupOptions {
  governor?: ResourceGovernor;
  drivers?: SandboxDriver[];
  hooks?: PhaseHooks;
}

export function setup(overrides: Record<string, unknown> = {}, options: SetupOptions = {}) {
  const config = loadConfig({
    env: {},
    overrides: { 'executor.concurrency': 2, 'executor.queueSize': 8, 'executor.retryAfter': '1500ms', ...overrides },
  });
  const db = new Database(':memory:');
  const records = new ExecutionStore(db, 100_000);
  const driver = new FakeDriver('isolate');
  const executor = new Executor({
    config,
    drivers: options.drivers ?? [driver],
    records,
    logger: pino({ level: 'silent' }),
    ...(options.governor ? { governor: options.governor } : {}),
    ...(options.hooks ? { hooks: options.hooks } : {}),
  });
  open.push({ db, executor });
  return { executor, driver, records, db, config };
}
