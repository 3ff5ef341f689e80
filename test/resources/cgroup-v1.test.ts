import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type CgroupManager, createCgroupManager } from '../../src/resources/cgroup/manager.ts';
import { describeIf } from '../support/requirements.ts';
import { cgroupV1Writable, uniqueParent } from './cgroup-support.ts';

/** Running, not a zombie waiting for its parent to reap it. */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describeIf(cgroupV1Writable(), 'cgroup v1 for real', () => {
  let mgr: CgroupManager;
  beforeAll(async () => {
    mgr = createCgroupManager({ parent: uniqueParent('v1'), instance: '' });
    await mgr.start();
  });
  afterAll(async () => {
    await mgr.dispose();
    expect(existsSync(`/sys/fs/cgroup/memory/${mgr.parent}`)).toBe(false);
  });

  it('detects the hybrid layout of this host', () => {
    const h = mgr.health();
    expect(h.available).toBe(true);
    expect(h.mode).toBe('v1');
    expect(['v1', 'hybrid']).toContain(h.version);
    expect(h.controllers).toEqual(expect.arrayContaining(['cpu', 'memory', 'pids', 'freezer']));
  });

  it('accounts, freezes and kills a process tree, then removes the group', async () => {
    const g = mgr.createSandboxGroup(`t${Date.now()}`, { memoryMb: 64, cpu: 0.5, pids: 32 });
    // A shell that spawns a busy child, both in the group.
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
    const frozenCpu = g.usage().cpuMs as number;
    await new Promise((r) => setTimeout(r, 200));
    expect((g.usage().cpuMs as number) - frozenCpu).toBeLessThan(5);
    await g.thaw();
    const u = g.usage();
    expect(u.measured).toEqual(expect.arrayContaining(['cpuMs', 'memoryPeakBytes']));
    expect(u.cpuMs).toBeGreaterThan(50);
    expect(u.memoryPeakBytes).toBeGreaterThan(0);
    expect(g.oomKilled()).toBe(false);
    expect(await g.kill()).toBe(true);
    expect(g.pids()).toEqual([]);
    for (const p of pids) expect(alive(p)).toBe(false);
    await g.destroy();
    for (const d of g.dirs) expect(existsSync(d)).toBe(false);
  });

  it('sees an OOM kill in the group counters', async () => {
    const g = mgr.createSandboxGroup(`oom${Date.now()}`, { memoryMb: 16 });
    const child = spawn('/bin/sh', ['-c', 'read x; exec tail /dev/zero'], { stdio: ['pipe', 'ignore', 'ignore'] });
    g.addPid(child.pid as number);
    const exited = new Promise((r) => child.once('exit', (code, signal) => r(signal ?? code)));
    child.stdin?.end('go\n');
    expect(await exited).toBe('SIGKILL');
    expect(g.oomKilled()).toBe(true);
    await g.destroy();
  });

  it('makes memory-capped host groups', async () => {
    const host = mgr.createHostGroup('isolate-0', 96 * 1024 * 1024);
    const memDir = host.dirs.find((d) => d.includes('/memory/')) as string;
    expect(readFileSync(`${memDir}/memory.limit_in_bytes`, 'utf8').trim()).toBe(String(96 * 1024 * 1024));
    expect(mgr.health().groups).toBe(1);
    await host.destroy();
    expect(existsSync(memDir)).toBe(false);
    expect(mgr.health().groups).toBe(0);
  });

  it('reaps a leftover group holding a process', async () => {
    const other = createCgroupManager({ parent: mgr.parent, instance: '' });
    await other.start();
    const g = other.createSandboxGroup('leftover', { memoryMb: 32 });
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    g.addPid(child.pid as number);
    // `mgr` does not own it: reap kills the process and removes the group.
    expect(await mgr.reap()).toBe(1);
    expect(alive(child.pid as number)).toBe(false);
    for (const d of g.dirs) expect(existsSync(d)).toBe(false);
  });
});
