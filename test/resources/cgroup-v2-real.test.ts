/**
 * cgroup v2 on a real kernel: this host's empty `unified` tree has no controllers, but the
 * core v2 files (cgroup.procs, cgroup.freeze, cgroup.kill, cgroup.events, cpu.stat) work, so
 * the v2 join / freeze / kill / remove path is exercised for real, and the process tier too.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createProcessDriver, type ProcessDriver } from '../../sandboxes/process/driver.ts';
import { type CgroupManager, createCgroupManager } from '../../src/resources/cgroup/manager.ts';
import { artifactOf, processTierRequirement, runScript } from '../sandboxes/process/support.ts';
import { describeIf, type Requirement } from '../support/requirements.ts';
import { uniqueParent } from './cgroup-support.ts';

const UNIFIED = '/sys/fs/cgroup/unified';

function realV2(): Requirement {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'requires root to write cgroups' };
  if (!existsSync(`${UNIFIED}/cgroup.controllers`)) return { ok: false, reason: `no cgroup v2 tree at ${UNIFIED}` };
  const tier = processTierRequirement();
  return tier.ok ? { ok: true } : tier;
}

const zombieOrGone = (pid: number) => {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
};

describeIf(realV2(), 'cgroup v2 on the real unified tree', () => {
  let mgr: CgroupManager;
  let driver: ProcessDriver;
  beforeAll(async () => {
    mgr = createCgroupManager({ root: UNIFIED, parent: uniqueParent('v2'), instance: '' });
    await mgr.start();
    // This tree has no controllers; the tier refuses that unless told to accept it.
    const strict = createProcessDriver({ cgroups: mgr });
    await strict.start();
    expect(strict.health()).toMatchObject({
      available: false,
      reason: expect.stringMatching(/controllers missing: cpu, memory, pids/),
    });
    await strict.dispose();
    driver = createProcessDriver({ cgroups: mgr, settings: { requireControllers: [] } });
    await driver.start();
  });
  afterAll(async () => {
    await driver.dispose();
    await mgr.dispose();
    expect(existsSync(`${UNIFIED}/${mgr.parent}`)).toBe(false);
  });

  it('detects v2 and says which limits it cannot enforce', () => {
    const h = mgr.health();
    expect(h).toMatchObject({ available: true, version: 'v2', mode: 'v2' });
    expect(h.missing.join('\n')).toMatch(/memory limits/);
  });

  it('freezes via cgroup.freeze and kills a tree via cgroup.kill', async () => {
    const g = mgr.createSandboxGroup(`v2-${Date.now()}`, {});
    // The shell forks only after it is in the group (it waits for a line on stdin).
    const child = spawn('/bin/sh', ['-c', 'read x; (while :; do :; done) & wait'], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    g.addPid(child.pid as number);
    child.stdin?.end('go\n');
    // Until the busy child runs in the group and has used some CPU (a busy machine is only slower).
    while (g.pids().length < 2 || ((g.usage().cpuMs as number | undefined) ?? 0) <= 60)
      await new Promise((r) => setTimeout(r, 20));
    const pids = g.pids();
    expect(pids.length).toBeGreaterThanOrEqual(2);
    await g.freeze();
    expect(readFileSync(`${g.dirs[0]}/cgroup.events`, 'utf8')).toMatch(/frozen 1/);
    const a = g.usage().cpuMs as number;
    await new Promise((r) => setTimeout(r, 200));
    expect((g.usage().cpuMs as number) - a).toBeLessThan(5);
    await g.thaw();
    expect(g.usage().measured).toContain('cpuMs');
    expect(await g.kill()).toBe(true);
    for (const p of pids) expect(zombieOrGone(p)).toBe(true);
    await g.destroy();
    expect(existsSync(g.dirs[0] as string)).toBe(false);
  });

  it('runs the process tier in a v2 group, binding it at /sys/fs/cgroup', async () => {
    const tier = { cgroups: mgr, driver };
    const r = await runScript(tier, {
      interpreter: 'bash',
      source: 'cat /sys/fs/cgroup/cgroup.procs | wc -l; (sleep 30 &) ; echo done',
    });
    expect(r.outcome.status).toBe('succeeded');
    expect(r.outcome.usage.measured).toContain('cpuMs');
    expect(r.groupDirs.every((d) => !existsSync(d))).toBe(true);
  });

  it('refuses disk bandwidth limits here (no io controller in this tree), saying why', async () => {
    const a = artifactOf({
      name: 'v2-io',
      runtime: 'script',
      interpreter: 'sh',
      source: 'true',
      limits: { ioReadBps: 1 },
    });
    await expect(driver.prepare(a)).rejects.toMatchObject({
      code: 'permission_denied',
      message: expect.stringContaining(
        'limits.ioReadBps: ioReadBps/ioWriteBps cannot be enforced: the cgroup io controller',
      ),
    });
  });
});
