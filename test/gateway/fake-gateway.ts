/** A gateway over fake sandbox drivers (no hosts, no cgroups): for HTTP paths a real tier cannot reach on demand. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import pino from 'pino';
import { Registry as MetricsRegistry } from 'prom-client';
import { loadConfig } from '../../src/config/load.ts';
import type { SandboxDriver } from '../../src/core/driver.ts';
import { Executor } from '../../src/executor/executor.ts';
import { ExecutionStore } from '../../src/executor/records.ts';
import { createGateway } from '../../src/gateway/app.ts';
import type { GatewayEnv } from '../../src/gateway/env.ts';
import { Registry } from '../../src/registry/registry.ts';
import { Database } from '../../src/store/database.ts';

export interface FakeGateway {
  app: Hono<GatewayEnv>;
  executor: Executor;
  close(): Promise<void>;
}

export function fakeGateway(drivers: SandboxDriver[], overrides: Record<string, unknown> = {}): FakeGateway {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-fake-gw-'));
  const config = loadConfig({ env: {}, overrides: { dataDir, ...overrides } });
  const db = new Database(join(dataDir, 'strata.db'));
  const registry = new Registry({ db, dataDir });
  const records = new ExecutionStore(db, 1000);
  const logger = pino({ level: 'silent' });
  const executor = new Executor({ config, drivers, records, logger });
  const app = createGateway({
    registry,
    executor,
    records,
    metrics: new MetricsRegistry(),
    logger,
    bodyLimitBytes: config.bodyLimit,
    apiTokens: [],
    version: 'test',
  });
  return {
    app,
    executor,
    close: async () => {
      await executor.shutdown(0);
      db.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
