/** Shared set-up for the process-tier suites: a cgroup manager, a driver and a run helper. */

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { it } from 'vitest';
import {
  createProcessDriver,
  type ProcessDriver,
  type ProcessDriverOptions,
} from '../../../sandboxes/process/driver.ts';
import { probeSandbox } from '../../../sandboxes/process/health.ts';
import type { Artifact } from '../../../src/core/driver.ts';
import { StrataError } from '../../../src/core/errors.ts';
import type { RunOutcome } from '../../../src/core/execution.ts';
import type { ResolvedLimits } from '../../../src/core/limits.ts';
import { LogBudget } from '../../../src/core/log-budget.ts';
import { type ManifestInput, manifestSchema } from '../../../src/core/manifest.ts';
import { type CgroupManager, createCgroupManager } from '../../../src/resources/cgroup/manager.ts';
import { cgroupV1Writable, uniqueParent } from '../../resources/cgroup-support.ts';
import { REQUIRE_ALL, type Requirement } from '../../support/requirements.ts';

export function processTierRequirement(): Requirement {
  const cg = cgroupV1Writable();
  if (!cg.ok) return cg;
  const probe = probeSandbox({ bwrap: 'bwrap', uid: 65534, gid: 65534 });
  return probe.ok ? { ok: true } : { ok: false, reason: probe.reason };
}

export function pythonRequirement(): Requirement {
  return existsSync('/usr/bin/python3')
    ? { ok: true }
    : { ok: false, reason: 'python3 is not installed at /usr/bin/python3 (Debian package python3)' };
}

/**
 * One test that needs a facility: runs when `req.ok`; otherwise skips with the reason printed,
 * or fails under STRATA_REQUIRE_ALL=1 (never a silent `it.runIf`).
 */
export function itIf(req: Requirement, name: string, fn: () => Promise<void> | void, timeout?: number): void {
  if (req.ok) return void it(name, fn, timeout);
  const why = req.reason ?? 'a required facility is missing';
  if (REQUIRE_ALL)
    it(`${name} (requires: ${why})`, () => {
      throw new Error(`STRATA_REQUIRE_ALL=1 and this test cannot run: ${why}`);
    });
  else {
    console.warn(`[skip] ${name}: ${why}`);
    it.skip(`${name} (skipped: ${why})`, fn);
  }
}

export interface Tier {
  cgroups: CgroupManager;
  driver: ProcessDriver;
}

export async function startTier(
  tag: string,
  settings: ProcessDriverOptions['settings'] = {},
  egress?: ProcessDriverOptions['egress'],
): Promise<Tier> {
  const cgroups = createCgroupManager({ parent: uniqueParent(tag) });
  await cgroups.start();
  const driver = createProcessDriver({ cgroups, settings, ...(egress ? { egress } : {}) });
  await driver.start();
  if (!driver.health().available) throw new Error(`process tier unavailable: ${driver.health().reason}`);
  return { cgroups, driver };
}

export async function stopTier(tier: Tier): Promise<void> {
  await tier.driver.dispose();
  await tier.cgroups.dispose();
}

export function artifactOf(manifest: ManifestInput): Artifact {
  const m = manifestSchema.parse(manifest);
  const code = new TextEncoder().encode(m.source ?? '');
  const digest = createHash('sha256').update(JSON.stringify(m)).digest('hex');
  return { digest, name: m.name, version: 1, manifest: m, code };
}

export interface RunResult {
  outcome: RunOutcome;
  logs: string;
  /** The sandbox group's directories, to assert they are gone. */
  groupDirs: string[];
}

let seq = 0;

/** Run a script with an executor-like deadline (the signal fires with a timeout StrataError). */
export async function runScript(
  tier: Tier,
  manifest: Omit<ManifestInput, 'runtime' | 'name'> & { name?: string },
  input: unknown = null,
  limits: Partial<ResolvedLimits> = {},
  control?: AbortController,
  /** Called once the sandbox is set up and the script starts (to act on a running script). */
  onStart?: () => void,
): Promise<RunResult> {
  const artifact = artifactOf({ name: 'test-script', runtime: 'script', ...manifest });
  const prepared = await tier.driver.prepare(artifact);
  const resolved: ResolvedLimits = {
    timeoutMs: 10_000,
    memoryMb: 128,
    logBytes: 64 * 1024,
    resultBytes: 1024 * 1024,
    pids: 64,
    tmpMb: 64,
    errorBytes: 16 * 1024,
    ...limits,
  };
  const ac = control ?? new AbortController();
  const timer = setTimeout(
    () => ac.abort(new StrataError('timeout', `the function ran longer than ${resolved.timeoutMs} ms`)),
    resolved.timeoutMs,
  );
  const logs = new LogBudget(resolved.logBytes);
  const id = `t${process.pid}-${++seq}`;
  let groupDirs: string[] = [];
  const outcome = await new Promise<RunOutcome>((resolve, reject) => {
    tier.driver
      .run(
        prepared,
        { id, input, inputJson: JSON.stringify(input), priority: 0 },
        {
          deadline: Date.now() + resolved.timeoutMs,
          limits: resolved,
          signal: ac.signal,
          logs,
          onStart: () => {
            groupDirs = [...(tier.driver.running().get(id)?.dirs ?? [])];
            onStart?.();
          },
        },
      )
      .then(resolve, reject);
  }).finally(() => clearTimeout(timer));
  return { outcome, logs: logs.text(), groupDirs };
}

/**
 * Sandbox processes (uid 65534) still in this tier's cgroups. A sandboxed process cannot leave
 * its group (it may not write cgroup.procs), so this also finds daemonized grandchildren.
 * Zombies (stat Z) hold nothing; the host's init reaps the ones re-parented to it.
 */
export function sandboxProcessesLeft(tier: Tier): string[] {
  const r = spawnSync('ps', ['-u', '65534', '-o', 'pid=,stat=,cmd='], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^\d+\s+Z/.test(l))
    .filter((l) => {
      const pid = Number(l.split(/\s+/)[0]);
      try {
        return readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(`/${tier.cgroups.parent}/`);
      } catch {
        return false;
      }
    });
}

export const groupGone = (dirs: string[]): boolean => dirs.length > 0 && dirs.every((d) => !existsSync(d));

export const readProcStatus = (pid: number): string | undefined => {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
};
