/** A gateway over fake sandbox drivers (no hosts, no cgroups): for HTTP paths a real tier cannot reach on demand. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import pino from 'pino';
import { Registry as MetricsRegistry } from 'prom-client';
import { loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import type { SandboxDriver } from '../../src/core/driver.ts';
import { Executor } from '../../src/executor/executor.ts';
import { ExecutionStore } from '../../src/executor/records.ts';
import { createGateway } from '../../src/gateway/app.ts';
import type { GatewayEnv } from '../../src/gateway/env.ts';
import { Registry } from '../../src/registry/registry.ts';
import { Database } from '../../src/store/database.ts';
import type { Tenants } from '../../src/tenants/tenants.ts';

export interface FakeGateway {
  app: Hono<GatewayEnv>;
  executor: Executor;
  close(): Promise<void>;
}

export interface FakeGatewayOptions {
  /** Tenants over the gateway's database: wired into the executor (admission, hooks) and the gateway. */
  tenants?: (db: Database, config: Config) => Tenants;
}

export function fakeGateway(
  drivers: SandboxDriver[],
  overrides: Record<string, unknown> = {},
  options: FakeGatewayOptions = {},
): FakeGateway {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-fake-gw-'));
  const config = loadConfig({ env: {}, overrides: { dataDir, ...overrides } });
  const db = new Database(join(dataDir, 'strata.db'));
  const registry = new Registry({ db, dataDir });
  const records = new ExecutionStore(db, 1000);
  const logger = pino({ level: 'silent' });
  const tenants = options.tenants?.(db, config);
  const executor = new Executor({
    config,
    drivers,
    records,
    logger,
    ...(tenants ? { tenantAdmission: (tenant: string) => tenants.admission(tenant), hooks: tenants.hooks() } : {}),
  });
  const app = createGateway({
    registry,
    executor,
    records,
    metrics: new MetricsRegistry(),
    logger,
    bodyLimitBytes: config.bodyLimit,
    apiTokens: [],
    ...(tenants ? { tenants } : {}),
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
