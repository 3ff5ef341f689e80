/** Shared helpers of the docker tier suites: daemon requirement, artifacts, invocations. */
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { expect, vi } from 'vitest';
import { createDockerDriver, type DockerDriver, type DockerDriverOptions } from '../../../sandboxes/docker/driver.ts';
import { configSchema } from '../../../src/config/schema.ts';
import type { Artifact, Invocation, RunOptions } from '../../../src/core/driver.ts';
import { StrataError } from '../../../src/core/errors.ts';
import type { ResolvedLimits } from '../../../src/core/limits.ts';
import { LogBudget } from '../../../src/core/log-budget.ts';
import { type ManifestInput, manifestSchema } from '../../../src/core/manifest.ts';
import { lockDaemon, unlockDaemon } from './daemon-lock.ts';

// A warm boot (scratch disk, container, runner) is part of the invocation's time and takes
// seconds on a busy 2-core machine: generous limits, never the feature under test.
vi.setConfig({ testTimeout: 180_000 });

export { dockerRequirement } from '../../support/docker.ts';

export function dockerSettings(overrides: Record<string, unknown> = {}) {
  return configSchema.parse({ docker: { healthInterval: 3_600_000, reapInterval: 3_600_000, ...overrides } }).docker;
}

export function artifact(input: ManifestInput): Artifact {
  const manifest = manifestSchema.parse(input);
  const code = Buffer.from(manifest.source ?? '');
  const digest = createHash('sha256').update(JSON.stringify(manifest)).digest('hex');
  return { digest, name: manifest.name, version: 1, manifest, code };
}

export function invocation(input: unknown = {}): Invocation {
  return { id: randomUUID(), input, inputJson: JSON.stringify(input), priority: 0 };
}

export interface Run {
  options: RunOptions;
  logs: LogBudget;
  controller: AbortController;
  dispose(): void;
}

/** Run options whose signal fires with a timeout StrataError after `limits.timeoutMs`. */
export function runOptions(limits: Partial<ResolvedLimits> = {}): Run {
  const resolved: ResolvedLimits = {
    timeoutMs: 30_000,
    memoryMb: 128,
    logBytes: 64 * 1024,
    resultBytes: 1024 * 1024,
    pids: 64,
    tmpMb: 64,
    errorBytes: 16 * 1024,
    ...limits,
  };
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new StrataError('timeout', `the function ran past its ${resolved.timeoutMs} ms deadline`)),
    resolved.timeoutMs,
  );
  const logs = new LogBudget(resolved.logBytes);
  return {
    options: { deadline: Date.now() + resolved.timeoutMs, limits: resolved, signal: controller.signal, logs },
    logs,
    controller,
    dispose: () => clearTimeout(timer),
  };
}

/** Containers on the daemon labelled with `workerId`. */
export function labelledContainers(workerId: string): string[] {
  const out = execFileSync('docker', ['ps', '-aq', '--filter', `label=io.strata.worker=${workerId}`], {
    encoding: 'utf8',
  });
  return out.split('\n').filter(Boolean);
}

export const uniqueWorkerId = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

/** A suite's driver: takes the daemon lock (suites share one daemon), starts it, waits for the runner images. */
export async function startSuiteDriver(
  settings: Record<string, unknown>,
  workerId: string,
  extra: Pick<DockerDriverOptions, 'egress'> = {},
): Promise<DockerDriver> {
  await lockDaemon();
  const driver = createDockerDriver({ settings: dockerSettings(settings), workerId, ...extra });
  await driver.start();
  await driver.imagesReady();
  return driver;
}

/** Dispose a suite's driver, check that it left no container behind, release the daemon lock. */
export async function stopSuiteDriver(driver: DockerDriver | undefined, workerId: string): Promise<void> {
  try {
    await driver?.dispose();
    expect(labelledContainers(workerId)).toEqual([]);
  } finally {
    unlockDaemon();
  }
}
