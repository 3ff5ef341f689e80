/** Test helpers for the isolate tier: artifacts, run options, and process checks. */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { IsolateDriver } from '../../../sandboxes/isolate/driver.ts';
import type { Artifact, Invocation, RunOptions } from '../../../src/core/driver.ts';
import { StrataError } from '../../../src/core/errors.ts';
import type { RunOutcome } from '../../../src/core/execution.ts';
import type { ResolvedLimits } from '../../../src/core/limits.ts';
import { LogBudget } from '../../../src/core/log-budget.ts';
import { type ManifestInput, manifestSchema } from '../../../src/core/manifest.ts';

let seq = 0;

/** A JS function artifact; the digest covers manifest and code like the registry's. */
export function jsArtifact(source: string, manifest: Partial<ManifestInput> = {}): Artifact {
  const m = manifestSchema.parse({ name: `fn-${++seq}`, runtime: 'js', trust: 'trusted', source, ...manifest });
  const code = new TextEncoder().encode(source);
  const digest = createHash('sha256').update(JSON.stringify(m)).update(code).digest('hex');
  return { digest, name: m.name, version: 1, manifest: m, code };
}

export function invocation(input: unknown = null): Invocation {
  return { id: `inv-${++seq}`, input, inputJson: JSON.stringify(input), priority: 0 };
}

export interface Ran {
  outcome: RunOutcome;
  logs: LogBudget;
  elapsedMs: number;
}

/**
 * Run like the executor does: the signal fires at the deadline with a 'timeout' reason; `cancel`
 * aborts it earlier with a 'cancelled' reason.
 */
export async function runIn(
  driver: IsolateDriver,
  artifact: Artifact,
  input: unknown = null,
  limits: Partial<ResolvedLimits> = {},
  cancel?: AbortSignal,
): Promise<Ran> {
  const resolved: ResolvedLimits = {
    timeoutMs: 2000,
    memoryMb: 32,
    logBytes: 4096,
    resultBytes: 65536,
    pids: 64,
    tmpMb: 64,
    errorBytes: 16 * 1024,
    ...limits,
  };
  const controller = new AbortController();
  const started = Date.now();
  const timer = setTimeout(
    () => controller.abort(new StrataError('timeout', `the function did not finish within ${resolved.timeoutMs} ms`)),
    resolved.timeoutMs,
  );
  cancel?.addEventListener('abort', () => controller.abort(cancel.reason), { once: true });
  const logs = new LogBudget(resolved.logBytes);
  const options: RunOptions = {
    deadline: started + resolved.timeoutMs,
    limits: resolved,
    signal: controller.signal,
    logs,
  };
  try {
    const prepared = await driver.prepare(artifact);
    const outcome = await driver.run(prepared, invocation(input), options);
    return { outcome, logs, elapsedMs: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

export function isAlive(pid: number): boolean {
  if (!existsSync(`/proc/${pid}`)) return false;
  try {
    // A zombie still has /proc/<pid> until reaped; count it as gone.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

export function cmdline(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
}

/** Poll until `check` holds or `timeoutMs` passes; returns whether it held. */
export async function until(check: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return check();
}

/** Wait until the pool has `size` live hosts none of which is in `gone`. */
export async function poolSettled(driver: IsolateDriver, size: number, gone: readonly number[] = []): Promise<boolean> {
  return until(() => {
    const pids = driver.pool.pids();
    return pids.length === size && pids.every((p) => !gone.includes(p)) && pids.every(isAlive);
  }, 8000);
}

export function newDriver(hosts = 1): IsolateDriver {
  return new IsolateDriver({ hosts, maxWarm: 16, killAfterMs: 500 });
}
