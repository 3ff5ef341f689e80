import { describe, expect, it } from 'vitest';
import {
  parseBlkioServiceBytes,
  parseFlatKeyed,
  parseIoStat,
  parseNetDev,
} from '../../src/resources/cgroup/counters.ts';
import { detectCgroups } from '../../src/resources/cgroup/detect.ts';
import { cpuQuotaUs, v1Writes, v2Writes, weightToShares } from '../../src/resources/cgroup/limits.ts';
import { fakeV1Root, fakeV2Root } from './cgroup-support.ts';

const MiB = 1024 * 1024;

describe('limit translation', () => {
  it('maps every limit name to v2 control files', () => {
    const writes = v2Writes(
      {
        cpu: 0.5,
        cpuWeight: 200,
        cpuset: '0',
        memoryMb: 64,
        memorySoftMb: 32,
        pids: 16,
        ioReadBps: 1000,
        ioWriteBps: 2000,
        ioWeight: 50,
      },
      { devices: ['8:0'] },
    );
    const byFile = Object.fromEntries(writes.map((w) => [w.file, w.value]));
    expect(byFile).toMatchObject({
      'cpu.max': '50000 100000',
      'cpu.weight': '200',
      'cpuset.cpus': '0',
      'memory.max': String(64 * MiB),
      'memory.swap.max': '0',
      'memory.oom.group': '1',
      'memory.high': String(32 * MiB),
      'pids.max': '16',
      'io.max': '8:0 rbps=1000 wbps=2000',
      'io.weight': 'default 50',
    });
  });

  it('maps limits to v1 files, cpuset first, memsw equal to memory', () => {
    const writes = v1Writes(
      { cpu: 1.5, cpuWeight: 100, memoryMb: 10, pids: 5, ioWriteBps: 5, ioWeight: 500 },
      { devices: ['8:0', '8:16'], parentCpus: '0-1', parentMems: '0' },
    );
    expect(writes[0]).toEqual({ controller: 'cpuset', file: 'cpuset.cpus', value: '0-1' });
    expect(writes[1]).toEqual({ controller: 'cpuset', file: 'cpuset.mems', value: '0' });
    const get = (f: string) => writes.filter((w) => w.file === f).map((w) => w.value);
    expect(get('cpu.cfs_quota_us')).toEqual(['150000']);
    expect(get('cpu.shares')).toEqual(['1024']);
    expect(get('memory.limit_in_bytes')).toEqual([String(10 * MiB)]);
    expect(get('memory.memsw.limit_in_bytes')).toEqual([String(10 * MiB)]);
    expect(get('blkio.throttle.write_bps_device')).toEqual(['8:0 5', '8:16 5']);
    expect(get('blkio.throttle.read_bps_device')).toEqual([]);
    expect(get('pids.max')).toEqual(['5']);
  });

  it('clamps quota and shares', () => {
    expect(cpuQuotaUs(0.001)).toBe(1000);
    expect(weightToShares(1)).toBe(10);
    expect(weightToShares(10000)).toBe(102400);
  });
});

describe('counter parsers', () => {
  it('reads keyed files', () => {
    expect(parseFlatKeyed('oom_kill_disable 0\nunder_oom 0\noom_kill 2\n').oom_kill).toBe(2);
    expect(parseFlatKeyed(undefined)).toEqual({});
  });
  it('sums io.stat and blkio bytes over devices', () => {
    expect(parseIoStat('8:0 rbytes=10 wbytes=20 rios=1 wios=2\n8:16 rbytes=1 wbytes=2\n')).toEqual({
      read: 11,
      write: 22,
    });
    expect(parseIoStat(undefined)).toBeUndefined();
    expect(parseBlkioServiceBytes('8:0 Read 100\n8:0 Write 7\n8:0 Total 107\n8:16 Read 1\nTotal 108\n')).toEqual({
      read: 101,
      write: 7,
    });
  });
  it('sums /proc/net/dev without loopback', () => {
    const text = `Inter-|   Receive |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets
    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0
  eth0:    5000      10    0    0    0     0          0         0      700       5    0    0    0     0       0          0
`;
    expect(parseNetDev(text)).toEqual({ rx: 5000, tx: 700 });
    expect(parseNetDev(text, true)).toEqual({ rx: 5100, tx: 800 });
  });
});

describe('hierarchy detection', () => {
  it('detects v2 from a unified root', () => {
    const fake = fakeV2Root();
    try {
      const d = detectCgroups(fake.root);
      expect(d.version).toBe('v2');
      expect(d.mode).toBe('v2');
      expect(d.controllers).toEqual(['cpuset', 'cpu', 'io', 'memory', 'pids', 'freezer']);
      expect(d.ioWeight).toBe(false);
    } finally {
      fake.cleanup();
    }
  });
  it('detects v1 and hybrid with combined mounts', () => {
    for (const unified of [false, true]) {
      const fake = fakeV1Root(unified);
      try {
        const d = detectCgroups(fake.root);
        expect(d.version).toBe(unified ? 'hybrid' : 'v1');
        expect(d.mode).toBe('v1');
        expect(d.v1Mounts.cpu).toBe(`${fake.root}/cpu,cpuacct`);
        expect(d.v1Mounts.cpuacct).toBe(`${fake.root}/cpu,cpuacct`);
        expect(d.controllers).toContain('memory');
        expect(d.controllers).toContain('freezer');
      } finally {
        fake.cleanup();
      }
    }
  });
  it('says none for an empty directory', () => {
    expect(detectCgroups('/nonexistent-cgroup-root').version).toBe('none');
  });
});
