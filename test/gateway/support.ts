/** A worker started in-process for gateway tests: a temp data dir, one isolate host, a silent logger. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startWorker, type Worker } from '../../src/cli/worker.ts';
import type { Resolver } from '../../src/net/destination-guard.ts';
import { requestJson, testWorkerConfig } from '../support/worker-config.ts';

export interface TestWorker {
  worker: Worker;
  dataDir: string;
  /** app.request with a JSON body (an object is serialized, a string is sent as it is). */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

export async function startTestWorker(
  overrides: Record<string, unknown> = {},
  options: { listen?: boolean; dataDir?: string; resolve?: Resolver } = {},
): Promise<TestWorker> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'strata-test-'));
  const config = testWorkerConfig('strata-test', dataDir, overrides);
  const worker = await startWorker(config, {
    listen: options.listen ?? false,
    logger: pino({ level: process.env.STRATA_TEST_LOG ?? 'silent' }),
    ...(options.resolve ? { resolve: options.resolve } : {}),
  });
  return {
    worker,
    dataDir,
    call: (method, path, body, headers) => requestJson(worker, method, path, body, headers),
    close: async () => {
      await worker.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A trusted JS manifest (runs in a warm isolate: fast). */
export const jsFunction = (name: string, source: string, extra: Record<string, unknown> = {}) => ({
  name,
  runtime: 'js',
  trust: 'trusted',
  source,
  ...extra,
});

/** Poll until `check` returns a value (not undefined) or the deadline passes. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Assert the one error shape and return it. */
export async function errorOf(response: Response): Promise<{ code: string; message: string }> {
  const body = (await response.json()) as { error?: { code?: unknown; message?: unknown } };
  if (typeof body.error?.code !== 'string' || typeof body.error.message !== 'string') {
    throw new Error(`not the error shape: ${JSON.stringify(body)}`);
  }
  return body.error as { code: string; message: string };
}
