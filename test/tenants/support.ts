/** A worker in-process for the tenants suites: an admin token, a clock the test steps, helpers per key. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startWorker, type Worker } from '../../src/cli/worker.ts';
import { requestJson, testWorkerConfig } from '../support/worker-config.ts';

export const ADMIN = 'admin-token-0123456789abcdef';

export interface Clock {
  now: () => number;
  advance(ms: number): void;
}

export function clock(start = Date.parse('2026-01-01T00:00:00Z')): Clock {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

export interface TenantWorker {
  worker: Worker;
  clock: Clock;
  /** app.request with a JSON body as `token`. */
  call(token: string | undefined, method: string, path: string, body?: unknown): Promise<Response>;
  /** POST /v1/keys as the admin; the key text. */
  key(tenant: string, scopes: string[], expires?: string): Promise<{ id: string; key: string }>;
  close(): Promise<void>;
}

export async function startTenantWorker(
  overrides: Record<string, unknown> = {},
  options: { listen?: boolean } = {},
): Promise<TenantWorker> {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-tenants-'));
  const config = testWorkerConfig('strata-tenants', dataDir, { 'tenants.adminToken': ADMIN, ...overrides });
  const c = clock();
  const worker = await startWorker(config, {
    listen: options.listen ?? false,
    logger: pino({ level: process.env.STRATA_TEST_LOG ?? 'silent' }),
    now: c.now,
  });
  const call: TenantWorker['call'] = (token, method, path, body) =>
    requestJson(worker, method, path, body, token !== undefined ? { authorization: `Bearer ${token}` } : {});
  return {
    worker,
    clock: c,
    call,
    key: async (tenant, scopes, expires) => {
      const res = await call(ADMIN, 'POST', '/v1/keys', { tenant, scopes, ...(expires ? { expires } : {}) });
      if (res.status !== 201) throw new Error(`key create answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as { id: string; key: string };
    },
    close: async () => {
      await worker.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const js = (name: string, source: string, extra: Record<string, unknown> = {}) => ({
  name,
  runtime: 'js',
  trust: 'trusted',
  source,
  ...extra,
});

export async function errorOf(
  res: Response,
): Promise<{ code: string; message: string; details?: Record<string, unknown> }> {
  const body = (await res.json()) as { error: { code: string; message: string; details?: Record<string, unknown> } };
  return body.error;
}
