/**
 * Several workers on one machine (or in one process): each keeps its groups under `<parent>/w<pid>`
 * (`w<pid>-<n>` for a further one in the same process), reaps only its
 * own leftovers and the directories of workers whose process is gone, never a live worker's.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { createCgroupManager } from '../../src/resources/cgroup/manager.ts';
import { describeIf } from '../support/requirements.ts';
import { cgroupV1Writable, uniqueParent } from './cgroup-support.ts';

describeIf(cgroupV1Writable(), 'cgroup instances of several workers (v1, for real)', () => {
  const parent = uniqueParent('inst');
  const children: number[] = [];
  afterAll(() => {
    for (const pid of children) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  });

  it('reaps a dead worker, keeps a live one, removes the base when the last one leaves', async () => {
    // A live neighbour (pid 1 always exists) with a running group.
    const live = createCgroupManager({ parent, instance: 'w1' });
    await live.start();
    const liveGroup = live.createSandboxGroup('busy', { memoryMb: 32 });
    // A worker that "died": its pid (a short-lived process that has exited) no longer exists.
    const gone = spawn('true');
    await new Promise((r) => gone.once('exit', r));
    const dead = createCgroupManager({ parent, instance: `w${gone.pid}` });
    await dead.start();
    const orphanGroup = dead.createSandboxGroup('orphan', { memoryMb: 32 });
    const orphan = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(orphan.pid as number);
    orphanGroup.addPid(orphan.pid as number);

    const me = createCgroupManager({ parent });
    expect(me.parent).toBe(`${parent}/w${process.pid}`);
    expect(await me.start()).toBe(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(`/proc/${orphan.pid}`) && !orphan.exitCode && orphan.signalCode === null).toBe(false);
    for (const d of orphanGroup.dirs) expect(existsSync(d)).toBe(false);
    expect(existsSync(`/sys/fs/cgroup/memory/${parent}/w${gone.pid}`)).toBe(false);
    for (const d of liveGroup.dirs) expect(existsSync(d)).toBe(true);

    await me.dispose();
    expect(existsSync(`/sys/fs/cgroup/memory/${me.parent}`)).toBe(false);
    // The base stays while the neighbour still uses it...
    expect(existsSync(`/sys/fs/cgroup/memory/${parent}`)).toBe(true);
    await live.dispose();
    // ...and goes with the last worker.
    expect(existsSync(`/sys/fs/cgroup/memory/${parent}`)).toBe(false);
  });

  it('two workers of one process keep apart: neither start nor dispose of one touches the other', async () => {
    const first = createCgroupManager({ parent });
    const second = createCgroupManager({ parent });
    expect(second.parent).not.toBe(first.parent);
    await first.start();
    const held = first.createHostGroup('isolate-host-0', 64 * 1024 ** 2);
    const host = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(host.pid as number);
    await held.addPid(host.pid as number);
    // The second worker starting (it reaps its own directory) and leaving must not reap the first's host.
    expect(await second.start()).toBe(0);
    await second.dispose();
    for (const d of held.dirs) expect(existsSync(d)).toBe(true);
    expect(host.exitCode === null && host.signalCode === null).toBe(true);
    await first.dispose();
    expect(existsSync(`/sys/fs/cgroup/memory/${parent}`)).toBe(false);
  });
});
