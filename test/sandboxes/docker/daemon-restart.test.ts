/**
 * The Docker daemon stops while invocations run and comes back: in-flight and new invocations
 * end with clear errors, health says why, and the pool recovers once the daemon answers again.
 * Only the dockerd named by $STRATA_DOCKERD_PIDFILE (written by .ci/docker.sh when it started
 * the daemon) is ever stopped, by PID, and it is restarted with its own command line.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDockerDriver, type DockerDriver } from '../../../sandboxes/docker/driver.ts';
import type { Requirement } from '../../support/requirements.ts';
import { describeIf } from '../../support/requirements.ts';
import { lockDaemon, SUITE_START_MS, unlockDaemon } from './daemon-lock.ts';
import {
  artifact,
  dockerRequirement,
  dockerSettings,
  invocation,
  labelledContainers,
  runOptions,
  uniqueWorkerId,
} from './helpers.ts';

const PIDFILE = process.env.STRATA_DOCKERD_PIDFILE ?? '/run/strata-dockerd.pid';
const LOG = process.env.STRATA_DOCKERD_LOG ?? '/var/log/dockerd.log';

const dockerdPid = (): number | undefined => {
  try {
    const pid = Number(readFileSync(PIDFILE, 'utf8').trim());
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'dockerd' ? pid : undefined;
  } catch {
    return undefined;
  }
};

function restartRequirement(): Requirement {
  const docker = dockerRequirement();
  if (!docker.ok) return docker;
  if (process.getuid?.() !== 0) return { ok: false, reason: 'restarting dockerd needs root' };
  if (!dockerdPid()) {
    return {
      ok: false,
      reason: `no dockerd started by .ci/docker.sh (pid file ${PIDFILE}); a daemon this suite did not start is never stopped`,
    };
  }
  return { ok: true };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, check: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}
const daemonAnswers = (): boolean => {
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
};

describeIf(restartRequirement(), 'docker daemon stopped and restarted while invocations run', () => {
  const workerId = uniqueWorkerId('restart');
  let driver: DockerDriver;
  let cmdline: string[] = [];

  async function startDaemon(): Promise<void> {
    const log = openSync(LOG, 'a');
    const child = spawn(cmdline[0] as string, cmdline.slice(1), { detached: true, stdio: ['ignore', log, log] });
    child.unref();
    writeFileSync(PIDFILE, String(child.pid));
    await until('dockerd to answer again', daemonAnswers, 90_000);
  }

  beforeAll(async () => {
    await lockDaemon();
    const pid = dockerdPid() as number;
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    driver = createDockerDriver({ settings: dockerSettings({ poolMin: 1, healthInterval: 300 }), workerId });
    await driver.start();
    await driver.imagesReady();
  }, SUITE_START_MS);

  afterAll(async () => {
    try {
      if (!dockerdPid() && cmdline.length > 0) await startDaemon();
      await driver?.dispose();
      expect(labelledContainers(workerId)).toEqual([]);
    } finally {
      unlockDaemon();
    }
  }, 120_000);

  it('fails in-flight and new invocations clearly, then recovers', { timeout: 240_000 }, async () => {
    const quick = await driver.prepare(
      artifact({ name: 'quick', runtime: 'js', trust: 'untrusted', source: 'export default (i) => ({ ok: i.n })' }),
    );
    const slow = await driver.prepare(
      artifact({
        name: 'slow',
        runtime: 'js',
        trust: 'untrusted',
        source: 'export default () => new Promise((r) => setTimeout(() => r("late"), 60000))',
      }),
    );
    const call = async (p: typeof quick, input: unknown, timeoutMs = 20_000) => {
      const r = runOptions({ timeoutMs });
      try {
        return await driver.run(p, invocation(input), r.options);
      } finally {
        r.dispose();
      }
    };
    expect((await call(quick, { n: 1 })).result).toEqual({ ok: 1 });

    const inFlight = call(slow, {}, 120_000);
    await sleep(1500);
    const pid = dockerdPid() as number;
    process.kill(pid, 'SIGTERM');
    await until('dockerd to exit', () => !existsSync(`/proc/${pid}`), 90_000);

    const lost = await inFlight;
    expect(lost.status).toBe('killed');
    expect(['tier_unavailable', 'sandbox_crashed']).toContain(lost.error?.code);
    expect(lost.error?.message).toMatch(/daemon|container/i);

    await until('health to report the daemon down', () => !driver.health().available, 20_000);
    expect(driver.health().reason).toMatch(/docker daemon not reachable/);
    const down = await call(quick, { n: 2 });
    expect(down.status).toBe('killed');
    expect(down.error?.code).toBe('tier_unavailable');
    await expect(
      driver.prepare(artifact({ name: 'new-while-down', runtime: 'js', source: 'export default () => 1' })),
    ).rejects.toMatchObject({
      code: 'tier_unavailable',
    });

    await startDaemon();
    await until('health to report the daemon back', () => driver.health().available, 30_000);
    const back = await call(quick, { n: 3 });
    expect(back.status).toBe('succeeded');
    expect(back.result).toEqual({ ok: 3 });
    // Containers the old daemon left behind were reaped on reconnect: only the pool's own remain.
    await until(
      'stale containers to be reaped',
      async () => {
        await driver.reap();
        return labelledContainers(workerId).length === (driver.stats() as { containers: number }).containers;
      },
      20_000,
    );
  });
});
