/** Test helpers: artifacts, invocations and run options for the wasm driver. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { createWasmDriver, type WasmDriver } from '../../../sandboxes/wasm/driver.ts';
import { sha256 } from '../../../sandboxes/wasm/transform.ts';
import { loadConfig } from '../../../src/config/index.ts';
import type { Artifact, Invocation, RunOptions } from '../../../src/core/driver.ts';
import { StrataError } from '../../../src/core/errors.ts';
import type { ResolvedLimits } from '../../../src/core/limits.ts';
import { LogBudget } from '../../../src/core/log-budget.ts';
import { type ManifestInput, manifestSchema } from '../../../src/core/manifest.ts';

let seq = 0;

export function artifact(code: Uint8Array | string, manifest: Partial<ManifestInput> = {}): Artifact {
  const m = manifestSchema.parse({ name: `fn-${++seq}`, runtime: 'wasm', ...manifest });
  const bytes = typeof code === 'string' ? new TextEncoder().encode(code) : code;
  return {
    digest: sha256(Buffer.concat([Buffer.from(JSON.stringify(m)), bytes])),
    name: m.name,
    version: 1,
    manifest: m,
    code: bytes,
  };
}

export function invocation(input: unknown): Invocation {
  return { id: `inv-${++seq}`, input, inputJson: JSON.stringify(input), priority: 0 };
}

export function runOptions(limits: Partial<ResolvedLimits> = {}, signal?: AbortSignal) {
  const resolved: ResolvedLimits = {
    timeoutMs: 5000,
    memoryMb: 64,
    logBytes: 4096,
    resultBytes: 65536,
    pids: 64,
    tmpMb: 64,
    errorBytes: 16 * 1024,
    ...limits,
  };
  const controller = new AbortController();
  const deadline = Date.now() + resolved.timeoutMs;
  const timer = setTimeout(
    () => controller.abort(new StrataError('timeout', `the function ran past its ${resolved.timeoutMs} ms deadline`)),
    resolved.timeoutMs + 200,
  );
  signal?.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
  const logs = new LogBudget(resolved.logBytes);
  const options: RunOptions = { deadline, limits: resolved, signal: controller.signal, logs };
  return { options, logs, controller, done: () => clearTimeout(timer) };
}

export interface DriverFixture {
  driver: WasmDriver;
  dataDir: string;
  cleanup(): Promise<void>;
}

/** The run's shared JS engine cache (test/support/wasm-engines.ts): engines are built once per run. */
export const engineCacheDir = (): string => inject('wasmEngineCache');

export function makeDriver(
  dataDir = mkdtempSync(join(tmpdir(), 'strata-wasm-data-')),
  threads = 2,
  wasm: Record<string, unknown> = {},
): DriverFixture {
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir,
      wasm: {
        hosts: 1,
        threadsPerHost: threads,
        engineCacheDir: engineCacheDir(),
        prebuildEngines: false,
        ...wasm,
      },
    },
  });
  const driver = createWasmDriver({
    config: config.wasm,
    dataDir,
    defaultMemoryBytes: 64 * 1024 ** 2,
    maxMemoryBytes: 1024 ** 3,
  });
  return {
    driver,
    dataDir,
    async cleanup() {
      await driver.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
