/** Which disk-I/O limits bind (pure), and the v2 io.max / io.stat path for a scratch device (fake cgroupfs). */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseBlkioServiceBytes, parseIoStat } from '../../src/resources/cgroup/counters.ts';
import { createCgroupManager } from '../../src/resources/cgroup/manager.ts';
import { ioLimitSupport } from '../../src/resources/io-support.ts';
import { fakeV1Root, fakeV2Root } from './cgroup-support.ts';

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

describe('I/O limit support', () => {
  const base = { mode: 'v1' as const, controllers: ['io'], weightFile: true, scratch: { ok: true } };
  it('bandwidth needs the io controller and a disk-backed scratch space', () => {
    expect(ioLimitSupport(base).bandwidth).toEqual({ ok: true });
    expect(ioLimitSupport({ ...base, controllers: [] }).bandwidth.reason).toMatch(/blkio controller is not available/);
    expect(ioLimitSupport({ ...base, mode: 'v2', controllers: [] }).bandwidth.reason).toMatch(/cgroup io controller/);
    expect(ioLimitSupport({ ...base, scratch: { ok: false, reason: 'no loop devices' } }).bandwidth.reason).toMatch(
      /no disk-backed scratch space \(no loop devices\).*tmpfs/,
    );
  });
  it('weight also needs a scheduler that honours weights on the backing disk', () => {
    const w = (x: Partial<Parameters<typeof ioLimitSupport>[0]>) => ioLimitSupport({ ...base, ...x }).weight;
    expect(w({ backingDisk: '254:0', backingScheduler: 'bfq' })).toEqual({ ok: true });
    expect(w({ backingDisk: '254:0', backingScheduler: 'mq-deadline' }).reason).toMatch(
      /disk 254:0 uses mq-deadline, which ignores weights \(needs BFQ\)/,
    );
    expect(w({ weightFile: false, backingScheduler: 'bfq' }).reason).toMatch(/no I\/O weight file/);
    expect(w({ mode: 'v2', backingScheduler: 'none', ioCost: true })).toEqual({ ok: true });
    expect(w({ scratch: { ok: false, reason: 'x' }, backingScheduler: 'bfq' }).ok).toBe(false);
  });
});

describe('per-device I/O counters', () => {
  it('count only the named devices (a loop device shows again on its backing disk)', () => {
    const v1 = '254:0 Read 100\n254:0 Write 2000\n7:3 Read 10\n7:3 Write 2000\nTotal 4110\n';
    expect(parseBlkioServiceBytes(v1)).toEqual({ read: 110, write: 4000 });
    expect(parseBlkioServiceBytes(v1, new Set(['7:3']))).toEqual({ read: 10, write: 2000 });
    const v2 = '254:0 rbytes=100 wbytes=2000 rios=1 wios=2\n7:3 rbytes=10 wbytes=2000 rios=1 wios=1\n';
    expect(parseIoStat(v2, new Set(['7:3', '8:0']))).toEqual({ read: 10, write: 2000 });
  });
});

describe('scratch devices on cgroup groups', () => {
  it('v2 (fake cgroupfs): io.max on the scratch device, bytes of it only', () => {
    const fake = fakeV2Root();
    cleanup = fake.cleanup;
    const mgr = createCgroupManager({ root: fake.root, parent: 'strata', instance: '', ioDevices: ['254:0'] });
    return mgr.start().then(async () => {
      const g = mgr.createSandboxGroup(
        's1',
        { ioWriteBps: 2097152, ioReadBps: 1024 },
        { devices: ['7:5'], count: ['7:5'] },
      );
      const dir = join(fake.root, 'strata', 'strata-sbx-s1');
      // The fake keeps the last write; the kernel takes one line per device.
      expect(readFileSync(join(dir, 'io.max'), 'utf8')).toBe('7:5 rbps=1024 wbps=2097152');
      writeFileSync(join(dir, 'io.stat'), '254:0 rbytes=5 wbytes=16777216\n7:5 rbytes=4096 wbytes=16777216\n');
      expect(g.usage()).toMatchObject({ ioReadBytes: 4096, ioWriteBytes: 16777216 });
      await g.destroy();
      await mgr.dispose();
    });
  });

  it('v1 (fake cgroupfs): blkio throttles on the scratch device instead of the node disks', async () => {
    const fake = fakeV1Root(false);
    cleanup = fake.cleanup;
    const mgr = createCgroupManager({ root: fake.root, parent: 'strata', instance: '', ioDevices: ['254:0'] });
    await mgr.start();
    const g = mgr.createSandboxGroup('s2', { ioWriteBps: 2048 }, { devices: ['7:6', '8:0'], count: ['7:6'] });
    const dir = join(fake.root, 'blkio', 'strata', 'strata-sbx-s2');
    expect(readFileSync(join(dir, 'blkio.throttle.write_bps_device'), 'utf8')).toBe('8:0 2048');
    writeFileSync(join(dir, 'blkio.throttle.io_service_bytes'), '254:0 Write 99\n7:6 Write 2048\n7:6 Read 1\n');
    expect(g.usage()).toMatchObject({ ioReadBytes: 1, ioWriteBytes: 2048 });
    await g.destroy();
    await mgr.dispose();
  });
});
