import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCgroupManager } from '../../src/resources/cgroup/manager.ts';
import { fakeV2Root } from './cgroup-support.ts';

const MiB = 1024 * 1024;
let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

describe('cgroup v2 against a fake cgroupfs', () => {
  it('sets up the parent, applies limits, reads counters, freezes, destroys', async () => {
    const fake = fakeV2Root();
    cleanup = fake.cleanup;
    const mgr = createCgroupManager({ root: fake.root, parent: 'strata', instance: '', ioDevices: ['8:0'] });
    expect(await mgr.start()).toBe(0);
    const h = mgr.health();
    expect(h).toMatchObject({ available: true, version: 'v2', mode: 'v2' });
    expect(h.missing.some((m) => m.startsWith('ioWeight'))).toBe(true);
    // The kernel would accept these one at a time; the fake keeps the last write.
    expect(readFileSync(join(fake.root, 'strata', 'cgroup.subtree_control'), 'utf8')).toBe('+pids');

    const g = mgr.createSandboxGroup('inv/1', { memoryMb: 64, memorySoftMb: 48, cpu: 0.25, pids: 8, ioReadBps: 100 });
    const dir = join(fake.root, 'strata', 'strata-sbx-inv_1');
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    expect(read('memory.max')).toBe(String(64 * MiB));
    expect(read('memory.high')).toBe(String(48 * MiB));
    expect(read('memory.oom.group')).toBe('1');
    expect(read('memory.swap.max')).toBe('0');
    expect(read('cpu.max')).toBe('25000 100000');
    expect(read('pids.max')).toBe('8');
    expect(read('io.max')).toBe('8:0 rbps=100');

    // Nothing measured yet: nothing reported (never a 0 for an unread figure).
    expect(g.usage().measured).toEqual([]);
    writeFileSync(join(dir, 'cpu.stat'), 'usage_usec 2500\nuser_usec 2000\n');
    writeFileSync(join(dir, 'memory.peak'), String(5 * MiB));
    writeFileSync(join(dir, 'memory.current'), String(3 * MiB));
    writeFileSync(join(dir, 'io.stat'), '8:0 rbytes=4096 wbytes=8192 rios=1 wios=2\n');
    writeFileSync(join(dir, 'memory.events'), 'low 0\nhigh 3\nmax 4\noom 1\noom_kill 1\n');
    writeFileSync(join(dir, 'pids.events'), 'max 0\n');
    const u = g.usage();
    expect(u).toMatchObject({
      cpuMs: 2.5,
      memoryPeakBytes: 5 * MiB,
      memoryBytes: 3 * MiB,
      ioReadBytes: 4096,
      ioWriteBytes: 8192,
    });
    expect(u.measured.sort()).toEqual(['cpuMs', 'ioReadBytes', 'ioWriteBytes', 'memoryPeakBytes']);
    expect(g.oomKilled()).toBe(true);
    expect(g.pidsLimitHit()).toBe(false);

    writeFileSync(join(dir, 'cgroup.events'), 'populated 0\nfrozen 1\n');
    await g.freeze();
    expect(read('cgroup.freeze')).toBe('1');
    await g.thaw();
    expect(read('cgroup.freeze')).toBe('0');
    g.setCpu(1);
    expect(read('cpu.max')).toBe('100000 100000');
    g.setCpu(undefined);
    expect(read('cpu.max')).toBe('max 100000');

    const host = mgr.createHostGroup('isolate-0', 300 * MiB);
    expect(readFileSync(join(fake.root, 'strata', 'strata-host-isolate-0', 'memory.max'), 'utf8')).toBe(
      String(300 * MiB),
    );
    expect(mgr.health().groups).toBe(2);

    await g.destroy();
    expect(existsSync(dir)).toBe(false);
    await host.destroy();
    expect(mgr.health().groups).toBe(0);
    await mgr.dispose();
    expect(existsSync(join(fake.root, 'strata'))).toBe(false);
  });

  it('reaps leftover strata groups at start-up and leaves foreign ones', async () => {
    const fake = fakeV2Root();
    cleanup = fake.cleanup;
    mkdirSync(join(fake.root, 'strata', 'strata-sbx-old'), { recursive: true });
    writeFileSync(join(fake.root, 'strata', 'strata-sbx-old', 'cgroup.procs'), '');
    mkdirSync(join(fake.root, 'strata', 'not-ours'), { recursive: true });
    const mgr = createCgroupManager({ root: fake.root, ioDevices: ['8:0'] });
    expect(await mgr.start()).toBe(1);
    expect(existsSync(join(fake.root, 'strata', 'strata-sbx-old'))).toBe(false);
    expect(existsSync(join(fake.root, 'strata', 'not-ours'))).toBe(true);
  });

  it('reports unavailable with a reason when there is no hierarchy', async () => {
    const mgr = createCgroupManager({ root: '/nonexistent-cgroup-root' });
    await mgr.start();
    expect(mgr.health()).toMatchObject({ available: false, version: 'none' });
    expect(() => mgr.createSandboxGroup('x', { memoryMb: 8 })).toThrow(/no cgroup hierarchy/);
  });
});
