/** Start a reference Master and workers on loopback for tests, each with its own temp data dir. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach } from 'vitest';
import { loadConfig } from '../../../src/config/load.ts';
import { MasterLink } from '../../../src/link/master-link.ts';
import type { TierReport } from '../../../src/link/types.ts';
import { openCatalogue } from '../../../src/master/catalogue.ts';
import { MasterServer } from '../../../src/master/server.ts';
import { Database } from '../../../src/store/database.ts';
import { FakeCatalogue, FakeExecutor } from './fakes.ts';

const dirs: string[] = [];

export type Cleanup = () => Promise<void> | void;

/**
 * The suite's cleanup list: what a test pushes runs after it, newest first; the temp dirs go after
 * each test, or after the whole file when tests share dirs made in beforeAll.
 */
export function useCleanups(tempDirs: 'afterEach' | 'afterAll' = 'afterEach'): Cleanup[] {
  const cleanups: Cleanup[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    if (tempDirs === 'afterEach') removeTempDirs();
    // Closing a Master and its workers drains their in-flight work: generous for a busy machine.
  }, 120_000);
  if (tempDirs === 'afterAll') afterAll(() => removeTempDirs());
  return cleanups;
}

export function tempDir(prefix = 'strata-link-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export interface TestMaster {
  server: MasterServer;
  catalogue: FakeCatalogue;
  db: Database;
  dataDir: string;
  address: string;
  stop(): Promise<void>;
}

export async function startMaster(
  options: { dataDir?: string; overrides?: Record<string, unknown>; catalogue?: FakeCatalogue; grpc?: string } = {},
): Promise<TestMaster> {
  const dataDir = options.dataDir ?? tempDir('strata-master-');
  const config = loadConfig({
    env: {},
    overrides: { 'master.grpc': options.grpc ?? '127.0.0.1:0', 'master.http': '127.0.0.1:0', ...options.overrides },
  });
  const db = new Database(join(dataDir, 'master.db'));
  const catalogue = options.catalogue ?? new FakeCatalogue();
  const server = new MasterServer({ config: config.master, db, catalogue, dataDir, http: false });
  await server.start();
  return {
    server,
    catalogue,
    db,
    dataDir,
    address: server.grpcAddress,
    async stop() {
      await server.stop();
      db.close();
    },
  };
}

export interface TestWorker {
  link: MasterLink;
  executor: FakeExecutor;
  registry: FakeCatalogue;
  db: Database;
  dataDir: string;
  tiers: TierReport[];
  stop(): Promise<void>;
}

export function startWorker(options: {
  masters: string[];
  id?: string;
  dataDir?: string;
  concurrency?: number;
  overrides?: Record<string, unknown>;
  tiers?: TierReport[];
  labels?: Record<string, string>;
}): TestWorker {
  const dataDir = options.dataDir ?? tempDir('strata-worker-');
  const config = loadConfig({
    env: {},
    overrides: {
      'link.masters': options.masters.join(','),
      'link.reconnectInitial': 50,
      'link.reconnectMax': 500,
      ...(options.labels ? { 'link.labels': options.labels } : {}),
      ...options.overrides,
    },
  });
  const db = new Database(join(dataDir, 'worker.db'));
  const executor = new FakeExecutor({ concurrency: options.concurrency ?? 4 });
  const registry = new FakeCatalogue();
  const tiers = options.tiers ?? [{ name: 'isolate', available: true }];
  const link = new MasterLink({
    config: config.link,
    db,
    executor,
    registry,
    workerId: options.id ?? `w-${Math.random().toString(36).slice(2, 8)}`,
    dataDir,
    tiersHealth: () => tiers,
    nodeUsage: () => ({ cpuUsage: 0, cpuCores: 2, memoryTotalBytes: 8e9, memoryUsedBytes: 1e9 }),
  });
  link.start();
  return {
    link,
    executor,
    registry,
    db,
    dataDir,
    tiers,
    async stop() {
      await link.stop();
      db.close();
    },
  };
}

export async function waitFor<T>(check: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const NOOP_MANIFEST = {
  name: 'noop',
  runtime: 'js',
  trust: 'trusted',
  source: 'export default async (input) => input',
};

/** Deploy the no-op function and return its name. */
export async function deployNoop(master: TestMaster, code = new Uint8Array()): Promise<string> {
  await master.catalogue.deploy(NOOP_MANIFEST, code);
  return NOOP_MANIFEST.name;
}

/** Wait until every task is final; returns their views. */
export async function waitForTasks(master: TestMaster, ids: string[], timeoutMs = 15_000) {
  return waitFor(
    () => {
      const views = ids.map((id) => master.server.core.task(id));
      return views.every((v) => v && !['pending', 'dispatched', 'running'].includes(v.status)) ? views : undefined;
    },
    `${ids.length} tasks to finish`,
    timeoutMs,
  );
}

export function countResults(master: TestMaster): number {
  return master.server.core.embedded?.countResultsNow() ?? 0;
}

/** A reference Master with the real catalogue (src/registry) on loopback ports, as `strata master` runs it. */
export async function startCatalogueMaster(
  overrides: Record<string, unknown> = {},
): Promise<{ master: MasterServer; stop(): Promise<void> }> {
  const dataDir = tempDir('strata-master-');
  const db = new Database(join(dataDir, 'master.db'));
  const config = loadConfig({
    env: {},
    overrides: { 'master.grpc': '127.0.0.1:0', 'master.http': '127.0.0.1:0', ...overrides },
  });
  const master = new MasterServer({ config: config.master, db, catalogue: openCatalogue(db, dataDir), dataDir });
  await master.start();
  return {
    master,
    async stop() {
      await master.stop();
      db.close();
    },
  };
}
